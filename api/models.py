"""Request and answer bodies of the API: pydantic models, strict (unknown fields refused),
with the door's checks on every field (domain.limits)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.allocation import Share
from domain.commands import Indicators
from domain.cooperation import Angle
from domain.events import Event
from domain.limits import MAX_PERIOD, always_storable
from domain.money import Amount, DecimalText
from domain.programme import Outcome, Phase, Purpose, Slug
from domain.views import CheckInDue

T = TypeVar("T")
Text = Annotated[str, Field(min_length=1, max_length=2000)]
LongText = Annotated[str, Field(min_length=1, max_length=20_000)]
Action = Literal["advance", "restart", "pivot", "pause", "resume", "close"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _storable = field_validator("*")(always_storable)


class LineProposal(Body):
    """A funding line asked of one programme (rule 15): its funder accepts or declines it."""

    programme: Slug
    angle: Angle | None = None
    allocation: list[Share] | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "programme": "fondation-territoires-2027",
                    "angle": {
                        "summary": "Un lieu partagé pour réparer et apprendre ensemble",
                        "indicators": ["participants", "heures_benevoles"],
                        "members": ["habitants-bourg"],
                    },
                    "allocation": [{"payee": "pole-107", "share": "1"}],
                }
            ]
        },
    )


class LineDecision(Body):
    accept: bool
    note: Text | None = None
    amount: Amount | None = None
    """Rule 17: the amount granted, required to accept a line of a granted programme (within
    its `grant` bounds), refused for any other."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"accept": True}, {"accept": True, "amount": "33333.33"}]},
    )


class Transition(Body):
    """A move decided by the facilitator (rules 2, 5, 6, 7)."""

    action: Action
    to: Phase | None = None
    reason: Text | None = None
    objectives: Text | None = None
    outcome: Outcome | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"action": "advance"},
                {"action": "pivot", "objectives": "Atelier vélo", "reason": "Nouveau local"},
                {"action": "close", "outcome": "completed"},
            ]
        },
    )


class TransitionAsked(Body):
    """A transition the collective asks of its facilitator (rule 15)."""

    action: Action
    to: Phase | None = None
    reason: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"action": "pause", "reason": "Saison des récoltes"}]},
    )


class Declining(Body):
    reason: Text


class MemberJoining(Body):
    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    legal_form: Annotated[str, Field(min_length=1, max_length=100)]

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"id": "amap-bourg", "name": "AMAP du Bourg", "legal_form": "association"}]
        },
    )


class CheckInSubmission(Body):
    """A check-in (point d'étape): the narrative and needs stay in PostgreSQL, never in the
    workflow's history; numbers and short texts go in `indicators`."""

    narrative: LongText
    indicators: Indicators = {}
    needs: LongText | None = None
    period: Annotated[int, Field(ge=1, le=MAX_PERIOD)] | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "narrative": "Trois ateliers de réparation, un nouveau bénévole.",
                    "indicators": {"participants": 23, "heures_benevoles": 41},
                    "needs": "Un local pour l'hiver",
                }
            ]
        },
    )


class Review(Body):
    decision: Literal["accepted", "changes_requested"]
    comment: LongText | None = None


class ApprovalAsked(Body):
    line: Slug
    tranche: Slug


class Repayment(Body):
    line: Slug
    tranche: Slug
    amount: Amount
    date: dt.date | None = None
    """The day the money was paid, when it is recorded later."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"line": "capital-patient", "tranche": "pret", "amount": "2670.25"}]
        },
    )


class WriteOffAsked(Body):
    line: Slug
    tranche: Slug
    reason: Text


class BudgetRaise(Body):
    amount: Amount
    """The increase."""


class CheckInCreated(BaseModel):
    id: str
    period: int
    status: Literal["submitted"] = "submitted"


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    """Pass it as `cursor` for the next page; none after the last."""


class Erasure(BaseModel):
    """Personal data erased on request (`coopflow erase`): a member's name and contacts, or
    the whole cooperation's with its free texts (its blanked events say `erased` in their
    data). The sequence of events is left as it was."""

    at: str
    scope: Literal["member", "cooperation"]
    member: str | None = None
    events: int
    """How many events had their free texts blanked."""


class EventFeed(BaseModel):
    items: list[Event]
    next_after: int
    erasures: list[Erasure] = []
    """Every erasure of the cooperation's personal data, oldest first."""
    last_seq: int = 0
    """The log's latest seq: the newest N events are those after `last_seq - N`."""


class Remaining(BaseModel):
    programme: str
    budget: DecimalText
    committed: DecimalText
    remaining: DecimalText
    currency: str


class WrittenOff(BaseModel):
    line: str
    tranche: str
    amount: DecimalText
    principal: DecimalText
    interest: DecimalText
    currency: str
    seq: int


class ForeseenRelease(BaseModel):
    """A release a command would make: the tranche's whole amount, to the line's payees."""

    line: str
    programme: str
    tranche: str
    occurrence: int | None = None
    kind: Literal["release", "loan"]
    purpose: Purpose
    amount: DecimalText
    currency: str


