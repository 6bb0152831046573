"""The lifecycle rules of DESIGN.md (1–16) as pure functions.

`decide` applies one command at an instant, `tick` applies the clock up to an instant, and
`next_wakeup` says when the clock next has something to do, so a shell needs one timer:
for any t < next_wakeup(state), tick(state, t) records nothing.

Rule 14 (same instant): a shell applies the clock strictly before T
(`tick(state, T, inclusive=False)`; `decide` also does it first, as a safety net), then the
commands at T in their order, then the clock at T (`tick(state, T)`). At one instant the
clock's own occurrences go in a fixed order: check-in reminders and overdues (by period),
releases (by line, then tranche in spec order, then occurrence), phase overrun, loan
installments due, loan reminders, reports (last, so a report includes what happened at its
end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from domain import commands as c
from domain.allocation import split
from domain.cooperation import Member, resolve_line
from domain.durations import add
from domain.effects import (
    Effect,
    FreeCommitment,
    Notify,
    Part,
    PostRepayment,
    Release,
    RenderReport,
    RequestCommitment,
    StartLoan,
)
from domain.errors import Conflict, DomainError, Forbidden, InvalidInput
from domain.events import Event, EventType, instant
from domain.loans import loan_reminders, loan_schedule
from domain.programme import (
    PHASE_ORDER,
    AcceptedCheckIns,
    Elapsed,
    Phase,
    PhaseSpec,
    ProgrammeVersion,
    TrancheSpec,
)
from domain.state import (
    DEFAULT_REPORT_EVERY,
    Approval,
    CheckIn,
    CooperationState,
    Line,
    Loan,
    LoanInstallment,
    PauseSpan,
    PeriodMark,
    ReleaseRecord,
    ReportClock,
    Segment,
    Stint,
    due_of,
    has_begun,
    overdue_of,
    period_at,
    reminder_of,
    segment_of,
)

__all__ = [
    "Decision",
    "DomainError",
    "commitment_refusal",
    "decide",
    "is_finished",
    "next_wakeup",
    "registration_commitments",
    "tick",
]

# A safety bound on schedule scans: a stint of weekly check-ins over 20 years has ~1000.
_SCAN_LIMIT = 100_000


class Decision(BaseModel):
    state: CooperationState
    events: list[Event]
    effects: list[Effect]


def _money(value: Decimal) -> str:
    return format(value, "f")


def _copy(state: CooperationState) -> CooperationState:
    """A private deep copy. Through JSON: the state round-trips exactly (it travels through
    history that way), and pydantic's own serialiser is several times faster than
    `copy.deepcopy` on a state of some years (a decision copies the state once)."""
    return CooperationState.model_validate_json(state.model_dump_json())


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is a naive datetime: the rules need an aware UTC instant")
    return moment.astimezone(UTC)


class _Context:
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


# ---------------------------------------------------------------------------------------
# Time arithmetic shared by the clock and the commands


def _after_pauses(state: CooperationState, since: datetime, target: datetime) -> datetime | None:
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


def _phase_spec(line: Line, phase: Phase) -> PhaseSpec | None:
    return line.programme.spec.phase(phase)


def _cadence_choice(state: CooperationState, phase: Phase) -> tuple[Line, PhaseSpec] | None:
    """The shortest check-in cadence among the active lines for `phase`, compared as
    stint start + cadence; on a tie the earlier line's (rule 8).

    Always from the stint start, also when a pivot or a resume chooses again: P1M and P30D
    compare differently from 31 January and from 1 March, and rule 8 names the stint start.
    """
    best: tuple[datetime, Line, PhaseSpec] | None = None
    for line in state.active_lines():
        spec = _phase_spec(line, phase)
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


def _overrun_choice(state: CooperationState, phase: Phase, at: datetime) -> str | None:
    """The shortest `max_duration` among the active lines' programmes for `phase` (rule 16)."""
    best: tuple[datetime, str] | None = None
    for line in state.active_lines():
        spec = _phase_spec(line, phase)
        if spec is None or spec.max_duration is None:
            continue
        end = add(at, spec.max_duration)
        if best is None or end < best[0]:
            best = (end, spec.max_duration)
    return None if best is None else best[1]


def _choose_limits(state: CooperationState, at: datetime) -> None:
    """Give a stint without a check-in schedule (no active line defined its phase) the one
    its lines now call for, anchored at `at`; same for the overrun limit."""
    stint = state.stint
    # While paused the schedule waits for the resume, which anchors it (rule 5: attachments
    # given while paused take effect at resume); anchored now, its first periods would fall
    # in the pause and be void.
    if not stint.segments and not state.paused:
        choice = _cadence_choice(state, stint.phase)
        if choice is not None:
            stint.segments = [_segment(at, 1, *choice)]
    if stint.overrun_limit is None and not stint.overran:
        limit = _overrun_choice(state, stint.phase, stint.start)
        if limit is not None:
            stint.overrun_limit = limit
            stint.overrun_from = at


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
    for _ in range(_SCAN_LIMIT):
        if not _settled(stint, stint.clock_from):
            return
        stint.clock_from += 1


def _reanchor(state: CooperationState, at: datetime) -> None:
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
        for _ in range(_SCAN_LIMIT):
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


# ---------------------------------------------------------------------------------------
# Releases (rules 3, 4, 9, 10, 11)


def _release_key(state: CooperationState, line: Line, tranche: str, occurrence: int | None) -> str:
    key = f"{state.id}:{line.id}:{tranche}"
    return f"{key}:{occurrence}" if occurrence is not None else key


