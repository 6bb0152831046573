"""Inputs, messages and answers of the cooperation workflow (one model each)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.commands import Command, Register
from domain.events import Event
from domain.money import DecimalText
from domain.programme import LoanTerms
from domain.state import CooperationState


class CooperationInput(BaseModel):
    """Everything a run needs, carried whole across continue-as-new."""

    cooperation_id: str
    registration: Register | None = None
    """The registration, on the first run only."""
    state: CooperationState | None = None
    """The state, on every run after the first."""
    clock_offset_seconds: float = 0.0
    """Scenario time = server time + offset (simulate on the time-skipping server); 0 in
    production."""
    simulation: bool = False
    """Scenario runs date each command at its step's instant (`CommandRequest.at`), so that
    timer jitter never moves a date; production commands are dated by the workflow clock."""
    registered_at: datetime | None = None
    answers: dict[str, CommandAnswer] = {}
    """Answers to the latest request ids, so a retried request gets its first answer."""
    recent_events: list[Event] = []
    history_budget: int = 4_000
    """History events per run before continuing as new (small in tests)."""


class CommandRequest(BaseModel):
    command: Command
    request_id: str | None = None
    at: datetime | None = None
    """Simulation only: the scenario instant the command applies at."""


class CommandAnswer(BaseModel):
    events: list[Event]
    state: dict[str, Any]


class TimelinePage(BaseModel):
    after: int = 0
    limit: int = Field(default=50, ge=1, le=500)


class TimelineAnswer(BaseModel):
    items: list[Event]
    next_after: int


class RepaymentPart(BaseModel):
    installment: int
    amount: DecimalText


class LoanRepayment(BaseModel):
    at: datetime
    amount: DecimalText
    installments: list[RepaymentPart]


class LoanInput(BaseModel):
    cooperation_id: str
    line: str
    tranche: str
    principal: DecimalText
    currency: str
    terms: LoanTerms
    disbursed: date
    clock_offset_seconds: float = 0.0
    paid: dict[int, DecimalText] = {}


CooperationInput.model_rebuild()
