"""`decide`: one command at an instant, handed to its rule's handler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import commands as c
from domain.errors import Conflict, InvalidInput
from domain.events import instant
from domain.lifecycle import (
    checkins,
    convention,
    graduation,
    lines,
    loans,
    moves,
    releases,
    versements,
)
from domain.lifecycle.clock import tick
from domain.lifecycle.context import Context, Decision, copy_state, utc
from domain.state import CooperationState

HANDLERS: dict[str, Callable[[Context, Any, datetime], None]] = {
    "propose_line": lines.propose_line,
    "accept_line": lines.accept_line,
    "commitment_committed": lines.commitment_committed,
    "commitment_refused": lines.commitment_refused,
    "decline_line": lines.decline_line,
    "advance": moves.advance,
    "restart": moves.restart,
    "pivot": moves.pivot,
    "pause": moves.pause,
    "resume": moves.resume,
    "close": moves.close,
    "submit_check_in": checkins.submit_check_in,
    "review_check_in": checkins.review_check_in,
    "approve_tranche": releases.approve_tranche,
    "record_repayment": loans.record_repayment,
    "write_off": loans.write_off,
    "request_transition": lines.request_transition,
    "decline_transition_request": lines.decline_transition_request,
    "member_join": lines.member_join,
    "member_leave": lines.member_leave,
    "record_convention": convention.record_convention,
    "record_paid": versements.record_paid,
    "formalise": graduation.formalise,
    "amend": graduation.amend,
    "decide_amendment": graduation.decide_amendment,
    "end_hosting": graduation.end_hosting,
}
"""The rules' handler of each command kind; the fault tests put a failing one in place."""


def decide(
    state: CooperationState | None,
    command: c.Command,
    now: datetime,
    *,
    in_place: bool = False,
    clock_run: bool = False,
    lean: bool = False,
) -> Decision:
    """Apply one command at `now`; raise DomainError when the rules refuse it.

    The input state is never changed, unless `in_place`: a caller that owns the state and
    drops it on a refusal (a scenario run, a forecast) saves the copy; the decision's state
    is then `state` itself, and after a refusal `state` may be half changed. Clock
    occurrences dated strictly before `now` that the shell has not applied yet are applied
    first, so events stay in time order (`clock_run`: the caller already did). `lean`: no
    event kept, no notice built (`Context`), for a shell that reads neither.
    """
    now = utc(now)
    if isinstance(command, c.Register):
        if state is not None:
            raise Conflict(f"cooperation {state.id!r} is already registered")
        return moves.register(command, now)
    if state is None:
        raise Conflict("no cooperation is registered yet")
    if now < state.last_at:
        raise InvalidInput(
            f"{instant(now)} is before {instant(state.last_at)}, already recorded: time only "
            "moves forward",
            "at",
        )
    if clock_run:
        # The shell ran the clock strictly before `now` itself (Driver.apply): nothing to
        # flush, only the copy to make.
        ctx = Context(state if in_place else copy_state(state), lean=lean)
    else:
        flushed = tick(state, now, inclusive=False, in_place=in_place, lean=lean)
        ctx = Context(flushed.state, flushed.events, flushed.effects, lean=lean)
    HANDLERS[command.kind](ctx, command, now)
    if command.kind in lines.TRANSITIONS:
        lines.answer_requests(ctx.state, command.kind, now)
    ctx.state.last_at = max(ctx.state.last_at, now)
    return ctx.decision()
