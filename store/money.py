"""Commitments against programme budgets and ledger postings (rules 9 and 10)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.commitments import budget_raise_refusal, commitment_refusal
from domain.events import Event
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
                " kind, purpose, amount, currency, payee, beneficiary, at, due_by, payable)"
                " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
                # Rule 19: under rules 3 a release is an order to pay (the cooperation's
                # rules are recorded before its effects are carried out).
                " $6 <> 'repayment' AND coalesce((SELECT rules_version >= 3 FROM cooperations"
                " WHERE id = $2), false)"
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
                p.due_by,
            )
            new += int(status.rsplit(" ", 1)[-1])
    return new


async def record_paid(conn: Conn, cooperation_id: str, events: Sequence[Event]) -> None:
    """Rule 19: each `VersementPaid` sets its ledger row's `paid_on`, once (a retried or
    repeated projection finds it set). After the batch's postings: a merged batch may carry
    the release and its payment together."""
    for e in events:
        if e.type != "VersementPaid":
            continue
        key = f"{cooperation_id}:{e.data['line']}:{e.data['tranche']}"
        if e.data.get("occurrence") is not None:
            key += f":{e.data['occurrence']}"
        await conn.execute(
            "UPDATE ledger SET paid_on = $2 WHERE idempotency_key = $1 AND paid_on IS NULL",
            f"{key}:{e.data['payee']}",
            date.fromisoformat(e.data["paid_on"]),
        )


class Posting(LedgerRow):
    """A ledger row as stored."""

    payable: bool
    """Rule 19 (rules 3): a versement, paid once `paid_on` is set."""


async def ledger(
    conn: Conn, cooperation_id: str, lines: Collection[str] | None = None
) -> list[Posting]:
    """The cooperation's postings, in order; only those of `lines` when given. A versement
    (rule 19) carries `due_by` and `paid_on` (None until paid; both None on a posting of
    rules 1 and 2, or a repayment)."""
    rows = await conn.fetch(
        "SELECT line, tranche, occurrence, kind, purpose, amount, currency, payee,"
        " beneficiary, at, due_by, paid_on, payable FROM ledger WHERE cooperation_id = $1"
        " AND ($2::text[] IS NULL OR line = ANY($2::text[])) ORDER BY at, id",
        cooperation_id,
        list(lines) if lines is not None else None,
    )
    return [Posting.model_validate(dict(r)) for r in rows]
