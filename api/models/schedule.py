"""A cooperation's schedule: what comes next, and the échéancier prévisionnel."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.money import DecimalText
from domain.schedule import TrancheToCome, Waiting
from domain.views import CheckInDue, LoanView


class PendingTranche(BaseModel):
    line: str
    tranche: str
    occurrence: int | None = None
    amount: DecimalText | None = None
    """None only for a share of a line not yet granted its amount (rule 17: proposed)."""
    currency: str
    waits_for: str | None = None


class UndatedTranche(PendingTranche):
    """A tranche to come read from PostgreSQL's summary when the workflow cannot answer: no
    date, no phase or purpose."""

    model_config = ConfigDict(extra="forbid")

    expected_on: None = None
    waiting: list[Waiting] = []


class AwaitedApprovalOf(BaseModel):
    line: str
    tranche: str


class LoanOutstanding(LoanView):
    line: str


class Schedule(BaseModel):
    next_check_in: CheckInDue | None
    next_wakeup: str | None
    """The clock's next instant (ISO 8601), when the workflow answers."""
    pending_tranches: list[PendingTranche]
    awaiting_approval: list[AwaitedApprovalOf]
    loans: list[LoanOutstanding]
    tranches: list[TrancheToCome | UndatedTranche]


class Alive(BaseModel):
    status: Literal["alive"] = "alive"


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    temporal: str
    """"up", or "down: " and why in plain words."""
    postgres: str
