"""A funder's dashboard of one programme (rule 9's money, rule 19's versements, the loans),
aggregated in PostgreSQL from the read models."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.programme import Purpose
from store.db import Conn, rows_as
from store.programmes import Budget, budget_of
from store.versements import late

PURPOSES = [purpose.value for purpose in Purpose]
"""The purposes in the order the domain declares them, the order dashboards show them in."""


@dataclass(frozen=True)
class Released:
    purpose: str
    phase: str
    kind: str
    amount: Decimal


@dataclass(frozen=True)
class ReleasedInMonth:
    month: str
    """YYYY-MM, in UTC."""
    purpose: str
    amount: Decimal


@dataclass(frozen=True)
class InPhase:
    phase: str
    """The phase, or the outcome of a closed cooperation."""
    n: int
    overdue: int


@dataclass(frozen=True)
class Loans:
    open: int
    """Loans running (not settled)."""
    outstanding: Decimal
    in_arrears: int
    outstanding_in_arrears: Decimal
    written_off_count: int
    written_off: Decimal


@dataclass(frozen=True)
class Figures:
    budget: Budget
    freed: Decimal
    released: list[Released]
    """By purpose, phase and kind."""
    monthly: list[ReleasedInMonth]
    """By month, then purpose in the domain's order."""
    phases: list[InPhase]
    """The cooperations of the programme's active lines, by phase."""
    lines: dict[str, int]
    """How many lines of each status."""
    loans: Loans
    late: int
    """Versements late, and their amount."""
    late_amount: Decimal


async def figures(conn: Conn, programme_id: str) -> Figures | None:
    """None when there is no such programme."""
    budget = await budget_of(conn, programme_id)
    if budget is None:
        return None
    freed = await conn.fetchval(
        "SELECT coalesce(sum(freed), 0) FROM commitments WHERE programme_id = $1",
        programme_id,
    )
    by = await conn.fetch(
        "SELECT purpose, phase, kind, sum(amount) AS amount FROM releases"
        " WHERE programme = $1 GROUP BY purpose, phase, kind ORDER BY purpose, phase, kind",
        programme_id,
    )
    # Months in UTC, as every instant of the API is: not the session's time zone.
    monthly = await conn.fetch(
        "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, purpose,"
        " sum(amount) AS amount FROM releases WHERE programme = $1"
        " GROUP BY 1, 2 ORDER BY 1, array_position($2::text[], purpose), 2",
        programme_id,
        PURPOSES,
    )
    phases = await conn.fetch(
        "SELECT coalesce(c.outcome, c.phase) AS phase, count(*) AS n,"
        " count(*) FILTER (WHERE c.overdue) AS overdue"
        " FROM lines l JOIN cooperations c ON c.id = l.cooperation_id"
        " WHERE l.programme = $1 AND l.status = 'active' GROUP BY 1 ORDER BY 1",
        programme_id,
    )
    lines = await conn.fetch(
        "SELECT status, count(*) AS n FROM lines WHERE programme = $1 GROUP BY status",
        programme_id,
    )
    # A written-off loan is settled: the running loans and the written-off ones are
    # counted apart, over every loan of the programme.
    loans = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE NOT settled) AS open,"
        " coalesce(sum(outstanding) FILTER (WHERE NOT settled), 0) AS outstanding,"
        " count(*) FILTER (WHERE NOT settled AND overdue > 0) AS in_arrears,"
        " coalesce(sum(outstanding) FILTER (WHERE NOT settled AND overdue > 0), 0)"
        " AS outstanding_in_arrears,"
        " count(written_off) AS written_off_count,"
        " coalesce(sum(written_off), 0) AS written_off"
        " FROM loans WHERE programme = $1",
        programme_id,
    )
    assert loans is not None
    n_late, late_amount = await late(conn, programme_id)
    return Figures(
        budget,
        freed,
        rows_as(Released, by),
        rows_as(ReleasedInMonth, monthly),
        rows_as(InPhase, phases),
        {r["status"]: r["n"] for r in lines},
        Loans(**dict(loans)),
        n_late,
        late_amount,
    )
