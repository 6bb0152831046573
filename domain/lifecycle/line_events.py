"""How the events and effects about a line name it: by the line and by its programme. A line
is named by its programme's id (one line per programme), yet its events and effects have
always carried both keys, and their shape is a contract (recorded histories, webhooks, the
activities): they are written here once."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from domain.events import EventType
from domain.lifecycle.context import Context
from domain.state import Line


class LineKeys(TypedDict):
    line: str
    programme: str


def line_keys(line: Line) -> LineKeys:
    """The keys naming `line` in an effect (`Release(**line_keys(line), …)`)."""
    return {"line": line.id, "programme": line.programme.spec.id}


def emit_on_line(ctx: Context, type_: EventType, at: datetime, line: Line, **data: Any) -> int:
    """`ctx.emit` of an event about `line`; its seq."""
    return ctx.emit(type_, at, **line_keys(line), **data)