def _on(day: date, like: datetime) -> datetime:
    """A loan date at the time of day of its disbursement."""
    return datetime.combine(day, time(like.hour, like.minute, like.second, like.microsecond), UTC)


def _release(
    ctx: _Context,
    line: Line,
    phase: Phase,
    tranche: TrancheSpec,
    occurrence: int | None,
    at: datetime,
) -> None:
    s = ctx.state
    terms = tranche.loan
    kind: Literal["release", "loan"] = "loan" if terms is not None else "release"
    parts = [
        Part(payee=payee, amount=part) for payee, part in split(tranche.amount, line.allocation)
    ]
    line.releases.append(
        ReleaseRecord(
            tranche=tranche.id, occurrence=occurrence, amount=tranche.amount, at=at, kind=kind
        )
    )
    key = _release_key(s, line, tranche.id, occurrence)
    ctx.emit(
        "TrancheReleased",
        at,
        line=line.id,
        programme=line.programme.spec.id,
        tranche=tranche.id,
        occurrence=occurrence,
        phase=phase.value,
        purpose=tranche.purpose.value,
        kind=kind,
        amount=_money(tranche.amount),
        currency=line.currency,
        parts=[{"payee": p.payee, "amount": _money(p.amount)} for p in parts],
    )
    ctx.effects.append(
        Release(
            line=line.id,
            programme=line.programme.spec.id,
            tranche=tranche.id,
            occurrence=occurrence,
            purpose=tranche.purpose,
            kind=kind,
            amount=tranche.amount,
            currency=line.currency,
            parts=parts,
            beneficiary=s.id,
            at=at,
            key=key,
        )
    )
    if terms is not None:
        schedule = loan_schedule(tranche.amount, terms, at.date())
        reminders = dict(loan_reminders(schedule, terms))
        installments = []
        for item in schedule:
            reminder = _on(reminders[item.number], at)
            installments.append(
                LoanInstallment(
                    number=item.number,
                    due=item.due,
                    due_at=_on(item.due, at),
                    principal=item.principal,
                    interest=item.interest,
                    # A reminder that would precede the loan itself is skipped.
                    reminder_at=reminder if reminder >= at else None,
                )
            )
        line.loans.append(
            Loan(
                tranche=tranche.id,
                principal=tranche.amount,
                terms=terms,
                disbursed_at=at,
                installments=installments,
            )
        )
        ctx.effects.append(
            StartLoan(
                line=line.id,
                tranche=tranche.id,
                principal=tranche.amount,
                terms=terms,
                disbursed=at.date(),
                key=key,
            )
        )


def _accepted_since_attachment(state: CooperationState, line: Line) -> int:
    """Accepted check-ins of the current stint's periods, accepted since the line's
    attachment (rule 3)."""
    attached = line.attached_at
    assert attached is not None
    return sum(
        1
        for ci in state.check_ins
        if ci.stint == state.stint.number
        and ci.status == "accepted"
        and ci.replaced_by is None
        and ci.reviewed_at is not None
        and ci.reviewed_at >= attached
    )


def _elapsed_at(state: CooperationState, line: Line, trigger: Elapsed) -> datetime | None:
    assert line.attached_at is not None
    since = max(state.stint.start, line.attached_at)
    return _after_pauses(state, since, add(since, trigger.elapsed))


def _triggered(
    state: CooperationState, line: Line, tranche: TrancheSpec, at: datetime, clock: bool
) -> bool:
    when = tranche.when
    if when == "entry":
        return True
    if when == "approval":
        return any(
            a.tranche == tranche.id and a.stint == state.stint.number for a in line.approvals
        )
    if isinstance(when, AcceptedCheckIns):
        return _accepted_since_attachment(state, line) >= when.accepted_check_ins
    if clock:
        fire = _elapsed_at(state, line, when)
        return fire is not None and fire <= at
    return False


def _release_due(ctx: _Context, at: datetime, clock: bool = False) -> None:
    """Release what the commands made due, in the order of lines then tranches (rule 3).

    Time-based releases (elapsed, repeats) belong to the clock, which comes after the
    commands of an instant; only a resume (`clock=True`) releases those it held.
    """
    s = ctx.state
    if s.closed or s.paused:
        return
    for line in s.active_lines():
        for phase, tranche in line.programme.spec.tranches():
            if (
                phase == s.stint.phase
                and not line.has_released(tranche.id)
                and _triggered(s, line, tranche, at, clock)
            ):
                _release(ctx, line, phase, tranche, None, at)
            if clock and tranche.repeat is not None:
                first = line.first_release(tranche.id)
                if first is None:
                    continue
                for k in range(line.repeats_released(tranche.id) + 1, tranche.repeat.times + 1):
                    if add(first.at, tranche.repeat.every, k) > at:
                        break
                    _release(ctx, line, phase, tranche, k, at)


# ---------------------------------------------------------------------------------------
# The clock


@dataclass(frozen=True)
class _Occurrence:
    at: datetime
    rank: tuple[int, ...]
    apply: Callable[[_Context], None]


