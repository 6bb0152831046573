"""Inputs and results of activities: small, id-only payloads (no personal data in history)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from domain.effects import Effect
from domain.events import Event
from domain.money import DecimalText
from domain.state import CooperationState
from domain.views import CooperationSummary


class Answered(BaseModel):
    """A command answered: its request id and the range of events it recorded."""

    request_id: str
    first_seq: int
    last_seq: int


class ApplyEffects(BaseModel):
    """Decisions' consequences, in order: their events, the read model's new summary (only
    when it changed), their effects."""

    cooperation_id: str
    events: list[Event]
    summary: CooperationSummary | None = None
    state: CooperationState | None = None
    """The whole state after these decisions, kept in PostgreSQL for the forecast (which
    drives it through the rules without asking the workflow). Not a decision: the replay
    check compares events and effects only."""
    effects: list[Effect] = []
    rules_version: int | None = None
    """Set when the cooperation registered or moved to newer rules with these events: the
    read model keeps the version and when it began (`rules_history`)."""
    all_or_nothing: bool = False
    """A registration's commitments: if one line cannot be committed, none is."""
    answered: list[Answered] = Field(default_factory=list)
    """The commands answered with these events, kept in PostgreSQL with them (issue 17): a
    request repeated at any distance in time is answered from there, never decided again.
    Not a decision: the replay check compares events and effects only."""


class CommitResult(BaseModel):
    line: str
    committed: bool
    remaining: DecimalText = Decimal(0)
    needed: DecimalText = Decimal(0)
    reason: str = ""


class EffectsResult(BaseModel):
    new_events: int
    commitments: list[CommitResult] = []
