"""Rule 8: check-ins. One schedule per stint (the shortest cadence among the lines'
programmes), made of segments that a pivot or a resume re-anchors; which period a check-in
fills, its review, and the clock's reminders and overdues."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain import commands as c
from domain.durations import add, subtract
from domain.errors import Conflict, InvalidInput
from domain.events import EventType, instant
from domain.lifecycle.context import SCAN_LIMIT, Context, Occurrence, phase_spec, require_open
from domain.lifecycle.releases import release_due
from domain.programme import Phase, PhaseSpec
from domain.state import (
    CheckIn,
    CooperationState,
    Line,
    PauseSpan,
    PeriodMark,
    Segment,
    Stint,
    due_of,
    has_begun,
    overdue_of,
    period_at,
    reminder_of,
    segment_of,
)

# ---------------------------------------------------------------------------------------
# The schedule


def _cadence_choice(state: CooperationState, phase: Phase) -> tuple[Line, PhaseSpec] | None:
    """The shortest check-in cadence among the active lines for `phase`, compared as
    stint start + cadence; on a tie the earlier line's (rule 8).

    Always from the stint start, also when a pivot or a resume chooses again: P1M and P30D
    compare differently from 31 January and from 1 March, and rule 8 names the stint start.
    """
    best: tuple[datetime, Line, PhaseSpec] | None = None
    for line in state.active_lines():
        spec = phase_spec(line, phase)
        if spec is None:
            continue
        due = add(state.stint.start, spec.check_in_every)
        if best is None or due < best[0]:
            best = (due, line, spec)
    return None if best is None else (best[1], best[2])


def _segment(at: datetime, first: int, line: Line, spec: PhaseSpec) -> Segment:
    return Segment(
        anchor=at,
        first_period=first,
        line=line.id,
        cadence=spec.check_in_every,
        grace=spec.check_in_grace,
        reminder_before=spec.reminder_before,
    )


def choose_schedule(state: CooperationState, at: datetime) -> None:
    """Give a stint without a check-in schedule (no active line defined its phase) the one
    its lines now call for, anchored at `at`."""
    stint = state.stint
    # While paused the schedule waits for the resume, which anchors it (rule 5: attachments
    # given while paused take effect at resume); anchored now, its first periods would fall
    # in the pause and be void.
    if not stint.segments and not state.paused:
        choice = _cadence_choice(state, stint.phase)
        if choice is not None:
            stint.segments = [_segment(at, 1, *choice)]


_BLANK = PeriodMark()
"""What a period without a mark reads as (read only: `_mark` makes the ones written)."""


def _mark(stint: Stint, period: int) -> PeriodMark:
    if period not in stint.periods:
        stint.periods[period] = PeriodMark()
    return stint.periods[period]


def _settled(stint: Stint, period: int) -> bool:
    mark = stint.periods.get(period)
    if mark is not None and (mark.void or mark.check_in):
        return True
    if mark is None or not mark.overdue_done:
        return False
    return mark.reminder_done or reminder_of(stint, period) < segment_of(stint, period).anchor


def _advance_clock_cursor(stint: Stint) -> None:
    for _ in range(SCAN_LIMIT):
        if not _settled(stint, stint.clock_from):
            return
        stint.clock_from += 1


def reanchor(state: CooperationState, at: datetime) -> None:
    """Pivot and resume (rule 8): the pending period, the first whose due instant is not
    before `at`, becomes due at `at` + cadence, the next ones + 2 × cadence…; numbers go on.
    The cadence is chosen again, so a line attached since counts from here."""
    stint = state.stint
    choice = _cadence_choice(state, stint.phase)
    if choice is None:
        return
    pending = 1
    if stint.segments:
        pending = stint.segments[-1].first_period
        for _ in range(SCAN_LIMIT):
            if due_of(stint, pending) >= at:
                break
            pending += 1
    stint.segments = [s for s in stint.segments if s.first_period < pending]
    stint.segments.append(_segment(at, pending, *choice))
    # A re-dated period gets a reminder for its new due date.
    for number, mark in stint.periods.items():
        if number >= pending:
            mark.reminder_done = False
            mark.overdue_done = False
    stint.clock_from = min(stint.clock_from, pending)


def resume_schedule(state: CooperationState, pause: PauseSpan, now: datetime) -> None:
    """What a resume does to the check-in clock (rules 5 and 8): what fell in the pause never
    fires, then the schedule is re-anchored at the resume."""
    stint = state.stint
    if stint.segments:
        # Nothing of the check-in clock fires for what fell in the pause: periods due in
        # [pause, resume) are void, and the pause swallows the reminders and overdues of
        # earlier periods that fell in it, including periods of an earlier segment (before a
        # pivot) whose overdue is still on the clock.
        k = min(stint.clock_from, stint.segments[-1].first_period)
        for _ in range(SCAN_LIMIT):
            due = due_of(stint, k)
            if due >= now:
                break
            mark = _mark(stint, k)
            if due >= pause.start:
                mark.void = True
            else:
                if pause.start <= reminder_of(stint, k) < now:
                    mark.reminder_done = True
                if pause.start <= overdue_of(stint, k) < now:
                    mark.overdue_done = True
            k += 1
    reanchor(state, now)


# ---------------------------------------------------------------------------------------
# The clock's reminders and overdues


def check_in_occurrences(s: CooperationState) -> list[Occurrence]:
    stint = s.stint
    if s.closed or s.paused or not stint.segments:
        return []
    found: list[Occurrence] = []
    best: datetime | None = None
    last_first = stint.segments[-1].first_period
    k = stint.clock_from
    for _ in range(SCAN_LIMIT):
        # `reminder_of` and `overdue_of`, their segment looked up once (asked at every wakeup).
        segment = segment_of(stint, k)
        due = add(segment.anchor, segment.cadence, k - segment.first_period + 1)
        reminder = subtract(due, segment.reminder_before)
        # Within the last segment reminders only move later: nothing further can be earlier.
        if best is not None and k >= last_first and reminder > best:
            break
        mark = stint.periods.get(k, _BLANK)
        if not (mark.void or mark.check_in):
            if not mark.reminder_done and reminder >= segment.anchor:
                found.append(Occurrence(reminder, (k, 0), _reminder(k)))
                best = reminder if best is None else min(best, reminder)
            if not mark.overdue_done:
                overdue = add(due, segment.grace)
                found.append(Occurrence(overdue, (k, 1), _overdue(k)))
                best = overdue if best is None else min(best, overdue)
        k += 1
    return found


def _reminder(period: int) -> Callable[[Context], None]:
    return _notice(period, overdue=False)


def _overdue(period: int) -> Callable[[Context], None]:
    return _notice(period, overdue=True)


def _notice(period: int, overdue: bool) -> Callable[[Context], None]:
    """A period's reminder (to the collective) or overdue (to the facilitator): marked done,
    recorded at its instant with the period's due date."""

    def apply(ctx: Context) -> None:
        s = ctx.state
        stint = s.stint
        mark = _mark(stint, period)
        about: EventType
        if overdue:
            mark.overdue_done = True
            about, at = "CheckInOverdue", overdue_of(stint, period)
        else:
            mark.reminder_done = True
            about, at = "CheckInReminderSent", reminder_of(stint, period)
        seq = ctx.emit(
            about,
            at,
            stint=stint.number,
            phase=stint.phase.value,
            period=period,
            due=instant(due_of(stint, period)),
        )
        if overdue:
            ctx.notify("facilitator", s.facilitator, about, seq)
        else:
            ctx.notify("collective", s.id, about, seq)
        _advance_clock_cursor(stint)

    return apply


