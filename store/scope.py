"""Which cooperations a subject may see, as SQL on `cooperations c`: the one statement of the
scope rules, used by the API's reads (a `$n` parameter) and by the webhook fan-out (a
subscription's owner column), so that a subscriber never receives what it could not read."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from store.db import Conn
from store.tokens import LIVE_TOKEN, Role, Token, token_hash, token_of


def cooperations_of(role: Role, subject: str) -> str:
    """The condition for `role`'s cooperations; `subject` is SQL (a parameter or a column).

    A facilitator sees those it accompanies or hosts; a funder those it funds (containment
    rather than `= ANY`: the GIN index on funders serves it); a collective its own."""
    if role == "collective":
        return f"c.id = {subject}"
    if role == "facilitator":
        return f"(c.facilitator = {subject} OR c.fiscal_host = {subject})"
    return f"c.funders @> ARRAY[{subject}]::text[]"


@dataclass(frozen=True)
class Involved:
    """Who a cooperation is to whom: what the API decides a caller's relation from."""

    id: str
    facilitator: str | None
    fiscal_host: str | None
    funders: tuple[str, ...]
    own_lines: frozenset[str]
    """The lines of the funder asked about (empty when none was)."""


def _involved_sql(cooperation: str, funder: str) -> str:
    """The parties of the cooperation whose id is `cooperation`, and the lines of `funder` (a
    funder's own lines are picked in the query: the whole state never leaves PostgreSQL); both
    are SQL (parameters or columns)."""
    return (
        "SELECT c.id AS cooperation, c.facilitator, c.fiscal_host, c.funders,"
        f" CASE WHEN {funder} IS NOT NULL THEN ARRAY(SELECT l->>'line'"
        f" FROM jsonb_array_elements(c.state->'lines') l WHERE l->>'funder' = {funder}) END"
        f" AS own FROM cooperations c WHERE c.id = {cooperation}"
    )


def _involved_of(row: asyncpg.Record) -> Involved | None:
    if row["cooperation"] is None:
        return None
    return Involved(
        row["cooperation"],
        row["facilitator"],
        row["fiscal_host"],
        tuple(row["funders"] or ()),
        frozenset(row["own"] or ()),
    )


async def involved(conn: Conn, cooperation_id: str, funder: str | None = None) -> Involved | None:
    """The cooperation's parties, and `funder`'s own lines when one is named; None when the
    cooperation is unknown."""
    row = await conn.fetchrow(_involved_sql("$1", "$2::text"), cooperation_id, funder)
    return None if row is None else _involved_of(row)


async def token_and_involved(
    conn: Conn, token: str, cooperation_id: str
) -> tuple[Token, Involved | None] | None:
    """`find_token` and, for a token found, `involved` (a funder's own lines when it is one),
    in one round trip: the command routes read both before anything else. None when the token
    is not live; the parties are None when the cooperation is unknown."""
    funder = "CASE WHEN caller.role = 'funder' THEN caller.subject END"
    row = await conn.fetchrow(
        f"WITH caller AS ({LIVE_TOKEN}) SELECT caller.*, parties.* FROM caller"
        f" LEFT JOIN LATERAL ({_involved_sql('$2', funder)}) parties ON true",
        token_hash(token),
        cooperation_id,
    )
    if row is None:
        return None
    return token_of(row), _involved_of(row)
