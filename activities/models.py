"""Inputs and results of activities: small, id-only payloads (no personal data in history)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from domain.effects import Effect
from domain.events import Event
from domain.money import DecimalText


class ApplyEffects(BaseModel):
    """One decision's consequences: its events, the read model's new summary, its effects."""

    cooperation_id: str
    events: list[Event]
    summary: dict[str, Any] | None = None
    effects: list[Effect] = []


class CommitResult(BaseModel):
    line: str
    committed: bool
    remaining: DecimalText = Decimal(0)
    needed: DecimalText = Decimal(0)
    reason: str = ""


class EffectsResult(BaseModel):
    new_events: int
    commitments: list[CommitResult] = []
