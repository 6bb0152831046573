"""Rules 9 and 15: funding lines and their commitments. A facilitator proposes a line, its
funder accepts it, which commits the line's whole potential (rule 9), or declines it; lines
given at registration by a scenario are taken as accepted. Closing frees what was committed
but not released. Rule 15's other shared powers: transition requests, members joining and
leaving."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain import commands as c
from domain.allocation import Share
from domain.cooperation import LineRequest, Member, resolve_line
from domain.effects import FreeCommitment, RequestCommitment
from domain.errors import Conflict, InvalidInput
from domain.events import Event
from domain.lifecycle.checkins import choose_schedule
from domain.lifecycle.context import Context, known_line, money_text, require_open
from domain.lifecycle.graduation import check_borrower, check_legal_form
from domain.lifecycle.granted import check_grant, grant, line_potential, require_rules
from domain.lifecycle.line_events import emit_on_line, line_keys
from domain.lifecycle.overrun import choose_overrun_limit
from domain.lifecycle.releases import release_due
from domain.lifecycle.reports import report_every
from domain.line_records import ReportClock
from domain.programme import Phase, ProgrammeVersion
from domain.state import CooperationState, Line, TransitionRequestMark


def _attach(line: Line, at: datetime, phase: Phase) -> None:
    line.status = "active"
    line.awaiting_commitment = False
    line.attached_at = at
    line.committed = line_potential(line.programme.spec, line.granted)
    cadence = report_every(line, phase)
    line.report = ReportClock(start=at, anchor=at, cadence=cadence)


def _line_data(line: Line) -> dict[str, Any]:
    spec = line.programme.spec
    return {
        "line": line.id,
        "programme": spec.id,
        "version": line.programme.version,
        "funder": spec.funder,
        # Rule 17: a granted programme's line proposed has no amount until its funder grants.
        "amount": (
            money_text(line_potential(spec, line.granted))
            if not spec.granted or line.granted is not None
            else None
        ),
        # Rule 17: only for a line of a granted programme, so other events stay as they were.
        "granted": money_text(line.granted) if line.granted is not None else None,
        "currency": spec.currency,
        "allocation": [{"payee": a.payee, "share": money_text(a.share)} for a in line.allocation],
        "angle": line.angle.model_dump() if line.angle is not None else None,
    }


def _new_line(
    request: LineRequest, version: ProgrammeVersion, allocation: list[Share], now: datetime
) -> Line:
    return Line(
        id=request.programme,
        programme=version,
        status="proposed",
        proposed_at=now,
        allocation=allocation,
        angle=request.angle,
    )


def registered_lines(cmd: c.Register, members: list[Member], now: datetime) -> list[Line]:
    """The lines a registration brings: proposed, or attached when taken as accepted."""
    spec = cmd.cooperation
    versions = {v.spec.id: v for v in cmd.programmes}
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
        check_borrower(
            cmd.rules_version,
            version.spec,
            allocation,
            spec.fiscal_host,
            f"funding_lines[{i}].allocation",
        )
        line = _new_line(request, version, allocation, now)
        if cmd.lines_accepted:
            check_grant(
                version.spec, request.amount, cmd.rules_version, f"funding_lines[{i}].amount"
            )
            grant(line, request.amount)
            _attach(line, now, spec.start_phase)
        else:
            _no_amount_proposed(request, cmd.rules_version, version, f"funding_lines[{i}].")
        lines.append(line)
    return lines


def _no_amount_proposed(
    request: LineRequest, rules_version: int, version: ProgrammeVersion, field: str = ""
) -> None:
    """Rule 17: a proposal names no amount: the funder grants it when it accepts."""
    require_rules(version.spec, rules_version)
    if request.amount is not None:
        raise InvalidInput(
            "a proposed line names no amount: its funder gives it when accepting the line",
            f"{field}amount",
        )


def announce_registered_lines(ctx: Context, now: datetime) -> None:
    """Per line of a registration: `FundingLineAttached` (taken as accepted) or
    `FundingLineProposed`, its funder notified (rule 14's order)."""
    for line in ctx.state.lines:
        if line.status == "active":
            ctx.emit("FundingLineAttached", now, **_line_data(line))
            line.angle = None
        else:
            seq = ctx.emit("FundingLineProposed", now, **_line_data(line))
            ctx.notify("funder", line.funder, "FundingLineProposed", seq)


def propose_line(ctx: Context, cmd: c.ProposeLine, now: datetime) -> None:
    s = ctx.state
    require_open(s, "propose a funding line")
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
    check_borrower(s.rules_version, version.spec, allocation, s.fiscal_host)
    _no_amount_proposed(request, s.rules_version, version)
    s.lines = [x for x in s.lines if x.id != request.programme]
    line = _new_line(request, version, allocation, now)
    s.lines.append(line)
    seq = ctx.emit("FundingLineProposed", now, **_line_data(line))
    ctx.notify("funder", line.funder, "FundingLineProposed", seq)


def _proposed(s: CooperationState, line_id: str, action: str) -> Line:
    line = known_line(s, line_id)
    if line.status != "proposed":
        raise Conflict(f"cannot {action} line {line_id!r}: it is {line.status}")
    if line.awaiting_commitment:
        raise Conflict(f"cannot {action} line {line_id!r}: its commitment is being made")
    return line


# ---------------------------------------------------------------------------------------
# Commitments (rule 9)


def _commitment(
    cooperation_id: str,
    line_id: str,
    programme: ProgrammeVersion,
    granted: Decimal | None = None,
) -> RequestCommitment:
    """Rule 9: a line commits its programme version's whole potential (rule 17: with the
    amount granted)."""
    spec = programme.spec
    return RequestCommitment(
        line=line_id,
        programme=spec.id,
        version=programme.version,
        amount=line_potential(spec, granted),
        currency=spec.currency,
        cap=spec.cap_per_cooperation,
        key=f"{cooperation_id}:{line_id}:commitment",
    )


def registration_commitments(register: c.Register) -> list[RequestCommitment]:
    """What a registration whose lines are taken as accepted (a scenario's, rule 15) must
    commit before it is recorded: each line's whole potential (rule 9)."""
    if not register.lines_accepted:
        return []
    versions = {p.spec.id: p for p in register.programmes}
    return [
        _commitment(register.cooperation.id, line.programme, versions[line.programme], line.amount)
        for line in register.cooperation.funding_lines
    ]


def _free(ctx: Context, line: Line, amount: Decimal) -> None:
    ctx.effects.append(
        FreeCommitment(
            **line_keys(line),
            amount=amount,
            currency=line.currency,
            key=f"{ctx.state.id}:{line.id}:commitment:free",
        )
    )


def accept_line(ctx: Context, cmd: c.AcceptLine, now: datetime) -> None:
    s = ctx.state
    require_open(s, "accept a funding line")
    line = _proposed(s, cmd.line, "accept")
    check_grant(line.programme.spec, cmd.amount, s.rules_version)
    # Rule 17: the amounts are fixed at acceptance, kept only if the commitment is made.
    grant(line, cmd.amount)
    line.awaiting_commitment = True
    ctx.effects.append(_commitment(s.id, line.id, line.programme, line.granted))


def _awaiting(s: CooperationState, line_id: str) -> Line:
    line = known_line(s, line_id)
    if not line.awaiting_commitment:
        raise Conflict(f"line {line_id!r} is not waiting for a commitment")
    return line


def commitment_committed(ctx: Context, cmd: c.CommitmentCommitted, now: datetime) -> None:
    s = ctx.state
    line = _awaiting(s, cmd.line)
    if s.closed:
        # Closed while the budget was being committed: give it straight back.
        line.awaiting_commitment = False
        _free(ctx, line, line_potential(line.programme.spec, line.granted))
        return
    _attach(line, now, s.phase)
    ctx.emit("FundingLineAttached", now, **_line_data(line))
    # Its events carry the angle (reports read it there): no rule reads it any more.
    line.angle = None
    # A stint no line's programme gave a schedule or a limit until now gets them here.
    choose_schedule(s, now)
    choose_overrun_limit(s, now)
    release_due(ctx, now)


def commitment_refused(ctx: Context, cmd: c.CommitmentRefused, now: datetime) -> None:
    # Nothing was committed and nothing changes but the wait: the shell answers 409 with
    # what remains and what is needed, and the funder may accept again.
    line = _awaiting(ctx.state, cmd.line)
    line.awaiting_commitment = False
    grant(line, None)


def decline_line(ctx: Context, cmd: c.DeclineLine, now: datetime) -> None:
    s = ctx.state
    require_open(s, "decline a funding line")
    line = _proposed(s, cmd.line, "decline")
    line.status = "declined"
    line.declined_at = now
    line.angle = None
    emit_on_line(ctx, "FundingLineDeclined", now, line, note=cmd.note)


def close_line(ctx: Context, line: Line, now: datetime) -> None:
    """At the close: nothing more is released, and what was committed but not released is
    freed (`CommitmentReleased`, rule 9)."""
    left = line.committed - line.released
    line.closed = True
    if left > 0:
        line.freed = left
        emit_on_line(
            ctx,
            "CommitmentReleased",
            now,
            line,
            amount=money_text(left),
            currency=line.currency,
        )
        _free(ctx, line, left)


# ---------------------------------------------------------------------------------------
# Rule 15: requests and members


def request_transition(ctx: Context, cmd: c.RequestTransition, now: datetime) -> None:
    """Rule 15: a collective asks, the facilitator decides (acts, or declines). Rules 3: at
    most one open request per action, so that nobody can flood a cooperation."""
    s = ctx.state
    require_open(s, "request a transition")
    if s.rules_version >= 3:
        already = next((r for r in s.requests if r.action == cmd.action), None)
        if already is not None:
            raise Conflict(
                f"a {cmd.action} request is already open: transition request {already.seq}"
                " (the facilitator answers it by acting, or declines it)",
                "action",
            )
    seq = ctx.emit(
        "TransitionRequested",
        now,
        action=cmd.action,
        to=cmd.to.value if cmd.to is not None else None,
        reason=cmd.reason,
        phase=s.phase.value,
    )
    # The reason stays in the event (PostgreSQL): the state keeps no free text.
    s.requests.append(TransitionRequestMark(seq=seq, action=cmd.action, to=cmd.to, at=now))
    ctx.notify("facilitator", s.facilitator, "TransitionRequested", seq)


TRANSITIONS = frozenset(c.MOVES)


def answer_requests(s: CooperationState, action: str, now: datetime) -> None:
    """A transition of the requested action answers the open requests for it: they leave the
    state (`answered_by` says which event answered them, for the read model)."""
    s.requests = [r for r in s.requests if r.action != action]


_MOVE_EVENTS: dict[str, str] = {
    "Restarted": "restart",
    "Pivoted": "pivot",
    "Paused": "pause",
    "Resumed": "resume",
    "Closed": "close",
}


def answered_by(events: Sequence[Event]) -> list[tuple[Event, str]]:
    """The transitions among `events` (one or more whole decisions, in order), each with the
    action whose requests open before it it answered (`answer_requests`): a move is recorded
    by its own event, an advance by the `PhaseEntered` of the stint it opens (a restart's
    follows its `Restarted`, a registration's opens stint 1)."""
    found: list[tuple[Event, str]] = []
    previous: Event | None = None
    for event in events:
        action = _MOVE_EVENTS.get(event.type)
        if (
            event.type == "PhaseEntered"
            and int(event.data.get("stint", 1)) > 1
            and not (previous is not None and previous.type == "Restarted")
        ):
            action = "advance"
        if action is not None:
            found.append((event, action))
        previous = event
    return found


def decline_transition_request(
    ctx: Context, cmd: c.DeclineTransitionRequest, now: datetime
) -> None:
    s = ctx.state
    require_open(s, "decline a transition request")
    request = next((r for r in s.requests if r.seq == cmd.request), None)
    if request is None:
        # Answered and declined requests have left the state: a seq that was recorded may
        # have been one (PostgreSQL says which); a later one never was.
        if 0 < cmd.request < s.next_seq:
            raise Conflict(f"transition request {cmd.request} is not open", "request")
        raise InvalidInput(f"no transition request {cmd.request}", "request")
    s.requests = [r for r in s.requests if r.seq != cmd.request]
    seq = ctx.emit(
        "TransitionRequestDeclined",
        now,
        request=request.seq,
        action=request.action,
        reason=cmd.reason,
    )
    ctx.notify("collective", s.id, "TransitionRequestDeclined", seq)


def member_join(ctx: Context, cmd: c.MemberJoin, now: datetime) -> None:
    s = ctx.state
    require_open(s, "add a member")
    if s.member(cmd.member.id) is not None:
        raise Conflict(f"{cmd.member.id!r} is already a member")
    check_legal_form(s.rules_version, cmd.member.legal_form, "legal_form")
    member = Member.of(cmd.member)
    s.members.append(member)
    ctx.emit("MemberJoined", now, **member.model_dump())


def member_leave(ctx: Context, cmd: c.MemberLeave, now: datetime) -> None:
    s = ctx.state
    require_open(s, "remove a member")
    if s.member(cmd.member_id) is None:
        raise InvalidInput(f"{cmd.member_id!r} is not a member", "member_id")
    for line in s.lines:
        if line.status != "declined" and any(a.payee == cmd.member_id for a in line.allocation):
            raise Conflict(f"{cmd.member_id!r} is a payee of line {line.id!r}: it cannot leave")
        if line.amendment is not None and any(
            a.payee == cmd.member_id for a in line.amendment.allocation
        ):
            raise Conflict(
                f"{cmd.member_id!r} is a payee of the amendment open on line {line.id!r}:"
                " it cannot leave before the funder decides it"
            )
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
