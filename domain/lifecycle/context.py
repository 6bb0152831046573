"""What every rule's module builds a decision with: the decision itself, the context it is
built in (a private copy of the state, the events, the effects), a clock occurrence, and the
guards and arithmetic several rules share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from domain.effects import Effect, Notify
from domain.errors import Conflict, InvalidInput
from domain.events import Event, EventType
from domain.programme import Phase, PhaseSpec
from domain.state import CooperationState, Line

# A safety bound on schedule scans: a stint of weekly check-ins over 20 years has ~1000.
SCAN_LIMIT = 100_000


class Decision(BaseModel):
    state: CooperationState
    events: list[Event]
    effects: list[Effect]


def money_text(value: Decimal) -> str:
    return format(value, "f")


def copy_state(state: CooperationState) -> CooperationState:
    """A private deep copy. Through JSON: the state round-trips exactly (it travels through
    history that way), and pydantic's own serialiser is several times faster than
    `copy.deepcopy` on a state of some years (a decision copies the state once)."""
    return CooperationState.model_validate_json(state.model_dump_json())


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is a naive datetime: the rules need an aware UTC instant")
    return moment.astimezone(UTC)


class Context:
    """The decision being built: a private copy of the state, the events and the effects."""

    def __init__(
        self,
        state: CooperationState,
        events: list[Event] | None = None,
        effects: list[Effect] | None = None,
    ) -> None:
        self.state = state
        self.events: list[Event] = events or []
        self.effects: list[Effect] = effects or []

    def emit(self, type_: EventType, at: datetime, **data: Any) -> int:
        s = self.state
        if self.events and at < self.events[-1].at:
            raise AssertionError(f"{type_} at {at} would come before {self.events[-1].type}")
        seq = s.next_seq
        s.next_seq += 1
        s.last_at = max(s.last_at, at)
        self.events.append(
            Event(seq=seq, type=type_, at=at, data={k: v for k, v in data.items() if v is not None})
        )
        return seq

    def notify(
        self,
        role: Literal["facilitator", "funder", "collective"],
        to: str | None,
        about: str,
        seq: int,
    ) -> None:
        self.effects.append(Notify(to_role=role, to=to, about=about, seq=seq))

    def decision(self) -> Decision:
        return Decision(state=self.state, events=self.events, effects=self.effects)


@dataclass(frozen=True)
class Occurrence:
    """Something the clock has to do at `at`. `rank` orders the occurrences of one kind at
    the same instant; the clock orders the kinds (clock.py)."""

    at: datetime
    rank: tuple[int, ...]
    apply: Callable[[Context], None]


def after_pauses(state: CooperationState, since: datetime, target: datetime) -> datetime | None:
    """`target` pushed back by the time paused from `since` on (rules 3 and 16).

    A pause that starts exactly at the (pushed) instant also pushes it: the pause command at T
    comes before the clock at T. None while a pause that counts is still open.
    """
    moment = target
    for pause in state.pauses:
        if pause.end is not None and pause.end <= since:
            continue
        start = max(pause.start, since)
        if start > moment:
            break
        if pause.end is None:
            return None
        moment += pause.end - start
    return moment


def phase_spec(line: Line, phase: Phase) -> PhaseSpec | None:
    return line.programme.spec.phase(phase)


def require_open(s: CooperationState, action: str) -> None:
    if s.closed:
        raise Conflict(f"cannot {action}: the cooperation is closed ({s.outcome})")


def require_not_paused(s: CooperationState, action: str) -> None:
    if s.paused:
        raise Conflict(
            f"cannot {action} while paused: resume first, so the record shows when the pause ended"
        )


def known_line(s: CooperationState, line_id: str, field: str = "line") -> Line:
    line = s.line(line_id)
    if line is None:
        known = ", ".join(x.id for x in s.lines) or "none"
        raise InvalidInput(f"no funding line {line_id!r} (lines: {known})", field)
    return line