def _check_in_occurrences(s: CooperationState) -> list[_Occurrence]:
    stint = s.stint
    if s.closed or s.paused or not stint.segments:
        return []
    found: list[_Occurrence] = []
    best: datetime | None = None
    last_first = stint.segments[-1].first_period
    k = stint.clock_from
    for _ in range(_SCAN_LIMIT):
        reminder = reminder_of(stint, k)
        # Within the last segment reminders only move later: nothing further can be earlier.
        if best is not None and k >= last_first and reminder > best:
            break
        mark = stint.periods.get(k, PeriodMark())
        if not (mark.void or mark.check_in):
            if not mark.reminder_done and reminder >= segment_of(stint, k).anchor:
                found.append(_Occurrence(reminder, (0, k, 0), _reminder(k)))
                best = reminder if best is None else min(best, reminder)
            if not mark.overdue_done:
                overdue = overdue_of(stint, k)
                found.append(_Occurrence(overdue, (0, k, 1), _overdue(k)))
                best = overdue if best is None else min(best, overdue)
        k += 1
    return found


def _reminder(period: int) -> Callable[[_Context], None]:
    def apply(ctx: _Context) -> None:
        s = ctx.state
        stint = s.stint
        _mark(stint, period).reminder_done = True
        due = due_of(stint, period)
        seq = ctx.emit(
            "CheckInReminderSent",
            reminder_of(stint, period),
            stint=stint.number,
            phase=stint.phase.value,
            period=period,
            due=instant(due),
        )
        ctx.notify("collective", s.id, "CheckInReminderSent", seq)
        _advance_clock_cursor(stint)

    return apply


def _overdue(period: int) -> Callable[[_Context], None]:
    def apply(ctx: _Context) -> None:
        s = ctx.state
        stint = s.stint
        _mark(stint, period).overdue_done = True
        seq = ctx.emit(
            "CheckInOverdue",
            overdue_of(stint, period),
            stint=stint.number,
            phase=stint.phase.value,
            period=period,
            due=instant(due_of(stint, period)),
        )
        ctx.notify("facilitator", s.facilitator, "CheckInOverdue", seq)
        _advance_clock_cursor(stint)

    return apply


def _release_occurrences(s: CooperationState) -> list[_Occurrence]:
    if s.closed or s.paused:
        return []
    found: list[_Occurrence] = []
    for i, line in enumerate(s.lines):
        if line.status != "active":
            continue
        for j, (phase, tranche) in enumerate(line.programme.spec.tranches()):
            if (
                phase == s.stint.phase
                and isinstance(tranche.when, Elapsed)
                and not line.has_released(tranche.id)
            ):
                fire = _elapsed_at(s, line, tranche.when)
                if fire is not None:
                    found.append(
                        _Occurrence(fire, (1, i, j, 0), _clock_release(line.id, tranche.id, None))
                    )
            if tranche.repeat is not None:
                first = line.first_release(tranche.id)
                k = line.repeats_released(tranche.id) + 1
                if first is not None and k <= tranche.repeat.times:
                    at = add(first.at, tranche.repeat.every, k)
                    found.append(
                        _Occurrence(at, (1, i, j, k), _clock_release(line.id, tranche.id, k))
                    )
    return found


def _clock_release(
    line_id: str, tranche_id: str, occurrence: int | None
) -> Callable[[_Context], None]:
    def apply(ctx: _Context) -> None:
        s = ctx.state
        line = s.line(line_id)
        assert line is not None
        found = line.tranche(tranche_id)
        assert found is not None
        phase, tranche = found
        if occurrence is None:
            assert isinstance(tranche.when, Elapsed)
            at = _elapsed_at(s, line, tranche.when)
        else:
            first = line.first_release(tranche_id)
            assert first is not None and tranche.repeat is not None
            at = add(first.at, tranche.repeat.every, occurrence)
        assert at is not None
        _release(ctx, line, phase, tranche, occurrence, at)

    return apply


def _overrun_occurrences(s: CooperationState) -> list[_Occurrence]:
    stint = s.stint
    if s.closed or s.paused or stint.overran or stint.overrun_limit is None:
        return []
    at = _after_pauses(s, stint.start, add(stint.start, stint.overrun_limit))
    if at is None:
        return []
    assert stint.overrun_from is not None
    return [_Occurrence(max(at, stint.overrun_from), (2,), _overrun(max(at, stint.overrun_from)))]


def _overrun(at: datetime) -> Callable[[_Context], None]:
    def apply(ctx: _Context) -> None:
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


def _loan_occurrences(s: CooperationState) -> list[_Occurrence]:
    found: list[_Occurrence] = []
    for i, line in enumerate(s.lines):
        for j, loan in enumerate(line.loans):
            due = next((x for x in loan.installments if not x.due_done), None)
            if due is not None:
                found.append(
                    _Occurrence(
                        due.due_at, (3, i, j, due.number), _loan_due(line.id, j, due.number)
                    )
                )
            for item in loan.installments:
                if item.reminder_done or item.reminder_at is None or item.repaid:
                    continue
                found.append(
                    _Occurrence(
                        item.reminder_at,
                        (4, i, j, item.number),
                        _loan_reminder(line.id, j, item.number),
                    )
                )
                break
    return found


def _installment(
    s: CooperationState, line_id: str, loan: int, number: int
) -> tuple[Line, Loan, LoanInstallment]:
    line = s.line(line_id)
    assert line is not None
    item = line.loans[loan].installments[number - 1]
    return line, line.loans[loan], item


def _loan_data(line: Line, loan: Loan, item: LoanInstallment) -> dict[str, Any]:
    return {
        "line": line.id,
        "tranche": loan.tranche,
        "installment": item.number,
        "due": item.due.isoformat(),
        "principal": _money(item.principal),
        "interest": _money(item.interest),
        "paid": _money(item.paid),
        "currency": line.currency,
    }