class TransitionPreview(BaseModel):
    """What a transition would do if sent now; nothing is changed by asking."""

    action: Action
    phase_after: Phase
    paused_after: bool
    outcome_after: Outcome | None = None
    """Set when the move closes the cooperation."""
    events: list[Event]
    """The events the move would record, numbered as they would be."""
    releases: list[ForeseenRelease]
    next_check_in_before: CheckInDue | None = None
    next_check_in: CheckInDue | None = None
    """After the move: what `GET …/schedule` would then say."""
    reanchored: bool
    """The next check-in's due date moves (a schedule that ends or starts is not a move)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "advance",
                    "phase_after": "experimentation",
                    "paused_after": False,
                    "outcome_after": None,
                    "events": [
                        {
                            "seq": 12,
                            "type": "PhaseEntered",
                            "at": "2027-03-01T09:00:00Z",
                            "data": {"phase": "experimentation", "stint": 2},
                        }
                    ],
                    "releases": [
                        {
                            "line": "fondation-territoires-2027",
                            "programme": "fondation-territoires-2027",
                            "tranche": "experimentation-1",
                            "occurrence": None,
                            "kind": "release",
                            "purpose": "investment",
                            "amount": "30000.00",
                            "currency": "EUR",
                        }
                    ],
                    "next_check_in_before": {"period": 3, "due": "2027-04-01T09:00:00Z"},
                    "next_check_in": {"period": 1, "due": "2027-05-01T09:00:00Z"},
                    "reanchored": True,
                }
            ]
        }
    )


class MonthlyRelease(BaseModel):
    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
    """YYYY-MM, in UTC."""
    purpose: Purpose
    amount: DecimalText


class DashboardLoans(BaseModel):
    """The programme's loans: those still running (`open`, what they still expect, those with
    an installment in arrears), and those written off (settled by their funder: how many,
    and what the schedules still expected when they were)."""

    open: int
    outstanding: DecimalText
    in_arrears: int
    outstanding_in_arrears: DecimalText
    written_off: DecimalText
    written_off_count: int


class ReleasedByPurposeAndPhase(BaseModel):
    purpose: Purpose
    phase: Phase
    kind: Literal["release", "loan"]
    amount: DecimalText


class Dashboard(BaseModel):
    """A programme as its funder follows it; amounts in the programme's currency."""

    programme: str
    version: int
    currency: str
    budget: DecimalText
    committed: DecimalText
    remaining: DecimalText
    released: DecimalText
    freed: DecimalText
    released_by_purpose: dict[str, DecimalText]
    animation: DecimalText
    released_by_purpose_and_phase: list[ReleasedByPurposeAndPhase]
    releases_over_time: list[MonthlyRelease]
    """Released per month (UTC) and purpose, by month then purpose: a month or a purpose with
    nothing released is left out."""
    lines: dict[str, int]
    """Lines by status (proposed, active, declined)."""
    cooperations_per_phase: dict[str, int]
    """Cooperations with an active line, by phase (by outcome once closed)."""
    overdue_check_ins: int
    loans: DashboardLoans
    versements_late: int = 0
    """Rule 19: versements of its lines past their due date and not yet paid."""
    versements_late_amount: DecimalText = Decimal("0.00")


class HostedLine(BaseModel):
    line: str
    released: DecimalText
    loans: DecimalText
    repaid: DecimalText
    unpaid: DecimalText = Decimal("0.00")
    """Rule 19: of `released` and `loans`, what is ordered and not yet paid."""


class HostedVersement(BaseModel):
    """Rule 19 (rules 3): one versement to the host, ordered or paid, with its dates."""

    line: str
    tranche: str
    occurrence: int | None = None
    kind: Literal["release", "loan"]
    amount: DecimalText
    ordered_at: dt.datetime
    due_by: dt.date | None = None
    paid_on: dt.date | None = None
    status: Literal["ordered", "paid"]


class CarriedMember(BaseModel):
    member: str
    name: str | None = None
    """None once erased."""


