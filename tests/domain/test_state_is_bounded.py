"""Nobody can flood a cooperation (DESIGN.md, "Who may get in, and what nobody may abuse"):
whatever the collective asks or submits, the workflow's state, carried in every answer and
at every continue-as-new, stays within a bound set by the span of time and the facilitator's
moves alone. Requests' reasons, pivots' objectives, answered or declined requests and replaced
check-ins live in the events (PostgreSQL), never in the state."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import commands as c
from domain.errors import DomainError
from domain.limits import MAX_INDICATOR_TEXT, MAX_INDICATORS
from tests.domain.helpers import Shell, at, cooperation, grant, phases, programme, version

START = at(2027, 1, 4)
SPAN = timedelta(days=90)
REASON = "r" * 2000
INDICATORS = {f"indicateur-{i:02d}": "t" * MAX_INDICATOR_TEXT for i in range(MAX_INDICATORS)}

# Registered, the state is some 2 kB. Within 90 days of monthly check-ins it may also hold a
# check-in and a period mark for each period begun (4, ~300 bytes each) and one open request
# per action (6, ~120 bytes each): 6 kB leaves room. A facilitator's move may add a pause
# span, a schedule segment and a new stint whose begun periods get check-ins: 1.5 kB each.
BOUND = 6_000
PER_MOVE = 1_500

ACTIONS = ("advance", "restart", "pivot", "pause", "resume", "close")


def _shell() -> Shell:
    spec = programme(
        phases=phases(emergence=[grant("entree", "entry")], experimentation=[], structuring=[])
    )
    return Shell(cooperation(), [version(spec)], START)


def _move(action: str) -> c.Command:
    match action:
        case "advance":
            return c.Advance()
        case "restart":
            return c.Restart(reason=REASON)
        case "pivot":
            return c.Pivot(objectives=REASON, reason=REASON)
        case "pause":
            return c.Pause(reason=REASON)
        case "resume":
            return c.Resume()
        case _:
            return c.Close(outcome="completed")


step = st.tuples(
    st.integers(min_value=0, max_value=72),  # hours since the previous step
    st.one_of(
        st.tuples(st.just("request"), st.sampled_from(ACTIONS)),
        st.tuples(st.just("decline"), st.integers(min_value=0, max_value=5)),
        st.tuples(st.just("check_in"), st.sampled_from([None, 1, 2, 3])),
        st.tuples(st.just("review"), st.sampled_from(["accepted", "changes_requested"])),
        st.tuples(st.just("move"), st.sampled_from(ACTIONS)),
    ),
)


def _command(shell: Shell, kind: str, arg: Any, n: int) -> c.Command | None:
    s = shell.state
    match kind:
        case "request":
            return c.RequestTransition(action=arg, reason=REASON)
        case "decline":
            if not s.requests:
                return None
            request = s.requests[arg % len(s.requests)]
            return c.DeclineTransitionRequest(request=request.seq, reason=REASON)
        case "check_in":
            return c.SubmitCheckIn(check_in_id=f"ci-{n:020d}", period=arg, indicators=INDICATORS)
        case "review":
            waiting = [ci for ci in s.check_ins if ci.status == "submitted"]
            if not waiting:
                return None
            return c.ReviewCheckIn(check_in_id=waiting[-1].id, decision=arg)
        case _:
            return _move(arg)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=120))
def test_the_state_stays_within_a_bound_whatever_the_collective_sends(
    steps: list[tuple[int, tuple[str, Any]]],
) -> None:
    shell = _shell()
    when, moves = START, 0
    for n, (hours, (kind, arg)) in enumerate(steps):
        when += timedelta(hours=hours)
        if when > START + SPAN:
            break
        command = _command(shell, kind, arg, n)
        if command is None:
            continue
        try:
            shell.do(command, when)
        except DomainError:
            continue
        moves += kind == "move"
        size = len(shell.state.model_dump_json())
        assert size <= BOUND + moves * PER_MOVE, (kind, arg, size, moves)
        assert REASON not in shell.state.model_dump_json()


def test_a_flood_of_requests_and_check_ins_leaves_the_state_as_it_was_bounded() -> None:
    shell = _shell()
    when = START
    for n in range(400):
        when += timedelta(hours=4)
        for command in (
            c.RequestTransition(action=ACTIONS[n % len(ACTIONS)], reason=REASON),
            c.SubmitCheckIn(check_in_id=f"ci-{n:020d}", indicators=INDICATORS),
        ):
            with contextlib.suppress(DomainError):
                shell.do(command, when)
    # 2,400 requests' reasons and 400 check-ins were sent; each action has one open request,
    # each period its last check-in.
    assert sorted(r.action for r in shell.state.requests) == sorted(ACTIONS)
    assert len(shell.state.check_ins) <= 3
    assert len(shell.state.model_dump_json()) <= BOUND