def _loan_due(line_id: str, loan: int, number: int) -> Callable[[_Context], None]:
    def apply(ctx: _Context) -> None:
        line, the_loan, item = _installment(ctx.state, line_id, loan, number)
        item.due_done = True
        ctx.emit("LoanInstallmentDue", item.due_at, **_loan_data(line, the_loan, item))

    return apply


def _loan_reminder(line_id: str, loan: int, number: int) -> Callable[[_Context], None]:
    def apply(ctx: _Context) -> None:
        line, the_loan, item = _installment(ctx.state, line_id, loan, number)
        item.reminder_done = True
        assert item.reminder_at is not None
        seq = ctx.emit(
            "LoanInstallmentReminderSent", item.reminder_at, **_loan_data(line, the_loan, item)
        )
        ctx.notify("collective", ctx.state.id, "LoanInstallmentReminderSent", seq)

    return apply


def _report_every(line: Line, phase: Phase) -> str:
    spec = _phase_spec(line, phase)
    return spec.report_every if spec is not None else DEFAULT_REPORT_EVERY


def _report_occurrences(s: CooperationState) -> list[_Occurrence]:
    if s.closed:
        return []
    return [
        _Occurrence(line.report.end, (5, i), _report(line.id))
        for i, line in enumerate(s.lines)
        if line.status == "active" and line.report is not None
    ]


def _issue_report(ctx: _Context, line: Line, end: datetime, final: bool) -> None:
    clock = line.report
    assert clock is not None
    seq = ctx.emit(
        "ReportIssued",
        end,
        line=line.id,
        programme=line.programme.spec.id,
        period=clock.next_period,
        start=instant(clock.start),
        end=instant(end),
        final=final,
        locale=line.programme.spec.locale.value,
    )
    ctx.effects.append(
        RenderReport(
            line=line.id,
            programme=line.programme.spec.id,
            period=clock.next_period,
            start=clock.start,
            to=end,
            final=final,
            seq=seq,
        )
    )


def _report(line_id: str) -> Callable[[_Context], None]:
    def apply(ctx: _Context) -> None:
        s = ctx.state
        line = s.line(line_id)
        assert line is not None and line.report is not None
        clock = line.report
        end = clock.end
        _issue_report(ctx, line, end, final=False)
        # The next period lasts the report_every in force now, when it starts (rule 12).
        cadence = _report_every(line, s.phase)
        if cadence == clock.cadence:
            clock.index += 1
        else:
            clock.anchor, clock.cadence, clock.index = end, cadence, 0
        clock.start = end
        clock.next_period += 1

    return apply


def _occurrences(s: CooperationState) -> list[_Occurrence]:
    return [
        *_check_in_occurrences(s),
        *_release_occurrences(s),
        *_overrun_occurrences(s),
        *_loan_occurrences(s),
        *_report_occurrences(s),
    ]


def _earliest(s: CooperationState) -> _Occurrence | None:
    found = _occurrences(s)
    return min(found, key=lambda o: (o.at, o.rank)) if found else None


def next_wakeup(state: CooperationState) -> datetime | None:
    """The earliest instant the clock has something to do; None when nothing is scheduled."""
    first = _earliest(state)
    return first.at if first is not None else None


def _run_clock(ctx: _Context, until: datetime, inclusive: bool) -> None:
    for _ in range(_SCAN_LIMIT):
        first = _earliest(ctx.state)
        if first is None or first.at > until or (first.at == until and not inclusive):
            return
        first.apply(ctx)
        ctx.state.last_at = max(ctx.state.last_at, first.at)
    raise AssertionError("the clock does not settle")


def tick(state: CooperationState, now: datetime, inclusive: bool = True) -> Decision:
    """Apply every clock occurrence dated up to `now` (strictly before it when not
    `inclusive`), in chronological order, each event dated at its rule's instant."""
    ctx = _Context(_copy(state))
    _run_clock(ctx, _utc(now), inclusive)
    return ctx.decision()


def is_finished(state: CooperationState) -> bool:
    """Closed, with every loan's last installment fallen due (rule 11): the workflow may end.

    Repayments after that are recorded in Postgres by the shell, not in the workflow.
    """
    return state.closed and all(loan.settled for line in state.lines for loan in line.loans)


# ---------------------------------------------------------------------------------------
# Commands


def _open_stint(ctx: _Context, phase: Phase, at: datetime, number: int) -> None:
    """Rule 2: entering a phase opens a stint with fresh counters."""
    s = ctx.state
    s.phase = phase
    s.stint = Stint(number=number, phase=phase, start=at)
    _choose_limits(s, at)
    ctx.emit("PhaseEntered", at, phase=phase.value, stint=number)
    _release_due(ctx, at)


def _attach(line: Line, at: datetime, phase: Phase) -> None:
    line.status = "active"
    line.awaiting_commitment = False
    line.attached_at = at
    line.committed = line.programme.spec.potential
    cadence = _report_every(line, phase)
    line.report = ReportClock(start=at, anchor=at, cadence=cadence)


def _line_data(line: Line) -> dict[str, Any]:
    spec = line.programme.spec
    return {
        "line": line.id,
        "programme": spec.id,
        "version": line.programme.version,
        "funder": spec.funder,
        "amount": _money(spec.potential),
        "currency": spec.currency,
        "allocation": [{"payee": a.payee, "share": _money(a.share)} for a in line.allocation],
        "angle": line.angle.model_dump() if line.angle is not None else None,
    }


