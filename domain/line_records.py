"""What a funding line of a cooperation's state keeps besides its own fields
(`domain.state.Line`): its releases, grants and held releases, its convention and
versements, an open amendment, its approvals, its report clock and its loans.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.allocation import Share
from domain.commands import Actor
from domain.durations import IsoDuration, add
from domain.money import ZERO, Amount
from domain.tranche_terms import LoanTerms


class _Record(BaseModel):
    # As every part of the state (`domain.state`): a field it does not know is refused.

    model_config = ConfigDict(extra="forbid")


class ReleaseRecord(_Record):
    tranche: str
    occurrence: int | None = None
    amount: Amount
    at: datetime
    kind: Literal["release", "loan"]


class GrantedRelease(_Record):
    """Rule 17: what one occurrence of a grant tranche pays on a line of a granted programme,
    fixed when the line is accepted (`domain.lifecycle.granted`)."""

    tranche: str
    occurrence: int | None = None
    amount: Amount


class HeldRelease(_Record):
    """A release that fell due while its line was held (rules 3: a convention required and
    not yet recorded, rule 18; an amendment open, rule 20). It counts as taken for the
    triggers, and is released, in the order held, at the instant the hold ends."""

    tranche: str
    occurrence: int | None = None
    due_at: datetime


class Convention(_Record):
    """A line's convention as its funder recorded it (rule 18)."""

    reference: str
    signed_on: date
    ends_on: date | None = None
    recorded_at: datetime


class Versement(_Record):
    """One payee's part of a release, or a loan's disbursement (rule 19, rules 3): ordered at
    the release's instant, due by a date when the programme has `payment_within`, paid on the
    date its funder records."""

    tranche: str
    occurrence: int | None = None
    payee: str
    amount: Amount
    ordered_at: datetime
    due_on: date | None = None
    paid_on: date | None = None
    late_done: bool = False
    """`VersementLate` was recorded."""


class OpenAmendment(_Record):
    """Rule 20: an amendment (avenant) proposed for a line and not yet decided by its funder.
    While it is open the line's releases are held. Ids and shares only: a decision's note
    stays in its event."""

    seq: int
    """The seq of its `LineAmendmentProposed`."""
    allocation: list[Share]
    proposed_at: datetime


class Approval(_Record):
    tranche: str
    stint: int
    at: datetime
    by: Actor


class ReportClock(_Record):
    """Report periods of a line: each as long as the `report_every` in force when it starts.

    Ends are computed from `anchor` (`add(anchor, cadence, index + 1)`), never chained,
    as long as the cadence stays the same.
    """

    next_period: int = 1
    start: datetime
    anchor: datetime
    cadence: IsoDuration
    index: int = 0

    @property
    def end(self) -> datetime:
        return add(self.anchor, self.cadence, self.index + 1)


class LoanInstallment(_Record):
    number: int
    due: date
    due_at: datetime
    principal: Amount
    interest: Amount
    paid: Amount = ZERO
    """Repaid so far; interest is paid first (rules 2), so the first `interest` of it is
    interest and the rest principal."""
    reminder_at: datetime | None = None
    """None when the reminder would fall before the disbursement."""
    reminder_done: bool = False
    due_done: bool = False
    overdue_done: bool = False
    """`LoanInstallmentOverdue` was recorded, or (rules moved to 2 later) was already past."""

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest

    @property
    def owed(self) -> Decimal:
        return self.total - self.paid

    @property
    def repaid(self) -> bool:
        return self.paid >= self.total


class Loan(_Record):
    tranche: str
    principal: Amount
    terms: LoanTerms
    disbursed_at: datetime
    installments: list[LoanInstallment]
    written_off: Amount | None = None
    """What the schedule still expected when its funder wrote it off (rules 2)."""
    written_off_at: datetime | None = None
    repayments: list[str] = []
    """Request ids of the repayments recorded (rules 3): a repayment is taken once, whenever
    it is repeated."""

    @property
    def outstanding(self) -> Decimal:
        return sum((i.owed for i in self.installments), ZERO)

    def settled(self, rules_version: int) -> bool:
        """Nothing of it falls due any more. Rules 2: repaid in full or written off; rules 1:
        every installment has fallen due."""
        # From the last installment back: the clock asks at every wakeup, and an unsettled
        # loan's last installment is the one still owed (found at once, not after the rest).
        if rules_version < 2:
            return all(i.due_done for i in reversed(self.installments))
        return self.written_off is not None or all(i.repaid for i in reversed(self.installments))
