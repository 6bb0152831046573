"""The events about a line name the line and its programme. A line is named by its
programme's id (one line per programme), yet its events have always carried both keys, and
the log's shape is a contract (recorded histories, webhooks): they are written here once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.events import EventType
from domain.lifecycle.context import Context
from domain.state import Line


def emit_on_line(ctx: Context, type_: EventType, at: datetime, line: Line, **data: Any) -> int:
    """`ctx.emit` of an event about `line`; its seq."""
    return ctx.emit(type_, at, line=line.id, programme=line.programme.spec.id, **data)