def _register(cmd: c.Register, now: datetime) -> Decision:
    spec = cmd.cooperation
    versions = {v.spec.id: v for v in cmd.programmes}
    members = [Member.of(m) for m in spec.members]
    lines: list[Line] = []
    for i, request in enumerate(spec.funding_lines):
        version = versions.get(request.programme)
        if version is None:
            raise InvalidInput(
                f"programme {request.programme!r} is unknown", f"funding_lines[{i}].programme"
            )
        allocation = resolve_line(
            request, version.spec, members, spec.fiscal_host, spec.lead, f"funding_lines[{i}]."
        )
        line = Line(
            id=request.programme,
            programme=version,
            status="proposed",
            proposed_at=now,
            allocation=allocation,
            angle=request.angle,
        )
        if cmd.lines_accepted:
            _attach(line, now, spec.start_phase)
        lines.append(line)
    state = CooperationState(
        id=spec.id,
        kind=spec.kind,
        model=spec.model,
        economic_model=spec.economic_model,
        members=members,
        lead=spec.lead,
        fiscal_host=spec.fiscal_host,
        facilitator=spec.facilitator,
        registered_at=now,
        phase=spec.start_phase,
        stint=Stint(number=0, phase=spec.start_phase, start=now),
        lines=lines,
        last_at=now,
    )
    ctx = _Context(state)
    ctx.emit(
        "CooperationRegistered",
        now,
        cooperation=spec.id,
        kind=spec.kind.value,
        economic_model=spec.economic_model.value,
        members=[m.model_dump() for m in members],
        lead=spec.lead,
        fiscal_host=spec.fiscal_host,
        facilitator=spec.facilitator,
        start_phase=spec.start_phase.value,
    )
    for line in lines:
        if line.status == "active":
            ctx.emit("FundingLineAttached", now, **_line_data(line))
        else:
            seq = ctx.emit("FundingLineProposed", now, **_line_data(line))
            ctx.notify("funder", line.funder, "FundingLineProposed", seq)
    _open_stint(ctx, spec.start_phase, now, 1)
    return ctx.decision()


def _open(s: CooperationState, action: str) -> None:
    if s.closed:
        raise Conflict(f"cannot {action}: the cooperation is closed ({s.outcome})")


def _not_paused(s: CooperationState, action: str) -> None:
    if s.paused:
        raise Conflict(
            f"cannot {action} while paused: resume first, so the record shows when the pause ended"
        )


def _known_line(s: CooperationState, line_id: str, field: str = "line") -> Line:
    line = s.line(line_id)
    if line is None:
        known = ", ".join(x.id for x in s.lines) or "none"
        raise InvalidInput(f"no funding line {line_id!r} (lines: {known})", field)
    return line


def _propose_line(ctx: _Context, cmd: c.ProposeLine, now: datetime) -> None:
    s = ctx.state
    _open(s, "propose a funding line")
    request, version = cmd.line, cmd.programme
    if request.programme != version.spec.id:
        raise InvalidInput(
            f"the programme given ({version.spec.id}) is not the one asked ({request.programme})",
            "programme",
        )
    existing = s.line(request.programme)
    if existing is not None and existing.status != "declined":
        raise Conflict(f"the cooperation already has a {existing.status} line for {existing.id!r}")
    allocation = resolve_line(request, version.spec, s.members, s.fiscal_host, s.lead)
    s.lines = [x for x in s.lines if x.id != request.programme]
    line = Line(
        id=request.programme,
        programme=version,
        status="proposed",
        proposed_at=now,
        allocation=allocation,
        angle=request.angle,
    )
    s.lines.append(line)
    seq = ctx.emit("FundingLineProposed", now, **_line_data(line))
    ctx.notify("funder", line.funder, "FundingLineProposed", seq)


def _proposed(s: CooperationState, line_id: str, action: str) -> Line:
    line = _known_line(s, line_id)
    if line.status != "proposed":
        raise Conflict(f"cannot {action} line {line_id!r}: it is {line.status}")
    if line.awaiting_commitment:
        raise Conflict(f"cannot {action} line {line_id!r}: its commitment is being made")
    return line


def _commitment(
    cooperation_id: str, line_id: str, programme: ProgrammeVersion
) -> RequestCommitment:
    """Rule 9: a line commits its programme version's whole potential."""
    spec = programme.spec
    return RequestCommitment(
        line=line_id,
        programme=spec.id,
        version=programme.version,
        amount=spec.potential,
        currency=spec.currency,
        cap=spec.cap_per_cooperation,
        key=f"{cooperation_id}:{line_id}:commitment",
    )


def commitment_refusal(
    remaining: Decimal, already: Decimal, needed: Decimal, cap: Decimal | None
) -> Literal["budget", "cap"] | None:
    """Rule 9: what keeps a commitment of `needed` from being made, if anything: the
    programme's remaining budget, or its cap per cooperation (`already` committed there)."""
    if needed > remaining:
        return "budget"
    if cap is not None and already + needed > cap:
        return "cap"
    return None


def registration_commitments(register: c.Register) -> list[RequestCommitment]:
    """What a registration whose lines are taken as accepted (a scenario's, rule 15) must
    commit before it is recorded: each line's whole potential (rule 9)."""
    if not register.lines_accepted:
        return []
    versions = {p.spec.id: p for p in register.programmes}
    return [
        _commitment(register.cooperation.id, line.programme, versions[line.programme])
        for line in register.cooperation.funding_lines
    ]


