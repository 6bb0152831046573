"""Inputs and results of activities: small, id-only payloads (no personal data in history)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from domain.effects import Effect
from domain.events import Event
from domain.money import DecimalText
from domain.views import CooperationSummary


class ApplyEffects(BaseModel):
    """Decisions' consequences, in order: their events, the read model's new summary (only
    when it changed), their effects."""

    cooperation_id: str
    events: list[Event]
    summary: CooperationSummary | None = None
    effects: list[Effect] = []
    rules_version: int | None = None
    """Set when the cooperation registered or moved to newer rules with these events: the
    read model keeps the version and when it began (`rules_history`)."""
    all_or_nothing: bool = False
    """A registration's commitments: if one line cannot be committed, none is."""


class CommitResult(BaseModel):
    line: str
    committed: bool
    remaining: DecimalText = Decimal(0)
    needed: DecimalText = Decimal(0)
    reason: str = ""


class EffectsResult(BaseModel):
    new_events: int
    commitments: list[CommitResult] = []
