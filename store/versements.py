"""Rule 19 (rules 3): versements read from the ledger, for the funder's inbox and dashboard.
A ledger row with `payable` is a versement; it is late once its due date has passed unpaid
(the rules record `VersementLate` at due + P1D). A closed cooperation takes no payment any
more (rule 13): its versements leave the inbox and the count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from store.db import Conn, fetch_as


@dataclass(frozen=True)
class ToPay:
    """A versement ordered and not yet recorded paid, with its cooperation's name."""

    cooperation: str
    name: str
    line: str
    tranche: str
    occurrence: int | None
    kind: str
    payee: str
    amount: Decimal
    currency: str
    ordered_at: datetime
    due_by: date | None
    late: bool
    """Its due date has passed."""


async def to_pay(conn: Conn, programme_id: str) -> list[ToPay]:
    """Every versement of the programme's lines not yet recorded paid, the latest due last
    (those without a due date after them)."""
    return await fetch_as(
        conn,
        ToPay,
        "SELECT g.cooperation_id AS cooperation, c.name, g.line, g.tranche, g.occurrence,"
        " g.kind, g.payee, g.amount, g.currency, g.at AS ordered_at, g.due_by,"
        " coalesce(g.due_by < (now() AT TIME ZONE 'UTC')::date, false) AS late"
        " FROM ledger g JOIN cooperations c ON c.id = g.cooperation_id"
        " WHERE g.line = $1 AND g.payable AND g.paid_on IS NULL AND c.outcome IS NULL"
        " ORDER BY g.due_by NULLS LAST, g.at, g.id",
        programme_id,
    )


async def late(conn: Conn, programme_id: str) -> tuple[int, Decimal]:
    """How many of the programme's versements are late, and their amount."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(g.amount), 0.00) AS amount FROM ledger g"
        " JOIN cooperations c ON c.id = g.cooperation_id"
        " WHERE g.line = $1 AND g.payable AND g.paid_on IS NULL AND c.outcome IS NULL"
        " AND g.due_by < (now() AT TIME ZONE 'UTC')::date",
        programme_id,
    )
    assert row is not None
    return row["n"], row["amount"]
