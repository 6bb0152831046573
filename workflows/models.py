"""Inputs, queries and results of the cooperation workflow."""

from __future__ import annotations

from pydantic import BaseModel

from activities.models import EventRecord


class CooperationStart(BaseModel):
    cooperation_id: str
    name: str
    facilitator: str | None = None
    programmes: list[str] = []
    start_phase: str = "emergence"
    # Scenario time = server time + offset (simulate on the time-skipping server); 0 in production.
    clock_offset_seconds: float = 0.0


class CooperationView(BaseModel):
    id: str
    name: str
    phase: str
    facilitator: str | None = None
    programmes: list[str] = []
    closed: bool = False
    events: list[EventRecord] = []