def _accept_line(ctx: _Context, cmd: c.AcceptLine, now: datetime) -> None:
    s = ctx.state
    _open(s, "accept a funding line")
    line = _proposed(s, cmd.line, "accept")
    line.awaiting_commitment = True
    ctx.effects.append(_commitment(s.id, line.id, line.programme))


def _awaiting(s: CooperationState, line_id: str) -> Line:
    line = _known_line(s, line_id)
    if not line.awaiting_commitment:
        raise Conflict(f"line {line_id!r} is not waiting for a commitment")
    return line


def _commitment_committed(ctx: _Context, cmd: c.CommitmentCommitted, now: datetime) -> None:
    s = ctx.state
    line = _awaiting(s, cmd.line)
    spec = line.programme.spec
    if s.closed:
        # Closed while the budget was being committed: give it straight back.
        line.awaiting_commitment = False
        ctx.effects.append(
            FreeCommitment(
                line=line.id,
                programme=spec.id,
                amount=spec.potential,
                currency=spec.currency,
                key=f"{s.id}:{line.id}:commitment:free",
            )
        )
        return
    _attach(line, now, s.phase)
    ctx.emit("FundingLineAttached", now, **_line_data(line))
    _choose_limits(s, now)
    _release_due(ctx, now)


def _commitment_refused(ctx: _Context, cmd: c.CommitmentRefused, now: datetime) -> None:
    # Nothing was committed and nothing changes but the wait: the shell answers 409 with
    # what remains and what is needed, and the funder may accept again.
    _awaiting(ctx.state, cmd.line).awaiting_commitment = False


def _decline_line(ctx: _Context, cmd: c.DeclineLine, now: datetime) -> None:
    s = ctx.state
    _open(s, "decline a funding line")
    line = _proposed(s, cmd.line, "decline")
    line.status = "declined"
    line.declined_at = now
    ctx.emit(
        "FundingLineDeclined", now, line=line.id, programme=line.programme.spec.id, note=cmd.note
    )


def _advance(ctx: _Context, cmd: c.Advance, now: datetime) -> None:
    s = ctx.state
    _open(s, "advance")
    _not_paused(s, "advance")
    if cmd.to is None:
        if s.phase == PHASE_ORDER[-1]:
            raise Conflict(f"{s.phase} is the last phase: close the cooperation instead")
        to = PHASE_ORDER[s.phase.rank + 1]
    else:
        to = cmd.to
        if to.rank <= s.phase.rank:
            raise InvalidInput(
                f"advance goes forward, from {s.phase} to a later phase, not to {to} "
                "(going back is a restart)",
                "to",
            )
    _open_stint(ctx, to, now, s.stint.number + 1)


def _restart(ctx: _Context, cmd: c.Restart, now: datetime) -> None:
    s = ctx.state
    _open(s, "restart")
    _not_paused(s, "restart")
    to = cmd.to or Phase.emergence
    if to.rank > s.phase.rank:
        raise InvalidInput(
            f"restart goes back to an earlier phase or the start of {s.phase}, not forward to "
            f"{to}: that is an advance",
            "to",
        )
    seq = ctx.emit("Restarted", now, **{"from": s.phase.value, "to": to.value}, reason=cmd.reason)
    for funder in _funders(s):
        ctx.notify("funder", funder, "Restarted", seq)
    _open_stint(ctx, to, now, s.stint.number + 1)


def _funders(s: CooperationState) -> list[str]:
    funders: list[str] = []
    for line in s.lines:
        if line.status != "declined" and line.funder not in funders:
            funders.append(line.funder)
    return funders


def _pivot(ctx: _Context, cmd: c.Pivot, now: datetime) -> None:
    s = ctx.state
    _open(s, "pivot")
    _not_paused(s, "pivot")
    s.objectives = cmd.objectives
    seq = ctx.emit(
        "Pivoted", now, phase=s.phase.value, objectives=cmd.objectives, reason=cmd.reason
    )
    for funder in _funders(s):
        ctx.notify("funder", funder, "Pivoted", seq)
    _reanchor(s, now)


def _pause(ctx: _Context, cmd: c.Pause, now: datetime) -> None:
    s = ctx.state
    _open(s, "pause")
    if s.paused:
        raise Conflict(f"already paused since {instant(s.pauses[-1].start)}")
    s.pauses.append(PauseSpan(start=now))
    ctx.emit("Paused", now, phase=s.phase.value, reason=cmd.reason)


def _resume(ctx: _Context, cmd: c.Resume, now: datetime) -> None:
    s = ctx.state
    _open(s, "resume")
    if not s.paused:
        raise Conflict("not paused: nothing to resume")
    pause = s.pauses[-1]
    pause.end = now
    ctx.emit("Resumed", now, phase=s.phase.value, paused_since=instant(pause.start))
    stint = s.stint
    if stint.segments:
        # Nothing of the check-in clock fires for what fell in the pause: periods due in
        # [pause, resume) are void, and the pause swallows the reminders and overdues of
        # earlier periods that fell in it, including periods of an earlier segment (before a
        # pivot) whose overdue is still on the clock.
        k = min(stint.clock_from, stint.segments[-1].first_period)
        for _ in range(_SCAN_LIMIT):
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
    _reanchor(s, now)
    _release_due(ctx, now, clock=True)


