"""Commitments against programme budgets and ledger postings (rules 9 and 10)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from domain.commitments import budget_raise_refusal, commitment_refusal
from domain.ledger import LedgerRow
from store.db import Conn


@dataclass(frozen=True)
class CommitmentOutcome:
    committed: bool
    remaining: Decimal
    needed: Decimal
    reason: str = ""


async def commit(
    conn: Conn,
    *,
    cooperation_id: str,
    programme_id: str,
    amount: Decimal,
    cap: Decimal | None,
) -> CommitmentOutcome:
    """Commit `amount` against the programme's remaining budget, first come first served.

    The row lock on the programme serialises acceptances across all cooperations; a retry of
    the same commitment (activity retried after a crash) finds its row and answers the same.
    """
    async with conn.transaction():
        programme = await conn.fetchrow(
            "SELECT budget, committed FROM programmes WHERE id = $1 FOR UPDATE", programme_id
        )
        if programme is None:
            return CommitmentOutcome(False, Decimal(0), amount, f"no programme {programme_id!r}")
        remaining = programme["budget"] - programme["committed"]
        existing = await conn.fetchval(
            "SELECT amount FROM commitments WHERE cooperation_id = $1 AND programme_id = $2",
            cooperation_id,
            programme_id,
        )
        if existing is not None:
            return CommitmentOutcome(True, remaining, existing)
        # One line per programme and cooperation: nothing else is committed there yet.
        match commitment_refusal(remaining, Decimal(0), amount, cap):
            case "budget":
                reason = f"the programme has {remaining} left, the line needs {amount}"
                return CommitmentOutcome(False, remaining, amount, reason)
            case "cap":
                reason = f"the cap per cooperation is {cap}, the line needs {amount}"
                return CommitmentOutcome(False, remaining, amount, reason)
        await conn.execute(
            "INSERT INTO commitments (cooperation_id, programme_id, amount) VALUES ($1, $2, $3)",
            cooperation_id,
            programme_id,
            amount,
        )
        await conn.execute(
            "UPDATE programmes SET committed = committed + $2, updated_at = now() WHERE id = $1",
            programme_id,
            amount,
        )
        return CommitmentOutcome(True, remaining - amount, amount)


async def free(conn: Conn, *, cooperation_id: str, programme_id: str, amount: Decimal) -> bool:
    """Give back what a closed line committed but never released; once only."""
    async with conn.transaction():
        updated = await conn.fetchval(
            "UPDATE commitments SET freed = $3, freed_at = now()"
            " WHERE cooperation_id = $1 AND programme_id = $2 AND freed_at IS NULL"
            " RETURNING 1",
            cooperation_id,
            programme_id,
            amount,
        )
        if updated is None:
            return False
        await conn.execute(
            "UPDATE programmes SET committed = committed - $2, updated_at = now() WHERE id = $1",
            programme_id,
            amount,
        )
        return True


class BudgetTooLarge(ValueError):
    """The raised budget would pass the largest amount coopflow holds (domain.limits)."""


async def raise_budget(conn: Conn, programme_id: str, increase: Decimal) -> Decimal | None:
    """Raise a programme's budget; returns what remains uncommitted, None if unknown."""
    async with conn.transaction():
        budget: Decimal | None = await conn.fetchval(
            "SELECT budget FROM programmes WHERE id = $1 FOR UPDATE", programme_id
        )
        if budget is None:
            return None
        refusal = budget_raise_refusal(budget, increase)
        if refusal is not None:
            raise BudgetTooLarge(f"programme {programme_id!r}: {refusal}")
        remaining: Decimal = await conn.fetchval(
            "UPDATE programmes SET budget = budget + $2, updated_at = now() WHERE id = $1"
            " RETURNING budget - committed",
            programme_id,
            increase,
        )
    return remaining


async def post(conn: Conn, postings: list[tuple[str, LedgerRow]]) -> int:
    """Insert postings once each (by their key); returns how many were new."""
    new = 0
    async with conn.transaction():
        for key, p in postings:
            status = await conn.execute(
                "INSERT INTO ledger (idempotency_key, cooperation_id, line, tranche, occurrence,"
                " kind, purpose, amount, currency, payee, beneficiary, at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                key,
                p.beneficiary,
                p.line,
                p.tranche,
                p.occurrence,
                p.kind,
                p.purpose.value,
                p.amount,
                p.currency,
                p.payee,
                p.beneficiary,
                p.at,
            )
            new += int(status.rsplit(" ", 1)[-1])
    return new


async def ledger(
    conn: Conn, cooperation_id: str, lines: Collection[str] | None = None
) -> list[dict[str, object]]:
    """The cooperation's postings, in order; only those of `lines` when given."""
    rows = await conn.fetch(
        "SELECT line, tranche, occurrence, kind, purpose, amount, currency, payee,"
        " beneficiary, at FROM ledger WHERE cooperation_id = $1"
        " AND ($2::text[] IS NULL OR line = ANY($2::text[])) ORDER BY at, id",
        cooperation_id,
        list(lines) if lines is not None else None,
    )
    return [dict(r) for r in rows]
