"""Ledger postings: what a release or a repayment writes, one row per payee (rule 10)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel

from domain.effects import Effect, PostRepayment, Release
from domain.money import Amount
from domain.programme import Purpose


class LedgerRow(BaseModel):
    line: str
    tranche: str
    amount: Amount
    currency: str
    purpose: Purpose
    kind: Literal["release", "loan", "repayment"]
    payee: str
    beneficiary: str
    at: datetime
    occurrence: int | None = None
    due_by: date | None = None
    """Rule 19: when the programme has payment_within, the date this part is due by."""
    paid_on: date | None = None
    """Rule 19: set once, when the funder records the part paid."""


class LedgerEntry(LedgerRow):
    """A posting as the API shows it (`GET …/ledger`)."""

    status: Literal["ordered", "paid"] | None = None
    """Rule 19 (rules 3): a versement ordered and not yet paid, or paid (`paid_on`); None for
    what rules 1 and 2 posted, and for repayments."""


def ledger_rows(effect: Effect) -> list[tuple[str, LedgerRow]]:
    """The postings an effect makes, each with its idempotency key; none for other effects."""
    if isinstance(effect, Release):
        # One posting per part: its payee and amount, the release's kind, occurrence and date due.
        return [
            (
                f"{effect.key}:{part.payee}",
                _row(effect, _RELEASE, amount=part.amount, payee=part.payee),
            )
            for part in effect.parts
        ]
    if isinstance(effect, PostRepayment):
        return [(effect.key, _row(effect, _REPAYMENT, kind="repayment"))]
    return []


# The fields a posting takes from its effect as they are: every posting's, then each kind's own.
_POSTED = {"line", "tranche", "currency", "purpose", "beneficiary", "at"}
_RELEASE = _POSTED | {"kind", "occurrence", "due_by"}
_REPAYMENT = _POSTED | {"amount", "payee"}


def _row(effect: Release | PostRepayment, taken: set[str], **posting: Any) -> LedgerRow:
    """A posting of the effect's fields `taken`, and of what it posts, to whom, in `posting`."""
    return LedgerRow(**effect.model_dump(include=taken), **posting)