def _close(ctx: _Context, cmd: c.Close, now: datetime) -> None:
    s = ctx.state
    _open(s, "close")
    if s.paused:
        s.pauses[-1].end = now
    active = s.active_lines()
    for line in active:
        left = line.committed - line.released
        line.closed = True
        if left > 0:
            line.freed = left
            ctx.emit(
                "CommitmentReleased",
                now,
                line=line.id,
                programme=line.programme.spec.id,
                amount=_money(left),
                currency=line.currency,
            )
            ctx.effects.append(
                FreeCommitment(
                    line=line.id,
                    programme=line.programme.spec.id,
                    amount=left,
                    currency=line.currency,
                    key=f"{s.id}:{line.id}:commitment:free",
                )
            )
    for line in active:
        _issue_report(ctx, line, now, final=True)
        line.report = None
    s.outcome = cmd.outcome
    s.closed_at = now
    ctx.emit("Closed", now, outcome=cmd.outcome.value, phase=s.phase.value)


def _submit_check_in(ctx: _Context, cmd: c.SubmitCheckIn, now: datetime) -> None:
    s = ctx.state
    _open(s, "submit a check-in")
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
        if not has_begun(stint, period, now):
            raise InvalidInput(f"period {period} of this stint has not begun", "period")
        if stint.periods.get(period, PeriodMark()).void:
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
        replaced.replaced_by = cmd.check_in_id
    s.check_ins.append(
        CheckIn(id=cmd.check_in_id, stint=stint.number, period=period, submitted_at=now)
    )
    mark.check_in = cmd.check_in_id
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
        mark = stint.periods.get(k, PeriodMark())
        if mark.void or mark.check_in or mark.overdue_done:
            continue
        if has_begun(stint, k, now) and now <= overdue_of(stint, k):
            return k
    return current