# ---------------------------------------------------------------------------------------
# Submit and review


def submit_check_in(ctx: Context, cmd: c.SubmitCheckIn, now: datetime) -> None:
    s = ctx.state
    require_open(s, "submit a check-in")
    stint = s.stint
    if not stint.segments:
        raise Conflict(
            f"no check-ins are scheduled in {s.phase}: no active funding line's programme "
            "defines this phase"
        )
    if s.check_in(cmd.check_in_id) is not None:
        raise InvalidInput(f"check-in id {cmd.check_in_id!r} is already used", "check_in_id")
    if cmd.period is not None:
        period = cmd.period
        # A period far ahead is not begun: said before its due date is even computed.
        if period > period_at(stint, now) or not has_begun(stint, period, now):
            raise InvalidInput(f"period {period} of this stint has not begun", "period")
        if stint.periods.get(period, _BLANK).void:
            raise InvalidInput(f"period {period} fell in a pause: it is void", "period")
    else:
        period = _period_for(stint, now)
    mark = _mark(stint, period)
    replaced = s.check_in(mark.check_in) if mark.check_in else None
    if replaced is not None and replaced.status != "submitted":
        raise Conflict(
            f"period {period} already holds a reviewed check-in ({replaced.id}, {replaced.status})"
        )
    if replaced is not None:
        # A replaced check-in leaves the state: no rule counts, reviews or shows it again
        # (it stays in PostgreSQL, replaced_by its successor).
        s.check_ins = [ci for ci in s.check_ins if ci.id != replaced.id]
    s.check_ins.append(
        CheckIn(id=cmd.check_in_id, stint=stint.number, period=period, submitted_at=now)
    )
    mark.check_in = cmd.check_in_id
    # A period with its check-in in has nothing left on the clock: the cursor passes it now,
    # so the clock does not scan a stint's whole past at every wakeup (no decision changes).
    _advance_clock_cursor(stint)
    seq = ctx.emit(
        "CheckInSubmitted",
        now,
        check_in=cmd.check_in_id,
        stint=stint.number,
        phase=stint.phase.value,
        period=period,
        replaces=replaced.id if replaced is not None else None,
        indicators=dict(cmd.indicators) or None,
    )
    ctx.notify("facilitator", s.facilitator, "CheckInSubmitted", seq)


