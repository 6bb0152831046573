"""Which cooperations a subject may see, as SQL on `cooperations c`: the one statement of the
scope rules, used by the API's reads (a `$n` parameter) and by the webhook fan-out (a
subscription's owner column), so that a subscriber never receives what it could not read."""

from __future__ import annotations

from dataclasses import dataclass

from store.db import Conn
from store.tokens import Role


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


async def involved(conn: Conn, cooperation_id: str, funder: str | None = None) -> Involved | None:
    """The cooperation's parties, and `funder`'s own lines when one is named; None when the
    cooperation is unknown."""
    # A funder's own lines are picked in the query: the whole state never leaves PostgreSQL.
    row = await conn.fetchrow(
        "SELECT id, facilitator, fiscal_host, funders,"
        " CASE WHEN $2::text IS NOT NULL THEN ARRAY(SELECT l->>'line'"
        " FROM jsonb_array_elements(state->'lines') l WHERE l->>'funder' = $2) END AS own"
        " FROM cooperations WHERE id = $1",
        cooperation_id,
        funder,
    )
    if row is None:
        return None
    return Involved(
        row["id"],
        row["facilitator"],
        row["fiscal_host"],
        tuple(row["funders"] or ()),
        frozenset(row["own"] or ()),
    )