def _review_check_in(ctx: _Context, cmd: c.ReviewCheckIn, now: datetime) -> None:
    s = ctx.state
    _open(s, "review a check-in")
    if cmd.check_in_id is not None:
        check_in = s.check_in(cmd.check_in_id)
        if check_in is None:
            raise InvalidInput(f"no check-in {cmd.check_in_id!r}", "check_in_id")
        if check_in.replaced_by is not None:
            raise InvalidInput(
                f"check-in {check_in.id!r} was replaced by {check_in.replaced_by!r}", "check_in_id"
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
    if cmd.decision == "accepted" and check_in.stint == s.stint.number:
        _release_due(ctx, now)


def _approve_tranche(ctx: _Context, cmd: c.ApproveTranche, now: datetime) -> None:
    s = ctx.state
    _open(s, "approve a tranche")
    line = _known_line(s, cmd.line)
    found = line.tranche(cmd.tranche)
    if found is None:
        raise InvalidInput(f"programme {line.id!r} has no tranche {cmd.tranche!r}", "tranche")
    phase, tranche = found
    if tranche.when != "approval":
        raise InvalidInput(
            f"tranche {tranche.id!r} is not released on approval (its trigger is "
            f"{tranche.when if isinstance(tranche.when, str) else tranche.when.model_dump()})",
            "tranche",
        )
    if line.status != "active":
        raise Conflict(f"line {line.id!r} is {line.status}, not active")
    if line.has_released(tranche.id):
        raise Conflict(f"tranche {tranche.id!r} of line {line.id!r} is already released")
    if phase != s.phase:
        raise Conflict(
            f"tranche {tranche.id!r} belongs to {phase}: it is approved while the cooperation is "
            f"in that phase, not in {s.phase}"
        )
    if any(a.tranche == tranche.id and a.stint == s.stint.number for a in line.approvals):
        raise Conflict(f"tranche {tranche.id!r} is already approved, released at resume")
    _check_authority(s, line, tranche, cmd.by)
    line.approvals.append(Approval(tranche=tranche.id, stint=s.stint.number, at=now, by=cmd.by))
    ctx.emit(
        "TrancheApproved",
        now,
        line=line.id,
        tranche=tranche.id,
        by_role=cmd.by.role,
        by=cmd.by.id,
    )
    _release_due(ctx, now)


def _check_authority(s: CooperationState, line: Line, tranche: TrancheSpec, by: c.Actor) -> None:
    """Rule 3: the line's funder may always approve; the facilitator only a grant whose
    payees do not include itself."""
    if by.role == "funder" and by.id == line.funder:
        return
    if by.role == "facilitator" and s.facilitator is not None and by.id == s.facilitator:
        if tranche.loan is not None:
            raise Forbidden(f"tranche {tranche.id!r} is a loan: only the funder approves it", "by")
        if any(share.payee == by.id for share in line.allocation):
            raise Forbidden(
                f"the facilitator {by.id!r} is a payee of line {line.id!r}: only the funder "
                "approves its tranches",
                "by",
            )
        return
    raise Forbidden(
        f"{by.role} {by.id!r} may not approve tranches of line {line.id!r}: its funder "
        f"({line.funder}) or the cooperation's facilitator may",
        "by",
    )


def _record_repayment(ctx: _Context, cmd: c.RecordRepayment, now: datetime) -> None:
    s = ctx.state
    line = _known_line(s, cmd.line)
    found = line.tranche(cmd.tranche)
    if found is None:
        raise InvalidInput(f"programme {line.id!r} has no tranche {cmd.tranche!r}", "tranche")
    _, tranche = found
    if tranche.loan is None:
        raise InvalidInput(f"tranche {tranche.id!r} is a grant, not a loan", "tranche")
    loan = next((x for x in line.loans if x.tranche == tranche.id), None)
    if loan is None:
        raise Conflict(f"loan {tranche.id!r} of line {line.id!r} is not disbursed")
    if cmd.amount <= 0:
        raise InvalidInput("a repayment must be positive", "amount")
    if cmd.amount > loan.outstanding:
        raise InvalidInput(
            f"{_money(cmd.amount)} is more than what is outstanding "
            f"({_money(loan.outstanding)} {line.currency})",
            "amount",
        )
    items = loan.installments
    if cmd.installment is not None and cmd.installment > len(items):
        raise InvalidInput(f"the loan has {len(items)} installments", "installment")
    # Applied from the named installment (else the first not repaid in full) onwards, any
    # excess to the earliest still open: the schedule itself never changes.
    start = (cmd.installment or 1) - 1
    if cmd.installment is None:
        start = next((i for i, x in enumerate(items) if not x.repaid), 0)
    left = cmd.amount
    applied: list[dict[str, Any]] = []
    for item in items[start:] + items[:start]:
        take = min(left, item.total - item.paid)
        if take > 0:
            item.paid += take
            left -= take
            applied.append({"installment": item.number, "amount": _money(take)})
        if left == 0:
            break
    key = f"{s.id}:{line.id}:{tranche.id}:repayment:{s.next_seq}"
    ctx.emit(
        "RepaymentRecorded",
        now,
        line=line.id,
        tranche=tranche.id,
        amount=_money(cmd.amount),
        currency=line.currency,
        installments=applied,
        outstanding=_money(loan.outstanding),
    )
    ctx.effects.append(
        PostRepayment(
            line=line.id,
            programme=line.programme.spec.id,
            tranche=tranche.id,
            purpose=tranche.purpose,
            amount=cmd.amount,
            currency=line.currency,
            payee=line.funder,
            beneficiary=s.id,
            at=now,
            key=key,
        )
    )


def _request_transition(ctx: _Context, cmd: c.RequestTransition, now: datetime) -> None:
    s = ctx.state
    _open(s, "request a transition")
    seq = ctx.emit(
        "TransitionRequested",
        now,
        action=cmd.action,
        to=cmd.to.value if cmd.to is not None else None,
        reason=cmd.reason,
        phase=s.phase.value,
    )
    ctx.notify("facilitator", s.facilitator, "TransitionRequested", seq)


def _member_join(ctx: _Context, cmd: c.MemberJoin, now: datetime) -> None:
    s = ctx.state
    _open(s, "add a member")
    if s.member(cmd.member.id) is not None:
        raise Conflict(f"{cmd.member.id!r} is already a member")
    member = Member.of(cmd.member)
    s.members.append(member)
    ctx.emit("MemberJoined", now, **member.model_dump())


def _member_leave(ctx: _Context, cmd: c.MemberLeave, now: datetime) -> None:
    s = ctx.state
    _open(s, "remove a member")
    if s.member(cmd.member_id) is None:
        raise InvalidInput(f"{cmd.member_id!r} is not a member", "member_id")
    for line in s.lines:
        if line.status != "declined" and any(a.payee == cmd.member_id for a in line.allocation):
            raise Conflict(f"{cmd.member_id!r} is a payee of line {line.id!r}: it cannot leave")
    if cmd.member_id == s.lead:
        raise Conflict(f"{cmd.member_id!r} is the lead: it cannot leave")
    rest = [m for m in s.members if m.id != cmd.member_id]
    if not rest:
        raise Conflict("the last member cannot leave: close the cooperation instead")
    if s.fiscal_host is None and all(m.informal for m in rest):
        raise Conflict(
            f"without {cmd.member_id!r} every member is informal and there is no fiscal host"
        )
    s.members = rest
    ctx.emit("MemberLeft", now, member=cmd.member_id)


_HANDLERS: dict[str, Callable[[_Context, Any, datetime], None]] = {
    "propose_line": _propose_line,
    "accept_line": _accept_line,
    "commitment_committed": _commitment_committed,
    "commitment_refused": _commitment_refused,
    "decline_line": _decline_line,
    "advance": _advance,
    "restart": _restart,
    "pivot": _pivot,
    "pause": _pause,
    "resume": _resume,
    "close": _close,
    "submit_check_in": _submit_check_in,
    "review_check_in": _review_check_in,
    "approve_tranche": _approve_tranche,
    "record_repayment": _record_repayment,
    "request_transition": _request_transition,
    "member_join": _member_join,
    "member_leave": _member_leave,
}


def decide(state: CooperationState | None, command: c.Command, now: datetime) -> Decision:
    """Apply one command at `now`; raise DomainError when the rules refuse it.

    The input state is never changed. Clock occurrences dated strictly before `now` that the
    shell has not applied yet are applied first, so events stay in time order.
    """
    now = _utc(now)
    if isinstance(command, c.Register):
        if state is not None:
            raise Conflict(f"cooperation {state.id!r} is already registered")
        return _register(command, now)
    if state is None:
        raise Conflict("no cooperation is registered yet")
    if now < state.last_at:
        raise InvalidInput(
            f"{instant(now)} is before {instant(state.last_at)}, already recorded: time only "
            "moves forward",
            "at",
        )
    flushed = tick(state, now, inclusive=False)
    ctx = _Context(flushed.state, flushed.events, flushed.effects)
    _HANDLERS[command.kind](ctx, command, now)
    ctx.state.last_at = max(ctx.state.last_at, now)
    return ctx.decision()
