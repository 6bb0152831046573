"""What every rule's module builds a decision with: the decision itself, the context it is
built in (a private copy of the state, the events, the effects), a clock occurrence, and the
guards and arithmetic several rules share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, get_args, get_origin

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
    """A private deep copy of what the rules may change.

    Structural, without validation: the state is already valid, so nothing is parsed again.
    Immutable values (text, numbers, instants, enums) and frozen models (a line's programme
    version and its specs: no rule changes a spec) are shared; every other model, list and
    dict is new. Through JSON, as before, the copy took about two thirds of a decision.
    """
    copied: CooperationState = _copy(state)
    return copied


_SHARED: frozenset[type] = frozenset(
    {str, int, float, bool, type(None), Decimal, datetime, date, timedelta}
)


def _mutable(annotation: Any) -> bool:
    """Whether a field of this type may hold something a rule changes in place (a list, a
    dict, a model that is not frozen)."""
    origin = get_origin(annotation)
    if origin is not None:
        if origin in (list, dict):
            return True
        return any(_mutable(arg) for arg in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return not annotation.model_config.get("frozen", False)
    return False


Copier = Callable[[Any], Any]

# Per type: how a value of it is copied. Chosen once per type, by `type(value)` alone: in a
# workflow the sandbox wraps `isinstance` for every call, which made it most of the copy.
_COPIERS: dict[type, Copier] = {}


def _copy(value: Any) -> Any:
    kind = type(value)
    copier = _COPIERS.get(kind)
    if copier is None:
        copier = _COPIERS.setdefault(kind, _copier(kind))
    return copier(value)


def _same(value: Any) -> Any:
    return value


def _copy_list(value: list[Any]) -> list[Any]:
    return [_copy(x) for x in value]


def _copy_dict(value: dict[Any, Any]) -> dict[Any, Any]:
    return {k: _copy(x) for k, x in value.items()}


def _copier(kind: type) -> Copier:
    if kind in _SHARED or issubclass(kind, Enum | tuple | frozenset):
        return _same
    if kind is list:
        return _copy_list
    if kind is dict:
        return _copy_dict
    if issubclass(kind, BaseModel):
        return _same if kind.model_config.get("frozen") else _model_copier(kind)
    raise TypeError(f"copy_state does not know how to copy a {kind.__name__}")


# Per model kind that is not frozen: the fields that may hold something mutable (copied; the
# others are shared), and one set of every field name for all the copies of the kind rather
# than a set each (a quarter of a state's memory). No reader asks which fields were given (no
# `exclude_unset` on a state), and an assignment adds a name that is already in it.
_MODELS: dict[type[BaseModel], tuple[tuple[str, ...], set[str]]] = {}


def _model(kind: type[BaseModel]) -> tuple[tuple[str, ...], set[str]]:
    found = _MODELS.get(kind)
    if found is None:
        plan = tuple(
            name for name, field in kind.model_fields.items() if _mutable(field.annotation)
        )
        found = _MODELS.setdefault(kind, (plan, set(kind.model_fields)))
    return found


def _model_copier(kind: type[BaseModel]) -> Copier:
    plan, fields_set = _model(kind)
    new = object.__new__
    put = object.__setattr__

    def copy_model(value: BaseModel) -> BaseModel:
        fields = value.__dict__.copy()
        for name in plan:
            fields[name] = _copy(fields[name])
        copied = new(kind)
        put(copied, "__dict__", fields)
        put(copied, "__pydantic_fields_set__", fields_set)
        put(copied, "__pydantic_extra__", value.__pydantic_extra__)
        put(copied, "__pydantic_private__", value.__pydantic_private__)
        return copied

    return copy_model


def share_field_sets(value: Any) -> None:
    """The models of a state built by validation (a registration's, a run's input) given the
    sets of field names copies share, in place: the same values, a third less to keep."""
    kind = type(value)
    if kind is list:
        for item in value:
            share_field_sets(item)
    elif kind is dict:
        for item in value.values():
            share_field_sets(item)
    elif (
        kind not in _SHARED and issubclass(kind, BaseModel) and not kind.model_config.get("frozen")
    ):
        plan, fields_set = _model(kind)
        object.__setattr__(value, "__pydantic_fields_set__", fields_set)
        for name in plan:
            share_field_sets(value.__dict__[name])


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is a naive datetime: the rules need an aware UTC instant")
    return moment.astimezone(UTC)


# Every field is given to each event: one set of their names for all (an event is frozen, and
# a workflow keeps its latest hundred).
_EVENT_FIELDS = set(Event.model_fields)


class Context:
    """The decision being built: a private copy of the state, the events and the effects.

    `lean`: the shell reads nothing of the decision but the state and the effects that move
    money or ask it for something (the forecast), so no event is kept and no notice built;
    the state changes exactly as otherwise (sequence numbers included)."""

    def __init__(
        self,
        state: CooperationState,
        events: list[Event] | None = None,
        effects: list[Effect] | None = None,
        *,
        lean: bool = False,
    ) -> None:
        self.state = state
        self.events: list[Event] = events or []
        self.effects: list[Effect] = effects or []
        self.lean = lean
        self._last: tuple[datetime, str] | None = (
            (self.events[-1].at, self.events[-1].type) if self.events else None
        )

    def emit(self, type_: EventType, at: datetime, **data: Any) -> int:
        s = self.state
        last = self._last
        if last is not None and at < last[0]:
            raise AssertionError(f"{type_} at {at} would come before {last[1]}")
        self._last = (at, type_)
        seq = s.next_seq
        s.next_seq += 1
        s.last_at = max(s.last_at, at)
        if self.lean:
            return seq
        # Built as checked already (a typed event type, a fresh dict, an aware instant, a
        # positive seq): validating each of the clock's events again cost a fifth of a run.
        self.events.append(
            Event.model_construct(
                _EVENT_FIELDS,
                seq=seq,
                type=type_,
                at=at,
                data={k: v for k, v in data.items() if v is not None},
            )
        )
        return seq

    def notify(
        self,
        role: Literal["facilitator", "funder", "collective"],
        to: str | None,
        about: str,
        seq: int,
    ) -> None:
        if self.lean:
            return
        # Every field given: a default left to `model_construct` is resolved at each call.
        self.effects.append(
            Notify.model_construct(type="notify", to_role=role, to=to, about=about, seq=seq)
        )

    def decision(self) -> Decision:
        # Its parts are built valid already: validating them again cost a tenth of a run.
        return Decision.model_construct(state=self.state, events=self.events, effects=self.effects)


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
