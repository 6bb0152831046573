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
from domain.programme import Outcome, Phase, Slug

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

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"accept": True}]})


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


class EventFeed(BaseModel):
    items: list[Event]
    next_after: int


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


def decimal_text(value: Decimal) -> str:
    return format(value, "f")
