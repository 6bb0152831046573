"""Commands: what actors (through the API, or a scenario step) ask of a cooperation.

`request_id`: the shell gives each command the id of the request that carries it (the same
for every retry of that request). Rules 3 take a repayment once per request id and key its
ledger posting by it; other rules ignore it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from domain.allocation import Share
from domain.cooperation import Angle, CooperationSpec, LineRequest, MemberSpec, check_allocation
from domain.limits import (
    MAX_INDICATOR_NUMBER,
    MAX_INDICATOR_TEXT,
    MAX_INDICATORS,
    MAX_PERIOD,
    at_the_door,
    number_problem,
    storable,
    text_problem,
)
from domain.money import Amount
from domain.programme import Outcome, Phase, ProgrammeVersion, Slug

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Indicators = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=100)], int | float | str],
    # What the door takes (SubmitCheckIn below), said in the schema a client reads.
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_INDICATORS,
            "propertyNames": {"type": "string", "minLength": 1, "maxLength": 100},
            "additionalProperties": {
                "anyOf": [
                    {
                        "type": "number",
                        "minimum": -MAX_INDICATOR_NUMBER,
                        "maximum": MAX_INDICATOR_NUMBER,
                    },
                    {"type": "string", "maxLength": MAX_INDICATOR_TEXT},
                ]
            },
        },
        mode="validation",
    ),
]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str | None = None

    _storable = field_validator("*")(storable)


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["funder", "facilitator", "collective"]
    id: str

    _storable = field_validator("*")(storable)


class Register(_Command):
    kind: Literal["register"] = "register"
    cooperation: CooperationSpec
    programmes: list[ProgrammeVersion]
    # Scenario lines are taken as accepted: the shell has already committed them (rule 9).
    # API lines are proposals waiting for their funder.
    lines_accepted: bool = False
    # The rules the cooperation will run under: the shell sets the newest it may use
    # (`domain.rules`); registrations recorded before versions existed ran under 1.
    rules_version: PositiveInt = 1


class ProposeLine(_Command):
    kind: Literal["propose_line"] = "propose_line"
    line: LineRequest
    programme: ProgrammeVersion


class AcceptLine(_Command):
    kind: Literal["accept_line"] = "accept_line"
    line: str
    amount: Amount | None = None
    """Rule 17: the amount granted, for a line of a granted programme (and only for one)."""


class CommitmentCommitted(_Command):
    kind: Literal["commitment_committed"] = "commitment_committed"
    line: str


class CommitmentRefused(_Command):
    kind: Literal["commitment_refused"] = "commitment_refused"
    line: str
    reason: str = ""


class DeclineLine(_Command):
    kind: Literal["decline_line"] = "decline_line"
    line: str
    note: str | None = None


class Advance(_Command):
    kind: Literal["advance"] = "advance"
    to: Phase | None = None


class Restart(_Command):
    kind: Literal["restart"] = "restart"
    to: Phase | None = None
    reason: Text


class Pivot(_Command):
    kind: Literal["pivot"] = "pivot"
    objectives: Text
    reason: Text


class Pause(_Command):
    kind: Literal["pause"] = "pause"
    reason: str | None = None


class Resume(_Command):
    kind: Literal["resume"] = "resume"


class Close(_Command):
    kind: Literal["close"] = "close"
    outcome: Outcome


class SubmitCheckIn(_Command):
    kind: Literal["submit_check_in"] = "submit_check_in"
    check_in_id: Slug
    period: PositiveInt | None = None
    # Numbers and short texts only: the narrative stays in Postgres, out of history.
    indicators: Indicators = {}

    @field_validator("period")
    @classmethod
    def _plausible_period(cls, value: int | None, info: ValidationInfo) -> int | None:
        if at_the_door(info) and value is not None and value > MAX_PERIOD:
            raise ValueError(f"must be at most {MAX_PERIOD}")
        return value

    @field_validator("indicators")
    @classmethod
    def _few_and_short(cls, value: Indicators, info: ValidationInfo) -> Indicators:
        # They go into events, so into jsonb, which takes neither NaN nor infinity.
        if not at_the_door(info):
            return value
        if len(value) > MAX_INDICATORS:
            raise ValueError(f"at most {MAX_INDICATORS} indicators, not {len(value)}")
        for i, (key, item) in enumerate(value.items()):
            problem = text_problem(key)
            if problem:
                raise ValueError(f"key #{i + 1}: {problem}")
            if isinstance(item, str):
                problem = text_problem(item, MAX_INDICATOR_TEXT)
            elif isinstance(item, int | float):
                problem = number_problem(item)
            if problem:
                raise ValueError(f"{key!r}: {problem}")
        return value


class ReviewCheckIn(_Command):
    kind: Literal["review_check_in"] = "review_check_in"
    check_in_id: str | None = None
    period: PositiveInt | None = None
    decision: Literal["accepted", "changes_requested"]


class ApproveTranche(_Command):
    kind: Literal["approve_tranche"] = "approve_tranche"
    line: str
    tranche: str
    by: Actor


class RecordRepayment(_Command):
    kind: Literal["record_repayment"] = "record_repayment"
    line: str
    tranche: str
    amount: Amount
    installment: PositiveInt | None = None
    """Rules 1 only: where to start applying it (rules 2 apply to the oldest owed)."""
    on: date | None = None
    """The day the money was paid, when the funder records it later (kept in the event)."""


class WriteOff(_Command):
    kind: Literal["write_off"] = "write_off"
    line: str
    tranche: str
    reason: Text
    by: Actor


class RequestTransition(_Command):
    kind: Literal["request_transition"] = "request_transition"
    action: Literal["advance", "restart", "pivot", "pause", "resume", "close"]
    to: Phase | None = None
    reason: Text


class DeclineTransitionRequest(_Command):
    kind: Literal["decline_transition_request"] = "decline_transition_request"
    request: PositiveInt
    """The request's id: the seq of its `TransitionRequested` event."""
    reason: Text


