"""Inputs, messages and answers of the cooperation workflow (one model each)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from activities.models import ApplyEffects
from domain.commands import Command, Register
from domain.events import Event
from domain.money import DecimalText
from domain.state import CooperationState
from domain.tranche_terms import LoanTerms
from domain.views import CooperationSummary


class Remembered(BaseModel):
    """What a command's request id is remembered by: the range of events it recorded."""

    first_seq: int
    last_seq: int


class CooperationInput(BaseModel):
    """Everything a run needs, carried whole across continue-as-new.

    Fields marked "shape 1" are read only by runs started before `workflow.patched`
    "coopflow-shape-2" (registration in the input, effects awaited inside each command);
    they stay so that those histories still replay, and go with that shape.
    """

    cooperation_id: str
    registration: Register | None = None
    """Shape 1: the registration, on the first run (shape 2 registers by update-with-start)."""
    state: CooperationState | None = None
    """The state, on every run after the first."""
    clock_offset_seconds: float = 0.0
    """Scenario time = server time + offset (simulate on the time-skipping server); 0 in
    production."""
    simulation: bool = False
    """Scenario runs date each command at its step's instant (`CommandRequest.at`), so that
    timer jitter never moves a date; production commands are dated by the workflow clock."""
    registered_at: datetime | None = None
    """Shape 1: the scenario instant of the registration."""
    answers: dict[str, CommandAnswer] = {}
    """Shape 1: whole answers to the latest request ids."""
    remembered: dict[str, Remembered] = {}
    """Shape 2: the latest request ids and the events they recorded, so that a retried
    request gets its first answer across continue-as-new."""
    recent_events: list[Event] = []
    """Shape 1 only: shape 2 reads the whole log from PostgreSQL."""
    pending: list[ApplyEffects] = []
    """Effects decided but not yet carried out when the run had to continue (PostgreSQL
    down for long): the next run carries them out first, in order."""
    history_budget: int = 4_000
    """History events per run before continuing as new (small in tests)."""
    effects_attempts: int = 8
    """Attempts of an effects batch (about four minutes of backoff) before the cooperation
    is flagged in fault; then one more every `fault_retry_seconds` until they pass."""
    fault_retry_seconds: float = 600.0
    faults: dict[str, str] = {}
    """Shape 3: what the cooperation was flagged for (source → "source:error") when the run
    continued; cleared in the next run as each source passes again."""
    courier_failures: int = 0
    """Shape 3: the courier's failures in a row when the run continued; the next run backs
    off as long before its first try."""


class CommandRequest(BaseModel):
    command: Command
    request_id: str | None = None
    """The caller's id for the request, also the update id: the same id is answered once."""
    at: datetime | None = None
    """Simulation only: the scenario instant the command applies at."""


class CommandAnswer(BaseModel):
    events: list[Event]
    """The events the command recorded (for a repeated request: those still in the run's
    memory; `first_seq`..`last_seq` name them all)."""
    state: CooperationSummary
    first_seq: int = 0
    last_seq: int = 0
    repeated: bool = False
    """True when the request id was already answered: nothing was applied again."""


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
    seq: int = 0
    """The `RepaymentRecorded` event's seq: a signal repeated after continue-as-new is
    recognised (0 in signals sent before seqs were)."""
    at: datetime
    amount: DecimalText
    installments: list[RepaymentPart]


class LoanWriteOff(BaseModel):
    at: datetime
    amount: DecimalText
    reason: str


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
