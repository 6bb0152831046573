"""Rule 16: phase overrun. At stint start + the shortest `max_duration` among the lines'
programmes for the phase + the time paused in the stint, `PhaseOverran` once per stint.

Apart from the moves (moves.py): a line attached mid-stint (lines.py) also sets the limit,
and the moves register lines, so both import this module and neither the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.durations import add
from domain.events import instant
from domain.lifecycle.context import Context, Occurrence, after_pauses, phase_spec
from domain.programme import Phase
from domain.state import CooperationState


def _overrun_choice(state: CooperationState, phase: Phase, at: datetime) -> str | None:
    """The shortest `max_duration` among the active lines' programmes for `phase` (rule 16)."""
    best: tuple[datetime, str] | None = None
    for line in state.active_lines():
        spec = phase_spec(line, phase)
        if spec is None or spec.max_duration is None:
            continue
        end = add(at, spec.max_duration)
        if best is None or end < best[0]:
            best = (end, spec.max_duration)
    return None if best is None else best[1]


def choose_overrun_limit(state: CooperationState, at: datetime) -> None:
    """Give a stint without an overrun limit the one its lines now call for, counted from
    `at` on."""
    stint = state.stint
    if stint.overrun_limit is None and not stint.overran:
        limit = _overrun_choice(state, stint.phase, stint.start)
        if limit is not None:
            stint.overrun_limit = limit
            stint.overrun_from = at


def overrun_occurrences(s: CooperationState) -> list[Occurrence]:
    stint = s.stint
    if s.closed or s.paused or stint.overran or stint.overrun_limit is None:
        return []
    at = after_pauses(s, stint.start, add(stint.start, stint.overrun_limit))
    if at is None:
        return []
    assert stint.overrun_from is not None
    return [Occurrence(max(at, stint.overrun_from), (), _overrun(max(at, stint.overrun_from)))]


def _overrun(at: datetime) -> Callable[[Context], None]:
    def apply(ctx: Context) -> None:
        s = ctx.state
        stint = s.stint
        stint.overran = True
        seq = ctx.emit(
            "PhaseOverran",
            at,
            stint=stint.number,
            phase=stint.phase.value,
            max_duration=stint.overrun_limit,
            since=instant(stint.start),
        )
        ctx.notify("facilitator", s.facilitator, "PhaseOverran", seq)

    return apply