class MemberJoin(_Command):
    kind: Literal["member_join"] = "member_join"
    member: MemberSpec


class MemberLeave(_Command):
    kind: Literal["member_leave"] = "member_leave"
    member_id: str


class RecordConvention(_Command):
    """Rule 18: the line's funder records the line's convention, once."""

    kind: Literal["record_convention"] = "record_convention"
    line: str
    reference: Annotated[str, Field(min_length=1, max_length=100)]
    signed_on: date
    ends_on: date | None = None
    by: Actor


class RecordPaid(_Command):
    """Rule 19 (rules 3): the line's funder records a versement paid; without `payee`, every
    part of that release still unpaid."""

    kind: Literal["record_paid"] = "record_paid"
    line: str
    tranche: str
    occurrence: PositiveInt | None = None
    payee: str | None = None
    paid_on: date
    by: Actor


class Formalise(_Command):
    """Rule 20: a member's new legal form (the collective founded its entity). The form and
    the numbers are checked by the rules (domain/lifecycle/graduation.py)."""

    kind: Literal["formalise"] = "formalise"
    member: str
    legal_form: Annotated[str, Field(min_length=1, max_length=100)]
    siret: Annotated[str, Field(max_length=100)] | None = None
    rna: Annotated[str, Field(max_length=100)] | None = None


class Amend(_Command):
    """Rule 20: a new allocation proposed for a line (avenant), for its funder to decide."""

    kind: Literal["amend"] = "amend"
    line: str
    allocation: list[Share]

    _allocation = field_validator("allocation")(check_allocation)


class DecideAmendment(_Command):
    """Rule 20: the line's funder accepts or declines the open amendment; the note stays in
    the event (PostgreSQL), never in the state."""

    kind: Literal["decide_amendment"] = "decide_amendment"
    line: str
    accept: bool
    note: Text | None = None


class EndHosting(_Command):
    """Rule 20: the fiscal host's hosting ends (nothing pays it any more)."""

    kind: Literal["end_hosting"] = "end_hosting"


MOVES: dict[str, type[Advance | Restart | Pivot | Pause | Resume | Close]] = {
    model.model_fields["kind"].default: model
    for model in (Advance, Restart, Pivot, Pause, Resume, Close)
}
"""The facilitator's transitions by action (rule 15: what a collective may request)."""

Command = Annotated[
    Register
    | ProposeLine
    | AcceptLine
    | CommitmentCommitted
    | CommitmentRefused
    | DeclineLine
    | Advance
    | Restart
    | Pivot
    | Pause
    | Resume
    | Close
    | SubmitCheckIn
    | ReviewCheckIn
    | ApproveTranche
    | RecordRepayment
    | WriteOff
    | RequestTransition
    | DeclineTransitionRequest
    | MemberJoin
    | MemberLeave
    | RecordConvention
    | RecordPaid
    | Formalise
    | Amend
    | DecideAmendment
    | EndHosting,
    Field(discriminator="kind"),
]

__all__ = [
    "MOVES",
    "AcceptLine",
    "Actor",
    "Advance",
    "Amend",
    "Angle",
    "ApproveTranche",
    "Close",
    "Command",
    "CommitmentCommitted",
    "CommitmentRefused",
    "DecideAmendment",
    "DeclineLine",
    "DeclineTransitionRequest",
    "EndHosting",
    "Formalise",
    "MemberJoin",
    "MemberLeave",
    "Pause",
    "Pivot",
    "ProposeLine",
    "RecordConvention",
    "RecordPaid",
    "RecordRepayment",
    "Register",
    "RequestTransition",
    "Restart",
    "Resume",
    "ReviewCheckIn",
    "SubmitCheckIn",
    "WriteOff",
]
