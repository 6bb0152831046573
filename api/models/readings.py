"""Answers of reads and commands: events, budgets, write-offs, transition previews."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from api.models.base import Action
from domain.events import Event
from domain.money import DecimalText
from domain.programme import Outcome, Phase, Purpose
from domain.views import CheckInDue


class CheckInCreated(BaseModel):
    id: str
    period: int
    status: Literal["submitted"] = "submitted"


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
