"""Request bodies: strict (unknown fields refused), with the door's checks on every field
(domain.limits)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from api.models.base import Action, Body, LongText, Text
from domain.allocation import Share
from domain.commands import Indicators
from domain.cooperation import Angle
from domain.lifecycle.graduation import LEGAL_FORMS
from domain.limits import MAX_PERIOD
from domain.money import Amount
from domain.programme import Outcome, Phase, Slug


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
    # One of rule 20's forms (check_legal_form), said in the schema only: the rules answer it.
    legal_form: Annotated[
        str, Field(min_length=1, max_length=100, json_schema_extra={"enum": list(LEGAL_FORMS)})
    ]

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
    indicators: Indicators = Field(default_factory=dict)
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