def _period_for(stint: Stint, now: datetime) -> int:
    """The earliest begun period without a check-in that is not yet overdue, else the
    current one (rule 8)."""
    current = period_at(stint, now)
    for k in range(1, current + 1):
        mark = stint.periods.get(k, _BLANK)
        if mark.void or mark.check_in or mark.overdue_done:
            continue
        if has_begun(stint, k, now) and now <= overdue_of(stint, k):
            return k
    return current


def review_check_in(ctx: Context, cmd: c.ReviewCheckIn, now: datetime) -> None:
    s = ctx.state
    require_open(s, "review a check-in")
    if cmd.check_in_id is not None:
        check_in = s.check_in(cmd.check_in_id)
        if check_in is None:
            raise InvalidInput(
                f"no check-in {cmd.check_in_id!r} to review: unknown, or replaced by a later one",
                "check_in_id",
            )
    elif cmd.period is not None:
        mark = s.stint.periods.get(cmd.period)
        check_in = s.check_in(mark.check_in) if mark is not None and mark.check_in else None
        if check_in is None:
            raise InvalidInput(
                f"no check-in for period {cmd.period} of the current stint", "period"
            )
    else:
        raise InvalidInput("name the check-in to review, or its period", "check_in_id")
    if check_in.status != "submitted":
        raise Conflict(f"check-in {check_in.id!r} is already reviewed ({check_in.status})")
    check_in.status = cmd.decision
    check_in.reviewed_at = now
    ctx.emit(
        "CheckInReviewed",
        now,
        check_in=check_in.id,
        stint=check_in.stint,
        period=check_in.period,
        decision=cmd.decision,
    )
    # Acceptances count for triggers only for periods of the current stint (rule 8).
    if cmd.decision == "accepted" and check_in.stint == s.stint.number:
        release_due(ctx, now)
