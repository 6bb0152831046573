"""Rules 1, 2, 5, 6 and 7: how a cooperation moves through its phases. Registration in the
start phase (rule 1), stints (rule 2), pause and resume (rule 5), pivot (rule 6), restart
(rule 7), advance and close."""

from __future__ import annotations

from datetime import datetime

from domain import commands as c
from domain.cooperation import Member
from domain.errors import Conflict, InvalidInput
from domain.events import instant
from domain.lifecycle.checkins import choose_schedule, reanchor, resume_schedule
from domain.lifecycle.context import Context, Decision, require_not_paused, require_open
from domain.lifecycle.graduation import check_members
from domain.lifecycle.lines import announce_registered_lines, close_line, registered_lines
from domain.lifecycle.overrun import choose_overrun_limit
from domain.lifecycle.releases import release_due, release_unheld
from domain.lifecycle.reports import issue_report
from domain.programme import PHASE_ORDER, Phase
from domain.state import CooperationState, PauseSpan, Stint


def _open_stint(ctx: Context, phase: Phase, at: datetime, number: int) -> None:
    """Rule 2: entering a phase opens a stint with fresh counters."""
    s = ctx.state
    s.phase = phase
    s.stint = Stint(number=number, phase=phase, start=at)
    choose_schedule(s, at)
    choose_overrun_limit(s, at)
    ctx.emit("PhaseEntered", at, phase=phase.value, stint=number)
    release_due(ctx, at)


def register(cmd: c.Register, now: datetime) -> Decision:
    spec = cmd.cooperation
    check_members(cmd.rules_version, [m.legal_form for m in spec.members])
    members = [Member.of(m) for m in spec.members]
    state = CooperationState(
        id=spec.id,
        name=spec.name,
        rules_version=cmd.rules_version,
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
        lines=registered_lines(cmd, members, now),
        last_at=now,
    )
    ctx = Context(state)
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
    announce_registered_lines(ctx, now)
    _open_stint(ctx, spec.start_phase, now, 1)
    return ctx.decision()


def advance(ctx: Context, cmd: c.Advance, now: datetime) -> None:
    s = ctx.state
    require_open(s, "advance")
    require_not_paused(s, "advance")
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


def restart(ctx: Context, cmd: c.Restart, now: datetime) -> None:
    s = ctx.state
    require_open(s, "restart")
    require_not_paused(s, "restart")
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


def pivot(ctx: Context, cmd: c.Pivot, now: datetime) -> None:
    s = ctx.state
    require_open(s, "pivot")
    require_not_paused(s, "pivot")
    # The objectives are in the event only (PostgreSQL): the state keeps no free text.
    seq = ctx.emit(
        "Pivoted", now, phase=s.phase.value, objectives=cmd.objectives, reason=cmd.reason
    )
    for funder in _funders(s):
        ctx.notify("funder", funder, "Pivoted", seq)
    reanchor(s, now)


def pause(ctx: Context, cmd: c.Pause, now: datetime) -> None:
    s = ctx.state
    require_open(s, "pause")
    if s.paused:
        raise Conflict(f"already paused since {instant(s.pauses[-1].start)}")
    s.pauses.append(PauseSpan(start=now))
    ctx.emit("Paused", now, phase=s.phase.value, reason=cmd.reason)


def resume(ctx: Context, cmd: c.Resume, now: datetime) -> None:
    s = ctx.state
    require_open(s, "resume")
    if not s.paused:
        raise Conflict("not paused: nothing to resume")
    pause = s.pauses[-1]
    pause.end = now
    ctx.emit("Resumed", now, phase=s.phase.value, paused_since=instant(pause.start))
    resume_schedule(s, pause, now)
    release_unheld(ctx, now)
    release_due(ctx, now, clock=True)


def close(ctx: Context, cmd: c.Close, now: datetime) -> None:
    s = ctx.state
    require_open(s, "close")
    if s.paused:
        s.pauses[-1].end = now
    active = s.active_lines()
    for line in active:
        close_line(ctx, line, now)
    for line in active:
        issue_report(ctx, line, now, final=True)
        line.report = None
    s.outcome = cmd.outcome
    s.closed_at = now
    ctx.emit("Closed", now, outcome=cmd.outcome.value, phase=s.phase.value)