class HostedFunds(BaseModel):
    """What a fiscal host received for one cooperation it carries, in one currency."""

    cooperation: str
    name: str
    phase: Phase
    outcome: Outcome | None = None
    currency: str | None
    """None for a cooperation with no funding line yet (nothing received)."""
    received: DecimalText
    """Grants released plus loans disbursed to the host, less what is ordered and not yet
    paid (rule 19): what it was paid."""
    released: DecimalText
    loans: DecimalText
    repaid: DecimalText
    """Repayments recorded on the loans the host received (all of each repayment, also when
    the loan was split with another payee)."""
    unpaid: DecimalText = Decimal("0.00")
    """Rule 19 (rules 3): ordered to the host and not yet paid, never counted as received."""
    by_line: list[HostedLine]
    versements: list[HostedVersement] = []
    """Rule 19 (rules 3): each versement to the host, ordered or paid, oldest first."""
    informal_members: list[CarriedMember]
    """The members the host receives for: the ledger credits the cooperation as a whole
    (rule 10), never one member, so amounts are not split between them."""
    hosting_ended_at: str | None = None
    """Rule 20: when its hosting ended (the collective graduated); None while it hosts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cooperation": "ressourcerie-du-bourg",
                    "name": "Ressourcerie du Bourg",
                    "phase": "emergence",
                    "outcome": None,
                    "currency": "EUR",
                    "received": "28000.00",
                    "released": "8000.00",
                    "loans": "20000.00",
                    "repaid": "100.00",
                    "by_line": [
                        {
                            "line": "fondation-territoires-2027",
                            "released": "8000.00",
                            "loans": "0.00",
                            "repaid": "0.00",
                        },
                        {
                            "line": "capital-patient",
                            "released": "0.00",
                            "loans": "20000.00",
                            "repaid": "100.00",
                        },
                    ],
                    "informal_members": [
                        {"member": "habitants-bourg", "name": "Collectif des habitants"}
                    ],
                }
            ]
        }
    )


def decimal_text(value: Decimal) -> str:
    return format(value, "f")


class InboxPayee(BaseModel):
    """One payee of a proposed line (rule 10): the fiscal host, or a member that is a legal
    entity."""

    payee: str
    share: DecimalText
    kind: Literal["fiscal_host", "member"]
    name: str | None = None
    """A member's name (an organisation's: money never goes to an informal member) where the
    cooperation gave one; None for the fiscal host, known by its id only, or once erased."""


class InboxGrant(BaseModel):
    """Rule 17: the bounds of the amount a funder grants a line of a granted programme, and
    what accepting commits besides it (the loans' principals)."""

    min: DecimalText | None = None
    max: DecimalText | None = None
    besides: DecimalText


class ProposedLine(BaseModel):
    """A line proposed to the funder: what accepting it commits, and to whom it pays."""

    cooperation: str
    name: str
    phase: Phase
    facilitator: str | None
    version: int
    """The programme version the line would keep."""
    amount: DecimalText | None
    """What accepting commits: the line's whole potential (rule 9); None for a granted
    programme, whose funder gives the amount when accepting (rule 17: see `grant`)."""
    currency: str
    grant: InboxGrant | None = None
    """Rule 17: what the funder may grant, for a line of a granted programme."""
    payees: list[InboxPayee]
    facilitator_is_payee: bool
    """The facilitator proposing the line would itself be paid by it."""


class AwaitedApproval(BaseModel):
    cooperation: str
    name: str
    phase: Phase
    tranches: list[str]


class AwaitedConvention(BaseModel):
    """A line whose programme requires a convention not yet recorded (rule 18)."""

    cooperation: str
    name: str
    phase: Phase


class InboxRequest(BaseModel):
    cooperation: str
    seq: int
    action: Action
    reason: str
    at: str


class VersementToPay(BaseModel):
    """Rule 19 (rules 3): a versement ordered and not yet recorded paid."""

    cooperation: str
    name: str
    line: str
    tranche: str
    occurrence: int | None = None
    kind: Literal["release", "loan"]
    payee: str
    amount: DecimalText
    currency: str
    ordered_at: dt.datetime
    due_by: dt.date | None = None
    late: bool
    """Its due date has passed."""


class InboxAmendment(BaseModel):
    """Rule 20: an amendment (avenant) of one of the funder's lines to confirm: who the line
    pays now, and who it would pay. Its releases falling due are held until the decision."""

    cooperation: str
    name: str
    phase: Phase
    seq: int
    proposed_at: str
    payees: list[InboxPayee]
    current: list[InboxPayee]


class Inbox(BaseModel):
    """What waits for a programme's funder."""

    programme: str
    proposed_lines: list[ProposedLine]
    approvals_awaited: list[AwaitedApproval]
    requests: list[InboxRequest]
    conventions_awaited: list[AwaitedConvention] = []
    """Rule 18: lines whose releases are held until their convention is recorded."""
    versements_to_pay: list[VersementToPay] = []
    """Rule 19: versements of its lines ordered and not yet paid, the soonest due first."""
    amendments: list[InboxAmendment] = []

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "programme": "fondation-territoires-2027",
                    "proposed_lines": [
                        {
                            "cooperation": "ressourcerie-du-bourg",
                            "name": "Ressourcerie du Bourg",
                            "phase": "emergence",
                            "facilitator": "pole-107",
                            "version": 1,
                            "amount": "15000.00",
                            "currency": "EUR",
                            "payees": [
                                {"payee": "pole-107", "share": "0.6", "kind": "fiscal_host"},
                                {
                                    "payee": "atelier-velo",
                                    "share": "0.4",
                                    "kind": "member",
                                    "name": "Atelier vélo (association)",
                                },
                            ],
                            "facilitator_is_payee": True,
                        }
                    ],
                    "approvals_awaited": [],
                    "requests": [],
                }
            ]
        }
    )
