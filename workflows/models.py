"""Inputs, messages and answers of the cooperation workflow (one model each)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.commands import Command, Register
from domain.events import Event
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


class CommandRequest(BaseModel):
    command: Command
    request_id: str | None = None
    at: datetime | None = None
    """Simulation only: the scenario instant the command applies at."""


class CommandAnswer(BaseModel):
    events: list[Event]
    state: dict[str, Any]


CooperationInput.model_rebuild()
