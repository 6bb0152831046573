"""What a fiscal host holds for the informal collectives it carries (rule 10), as the ledger
and the read models have it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from store.db import Conn, rows_as

# `c.fiscal_host = $1`: narrower than a facilitator's read scope (store.scope), which also
# holds the cooperations it only accompanies. A former host (rule 20: its hosting ended) keeps
# what it received, though the cooperation left its scope (migration 019 indexes the second
# condition).
_CARRIED = "(c.fiscal_host = $1 OR c.state->>'former_fiscal_host' = $1)"
_HOSTED = f"SELECT c.id FROM cooperations c WHERE {_CARRIED}"


@dataclass(frozen=True)
class Hosted:
    id: str
    name: str
    phase: str
    outcome: str | None
    informal: list[str]
    """Its informal members' ids, in the spec's order."""
    ended: str | None
    """When the hosting ended, for a former host."""


@dataclass(frozen=True)
class HostedPostings:
    """One line's postings to the host, and the repayments of the loans it received."""

    cooperation_id: str
    line: str
    currency: str
    released: Decimal
    loans: Decimal
    unpaid: Decimal
    repaid: Decimal


@dataclass(frozen=True)
class HostedOrder:
    """A versement to the host (rule 19), ordered or paid."""

    cooperation_id: str
    currency: str
    line: str
    tranche: str
    occurrence: int | None
    kind: str
    amount: Decimal
    ordered_at: datetime
    due_by: date | None
    paid_on: date | None


@dataclass(frozen=True)
class Holdings:
    hosted: list[Hosted]
    """By cooperation id."""
    names: dict[tuple[str, str], str | None]
    """Members' names by cooperation and member."""
    currencies: set[tuple[str, str]]
    """(cooperation, currency) of the lines not declined: a cooperation is listed in each."""
    postings: list[HostedPostings]
    orders: list[HostedOrder]
    """In the order they were made."""


async def holdings(conn: Conn, host: str) -> Holdings:
    hosted = await conn.fetch(
        "SELECT c.id, c.name, c.phase, c.outcome, ARRAY(SELECT m.value->>'id'"
        " FROM jsonb_array_elements(c.state->'members') WITH ORDINALITY m(value, i)"
        " WHERE (m.value->>'informal')::boolean ORDER BY m.i) AS informal,"
        " CASE WHEN c.fiscal_host IS DISTINCT FROM $1"
        " THEN c.state->>'hosting_ended_at' END AS ended"
        f" FROM cooperations c WHERE {_CARRIED} ORDER BY c.id",
        host,
    )
    names = await conn.fetch(
        f"SELECT cooperation_id, id, name FROM people WHERE cooperation_id IN ({_HOSTED})",
        host,
    )
    currencies = await conn.fetch(
        "SELECT DISTINCT cooperation_id, currency FROM lines"
        f" WHERE cooperation_id IN ({_HOSTED}) AND status <> 'declined'",
        host,
    )
    postings = await conn.fetch(
        "WITH lent AS (SELECT DISTINCT cooperation_id, line, tranche FROM ledger"
        f" WHERE cooperation_id IN ({_HOSTED}) AND kind = 'loan' AND payee = $1)"
        " SELECT g.cooperation_id, g.line, g.currency,"
        " coalesce(sum(g.amount) FILTER (WHERE g.kind = 'release' AND g.payee = $1), 0.00)"
        " AS released,"
        " coalesce(sum(g.amount) FILTER (WHERE g.kind = 'loan' AND g.payee = $1), 0.00)"
        " AS loans,"
        " coalesce(sum(g.amount) FILTER (WHERE g.kind <> 'repayment' AND g.payee = $1"
        " AND g.payable AND g.paid_on IS NULL), 0.00) AS unpaid,"
        " coalesce(sum(g.amount) FILTER (WHERE g.kind = 'repayment'"
        " AND t.line IS NOT NULL), 0.00) AS repaid"
        " FROM ledger g LEFT JOIN lent t ON (t.cooperation_id, t.line, t.tranche)"
        " = (g.cooperation_id, g.line, g.tranche)"
        f" WHERE g.cooperation_id IN ({_HOSTED})"
        " GROUP BY g.cooperation_id, g.line, g.currency"
        " HAVING bool_or(g.payee = $1 OR t.line IS NOT NULL)"
        " ORDER BY g.cooperation_id, g.currency, g.line",
        host,
    )
    orders = await conn.fetch(
        "SELECT cooperation_id, currency, line, tranche, occurrence, kind, amount,"
        " at AS ordered_at, due_by, paid_on FROM ledger"
        f" WHERE cooperation_id IN ({_HOSTED}) AND payee = $1 AND payable"
        " ORDER BY at, id",
        host,
    )
    return Holdings(
        [Hosted(**{**dict(r), "informal": list(r["informal"] or ())}) for r in hosted],
        {(r["cooperation_id"], r["id"]): r["name"] for r in names},
        {(r["cooperation_id"], r["currency"]) for r in currencies},
        rows_as(HostedPostings, postings),
        rows_as(HostedOrder, orders),
    )
