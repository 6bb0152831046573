"""Properties of the lifecycle over random command sequences at random increasing times."""

from __future__ import annotations

import contextlib
import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import commands as c
from domain.effects import Release
from domain.errors import DomainError
from domain.events import Event
from domain.lifecycle import next_wakeup, tick
from tests.domain.helpers import Shell, at, cooperation, programme, version


def _t(tid: str, when: Any, amount: str, **extra: Any) -> dict[str, Any]:
    return {"id": tid, "amount": amount, "purpose": "animation", "when": when, **extra}


LOAN = {
    "id": "pret",
    "amount": "3000.00",
    "purpose": "investment",
    "when": "approval",
    "instrument": {
        "loan": {"annual_rate": "0.02", "grace": "P3M", "term": "P12M", "installment_every": "P3M"}
    },
}

MAIN = programme(
    "main",
    phases={
        "emergence": {
            "check_in_every": "P1M",
            "check_in_grace": "P10D",
            "reminder_before": "P5D",
            "report_every": "P3M",
            "max_duration": "P8M",
            "tranches": [
                _t("m-entry", "entry", "1000.00"),
                _t("m-count", {"accepted_check_ins": 2}, "700.01"),
                _t("m-elapsed", {"elapsed": "P2M"}, "333.33"),
                _t("m-ok", "approval", "250.00"),
                _t("m-coord", {"elapsed": "P1M"}, "100.00", repeat={"every": "P2M", "times": 3}),
            ],
        },
        "experimentation": {
            "check_in_every": "P2M",
            "tranches": [_t("x-entry", "entry", "5000.00"), _t("x-ok", "approval", "999.99"), LOAN],
        },
    },
)
SIDE = programme(
    "side",
    funder="autre-fondation",
    phases={
        "emergence": {
            "check_in_every": "P3W",
            "tranches": [
                _t("s-count", {"accepted_check_ins": 1}, "123.45"),
                _t("s-elapsed", {"elapsed": "P45D"}, "10.00", repeat={"every": "P1M", "times": 2}),
            ],
        },
        "structuring": {
            "check_in_every": "P3M",
            "tranches": [_t("s-entry", "entry", "77.77"), _t("s-ok", "approval", "1.01")],
        },
    },
)
VERSIONS = [version(MAIN), version(SIDE)]
SPEC = cooperation(
    fiscal_host="pole",
    funding_lines=[
        # It lends: the borrower is a legal-entity member, never the fiscal host (rule 20).
        {"programme": "main", "allocation": [{"payee": "asso", "share": "1"}]},
        {
            "programme": "side",
            "allocation": [
                {"payee": "asso", "share": "0.3333"},
                {"payee": "pole", "share": "0.6667"},
            ],
        },
    ],
)
APPROVALS = [("main", "m-ok"), ("main", "x-ok"), ("main", "pret"), ("side", "s-ok")]
PHASES = [None, "emergence", "experimentation", "structuring"]
FUNDERS = {"main": "fondation", "side": "autre-fondation"}

commands = st.one_of(
    st.builds(
        lambda p: ("check_in", p), st.one_of(st.none(), st.integers(min_value=1, max_value=6))
    ),
    st.builds(
        lambda p, d: ("review", p, d),
        st.one_of(st.none(), st.none(), st.integers(min_value=1, max_value=6)),
        st.sampled_from(["accepted", "accepted", "changes_requested"]),
    ),
    st.builds(lambda to: ("advance", to), st.sampled_from(PHASES)),
    st.builds(lambda to: ("restart", to), st.sampled_from(PHASES)),
    st.just(("pause",)),
    st.just(("resume",)),
    st.just(("resume",)),
    st.just(("pivot",)),
    st.builds(
        lambda a, role: ("approve", *a, role),
        st.sampled_from(APPROVALS),
        st.sampled_from(["funder", "facilitator"]),
    ),
    st.just(("close",)),
    st.builds(lambda a: ("repay", a), st.sampled_from(["100.00", "1000.00", "5000.00"])),
)
steps = st.lists(
    st.tuples(st.integers(min_value=0, max_value=120), commands), min_size=1, max_size=20
)


def command_for_step(step: tuple[Any, ...], n: int, latest: str) -> c.Command:
    match step:
        case ("check_in", period):
            return c.SubmitCheckIn(check_in_id=f"ci-{n}", period=period)
        case ("review", None, decision):
            return c.ReviewCheckIn(check_in_id=latest, decision=decision)
        case ("review", period, decision):
            return c.ReviewCheckIn(period=period, decision=decision)
        case ("advance", to):
            return c.Advance(to=to)
        case ("restart", to):
            return c.Restart(to=to, reason="test")
        case ("pause",):
            return c.Pause()
        case ("resume",):
            return c.Resume()
        case ("pivot",):
            return c.Pivot(objectives="autre", reason="test")
        case ("approve", line, tranche, role):
            who = FUNDERS[line] if role == "funder" else "tiers"
            return c.ApproveTranche(line=line, tranche=tranche, by=c.Actor(role=role, id=who))
        case ("close",):
            return c.Close(outcome="completed")
        case ("repay", amount):
            return c.RecordRepayment(line="main", tranche="pret", amount=amount)
    raise AssertionError(step)


def _run(plan: list[tuple[int, tuple[Any, ...]]]) -> Shell:
    shell = Shell(SPEC, VERSIONS, at(2027, 1, 31))
    moment: datetime = at(2027, 1, 31)
    for n, (gap, step) in enumerate(plan):
        moment += timedelta(days=gap)
        # The one-timer invariant: just before the wakeup the clock has nothing to record.
        wakeup = next_wakeup(shell.state) if n % 3 == 0 else None
        if wakeup is not None:
            assert tick(shell.state, wakeup - timedelta(seconds=1)).events == []
        latest = shell.state.check_ins[-1].id if shell.state.check_ins else "none"
        # Rejections are part of the game; any other exception fails the property.
        with contextlib.suppress(DomainError):
            shell.do(command_for_step(step, n, latest), moment)
    shell.clock(moment + timedelta(days=365))
    return shell


def _check(shell: Shell) -> None:
    events: list[Event] = shell.events
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(a.at <= b.at for a, b in itertools.pairwise(events))
    released = [
        (e.data["line"], e.data["tranche"], e.data.get("occurrence"))
        for e in events
        if e.type == "TrancheReleased"
    ]
    assert len(released) == len(set(released))
    for effect in shell.effects:
        if isinstance(effect, Release):
            assert sum((p.amount for p in effect.parts), Decimal(0)) == effect.amount
            assert all(p.amount >= 0 for p in effect.parts)
    for line in shell.state.lines:
        assert line.committed == line.released + line.pending() + line.freed
        if shell.state.closed:
            assert line.pending() == 0
        else:
            assert line.freed == 0
    assert shell.state.next_seq == len(events) + 1


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_random_lifecycles_keep_the_invariants(plan: list[tuple[int, tuple[Any, ...]]]) -> None:
    _check(_run(plan))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=3), commands), max_size=25))
def test_same_instant_bursts_keep_the_invariants(plan: list[tuple[int, tuple[Any, ...]]]) -> None:
    # Gaps of 0 to 3 days: many commands share an instant with each other and with the clock.
    _check(_run(plan))
