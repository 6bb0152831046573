"""Inputs of activities: small, id-only payloads (no personal data in history)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventRecord(BaseModel):
    seq: int
    type: str
    at: datetime
    data: dict[str, Any] = {}


class RecordEvents(BaseModel):
    cooperation_id: str
    events: list[EventRecord]
    # The read model's latest summary; written with the events in one transaction.
    summary: dict[str, Any] | None = None
