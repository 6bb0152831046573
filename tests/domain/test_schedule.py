"""The échéancier prévisionnel (domain/schedule.py): every tranche or occurrence still to come,
dated where the rules can know the date, else with what it waits for.

Each date expected here is worked out by hand from rules 3 to 5 (and 18, 20), and then checked
against the rules themselves: `_dates_hold` runs the clock of a copy of the state past every
date given and finds each of those releases there, on that day, and no other."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings

from domain import commands as c
from domain.errors import DomainError
from domain.lifecycle import Driver
from domain.lifecycle.context import copy_state
from domain.lifecycle.holds import CONVENTION_AWAITED
from domain.schedule import TrancheToCome, tranches_to_come
from tests.domain.helpers import (
    Shell,
    at,
    cooperation,
    grant,
    of_type,
    phase,
    programme,
    releases,
    version,
)
from tests.domain.test_properties import SPEC as RANDOM_SPEC
from tests.domain.test_properties import VERSIONS as RANDOM_VERSIONS
from tests.domain.test_properties import command_for_step as random_command
from tests.domain.test_properties import steps as random_steps

FUNDER = c.Actor(role="funder", id="fondation")
FACILITATOR = c.Actor(role="facilitator", id="tiers")


def _spec(**extra: Any) -> dict[str, Any]:
    return programme(
        phases={
            "emergence": phase(
                [
                    grant("amorcage", "entry", "8000.00"),
                    grant("suite", {"elapsed": "P6M"}, "7000.00"),
                    grant("bilan", {"accepted_check_ins": 3}, "3000.00"),
                    grant("validation", "approval", "2000.00"),
                    grant(
                        "coordination",
                        {"elapsed": "P3M"},
                        "600.00",
                        repeat={"every": "P1Y", "times": 2},
                    ),
                ]
            ),
            "experimentation": phase(
                [
                    grant("experimentation", "entry", "30000.00"),
                    grant("essai", {"elapsed": "P2M"}, "20000.00"),
                ]
            ),
        },
        **extra,
    )


def _shell(spec: dict[str, Any] | None = None, **coop: Any) -> Shell:
    return Shell(cooperation(**coop), [version(spec or _spec())], at(2027, 1, 4))


def _rows(shell: Shell, now: datetime) -> list[tuple[str, str | None, str | None]]:
    """(tranche[:occurrence], expected_on, waits_for) of each tranche to come, in order."""
    assert shell.state is not None
    return [(_name(t), t.expected_on, t.waits_for) for t in tranches_to_come(shell.state, now)]


def _name(t: TrancheToCome) -> str:
    return t.tranche + (f":{t.occurrence}" if t.occurrence is not None else "")


def _dates_hold(shell: Shell, now: datetime) -> None:
    """The rules release each dated tranche on its day: a copy of the state, left to its clock
    (nobody doing anything), releases exactly the dated ones, each on its date."""
    assert shell.state is not None
    to_come = tranches_to_come(shell.state, now)
    dated = {(t.line, _name(t), t.expected_on) for t in to_come if t.expected_on is not None}
    assert dated, "nothing dated to check"
    last = max(d for _, _, d in dated)
    assert last is not None
    kept: list[Any] = []

    class Watch(Driver):
        def record(self, decision: Any) -> None:
            kept.extend(decision.events)

    watch = Watch(copy_state(shell.state))
    watch.run_clock(datetime.fromisoformat(last + "T23:59:59+00:00"))
    released = {(line, name, day) for line, name, day, _ in releases(kept)}
    assert released == dated


# ---------------------------------------------------------------------------------------
# Each trigger kind


def test_each_trigger_dated_where_the_rules_know_the_date_else_its_condition() -> None:
    shell = _shell()
    now = at(2027, 1, 10)
    # Registered 2027-01-04: amorcage went at entry; coordination at +P3M and then every
    # year from that first release (twice); suite at +P6M; the rest waits for people.
    assert _rows(shell, now) == [
        ("coordination", "2027-04-04", None),
        ("suite", "2027-07-04", None),
        ("coordination:1", "2028-04-04", None),
        ("coordination:2", "2029-04-04", None),
        ("bilan", None, "3 more accepted check-ins"),
        ("validation", None, "approval"),
        ("experimentation", None, "the move to experimentation"),
        ("essai", None, "the move to experimentation"),
    ]
    _dates_hold(shell, now)
    assert shell.state is not None
    bilan = next(t for t in tranches_to_come(shell.state, now) if t.tranche == "bilan")
    assert bilan.model_dump(mode="json") == {
        "line": "prog",
        "tranche": "bilan",
        "occurrence": None,
        "phase": "emergence",
        "purpose": "animation",
        "kind": "release",
        "amount": "3000.00",
        "currency": "EUR",
        "expected_on": None,
        "waits_for": "3 more accepted check-ins",
        "waiting": [
            {
                "kind": "accepted_check_ins",
                "count": 3,
                "phase": None,
                "words": "3 more accepted check-ins",
            }
        ],
    }


def test_accepted_check_ins_count_down_and_the_tranche_leaves_once_released() -> None:
    shell = _shell()
    for k, (day, reviewed) in enumerate([(20, 22), (25, 26)], start=1):
        shell.do(c.SubmitCheckIn(check_in_id=f"ci-{k}", period=k), at(2027, k, day))
        shell.do(c.ReviewCheckIn(period=k, decision="accepted"), at(2027, k, reviewed))
    assert ("bilan", None, "1 more accepted check-in") in _rows(shell, at(2027, 3, 1))
    shell.do(c.SubmitCheckIn(check_in_id="ci-3", period=3), at(2027, 3, 20))
    shell.do(c.ReviewCheckIn(period=3, decision="accepted"), at(2027, 3, 22))
    assert "bilan" not in [name for name, _, _ in _rows(shell, at(2027, 3, 23))]
    assert releases(shell.events)[-1] == ("prog", "bilan", "2027-03-22", "3000.00")


def test_an_approved_tranche_leaves_the_schedule() -> None:
    shell = _shell()
    shell.do(c.ApproveTranche(line="prog", tranche="validation", by=FACILITATOR), at(2027, 2, 1))
    assert "validation" not in [name for name, _, _ in _rows(shell, at(2027, 2, 2))]


def test_after_a_move_the_new_stint_dates_its_tranches_and_the_old_phase_waits_a_return() -> None:
    shell = _shell()
    shell.do(c.Advance(), at(2027, 3, 1))
    now = at(2027, 3, 2)
    # The experimentation stint opened 2027-03-01: its entry tranche went, essai is +P2M.
    # Nothing of emergence still to come is released before a restart goes back there;
    # coordination's repeats follow its first release, so they wait as long.
    assert _rows(shell, now) == [
        ("essai", "2027-05-01", None),
        ("suite", None, "a return to emergence"),
        ("bilan", None, "a return to emergence"),
        ("validation", None, "a return to emergence"),
        ("coordination", None, "a return to emergence"),
        ("coordination:1", None, "a return to emergence"),
        ("coordination:2", None, "a return to emergence"),
    ]
    _dates_hold(shell, now)
    assert shell.state is not None
    (essai, suite) = tranches_to_come(shell.state, now)[:2]
    assert (essai.phase, essai.waiting) == ("experimentation", [])
    assert [(w.kind, w.phase) for w in suite.waiting] == [("return", "emergence")]


def test_a_restart_back_dates_what_the_old_phase_still_holds_from_the_new_stint() -> None:
    shell = _shell()
    shell.do(c.Advance(), at(2027, 3, 1))
    shell.do(c.Restart(to="emergence", reason="départ d'un membre"), at(2027, 5, 10))
    now = at(2027, 5, 11)
    # Rule 2: a new stint from 2027-05-10, fresh counters; rule 4: amorcage went in the first
    # stint and is never paid twice, the rest of emergence can still fire.
    assert ("prog", "essai", "2027-05-01", "20000.00") in releases(shell.events)
    assert _rows(shell, now) == [
        ("coordination", "2027-08-10", None),
        ("suite", "2027-11-10", None),
        ("coordination:1", "2028-08-10", None),
        ("coordination:2", "2029-08-10", None),
        ("bilan", None, "3 more accepted check-ins"),
        ("validation", None, "approval"),
    ]  # experimentation's two went in its stint (essai on 2027-05-01)
    _dates_hold(shell, now)


def test_an_elapsed_trigger_counts_from_a_line_attached_after_the_stint_began() -> None:
    shell = Shell(cooperation(), [version(_spec())], at(2027, 1, 4), accepted=False)
    now = at(2027, 1, 5)
    # Proposed: every tranche waits for the funder's word, whatever its trigger.
    rows = _rows(shell, now)
    assert {waits for _, _, waits in rows} == {"the funder's acceptance of the line"}
    assert [name for name, _, _ in rows] == [
        "amorcage",
        "suite",
        "bilan",
        "validation",
        "coordination",
        "coordination:1",
        "coordination:2",
        "experimentation",
        "essai",
    ]
    shell.do(c.AcceptLine(line="prog"), at(2027, 2, 10))
    shell.do(c.CommitmentCommitted(line="prog"), at(2027, 2, 10))
    # Rule 3: (stint start or attachment, whichever is later) + the duration.
    dated = [(n, d) for n, d, _ in _rows(shell, at(2027, 2, 11)) if d is not None]
    assert dated == [
        ("coordination", "2027-05-10"),
        ("suite", "2027-08-10"),
        ("coordination:1", "2028-05-10"),
        ("coordination:2", "2029-05-10"),
    ]
    _dates_hold(shell, at(2027, 2, 11))


# ---------------------------------------------------------------------------------------
# Pauses (rule 5)


def test_a_past_pause_pushes_elapsed_triggers_back_by_its_length() -> None:
    shell = _shell()
    shell.do(c.Pause(), at(2027, 2, 1))
    shell.do(c.Resume(), at(2027, 3, 1))  # 28 days paused
    now = at(2027, 3, 2)
    dated = [(n, d) for n, d, _ in _rows(shell, now) if d is not None]
    assert dated == [
        ("coordination", "2027-05-02"),  # 2027-04-04 + 28 days
        ("suite", "2027-08-01"),  # 2027-07-04 + 28 days
        ("coordination:1", "2028-05-02"),
        ("coordination:2", "2029-05-02"),
    ]
    _dates_hold(shell, now)


def test_while_paused_what_the_clock_would_date_waits_for_the_resume() -> None:
    shell = _shell()
    shell.do(c.Pause(), at(2027, 2, 1))
    assert _rows(shell, at(2027, 2, 10)) == [
        ("suite", None, "the resume"),
        ("bilan", None, "3 more accepted check-ins; the resume"),
        ("validation", None, "approval; the resume"),
        ("coordination", None, "the resume"),
        ("coordination:1", None, "the resume"),
        ("coordination:2", None, "the resume"),
        ("experimentation", None, "the move to experimentation"),
        ("essai", None, "the move to experimentation"),
    ]


def test_a_repeat_keeps_its_date_through_a_pause_until_the_date_has_passed() -> None:
    shell = _shell()
    shell.clock(at(2027, 4, 4))  # coordination's first release
    shell.do(c.Pause(), at(2028, 3, 1))
    # Rule 4: occurrences are dated from the first release, never pushed by a pause, and
    # held while paused: ahead, the date stands (if the pause has ended by then); gone, the
    # occurrence waits for the resume alone.
    ahead = [r for r in _rows(shell, at(2028, 3, 2)) if r[0].startswith("coordination:")]
    assert ahead == [
        ("coordination:1", "2028-04-04", "the resume"),
        ("coordination:2", "2029-04-04", "the resume"),
    ]
    gone = [r for r in _rows(shell, at(2028, 4, 10)) if r[0].startswith("coordination:")]
    assert gone == [
        ("coordination:2", "2029-04-04", "the resume"),
        ("coordination:1", None, "the resume"),
    ]
    shell.do(c.Resume(), at(2028, 4, 10))
    assert ("prog", "coordination:1", "2028-04-10", "600.00") in releases(shell.events)


# ---------------------------------------------------------------------------------------
# Closed, declined


def test_a_closed_cooperation_has_nothing_to_come() -> None:
    shell = _shell()
    shell.do(c.Close(outcome="abandoned"), at(2027, 2, 1))
    assert shell.state is not None
    assert tranches_to_come(shell.state, at(2027, 2, 2)) == []


def test_a_declined_line_has_nothing_to_come() -> None:
    shell = Shell(cooperation(), [version(_spec())], at(2027, 1, 4), accepted=False)
    shell.do(c.DeclineLine(line="prog"), at(2027, 1, 5))
    assert _rows(shell, at(2027, 1, 6)) == []


# ---------------------------------------------------------------------------------------
# Held releases (rules 3: rules 18 and 20)


def test_a_convention_awaited_holds_what_fell_due_and_conditions_what_is_to_come() -> None:
    shell = _shell(_spec(convention="required"))
    now = at(2027, 1, 10)
    rows = _rows(shell, now)
    # amorcage fell due at entry and is held; the dated ones keep their dates, which hold
    # only if the convention is recorded by then.
    assert rows[:5] == [
        ("coordination", "2027-04-04", CONVENTION_AWAITED),
        ("suite", "2027-07-04", CONVENTION_AWAITED),
        ("coordination:1", "2028-04-04", CONVENTION_AWAITED),
        ("coordination:2", "2029-04-04", CONVENTION_AWAITED),
        ("amorcage", None, CONVENTION_AWAITED),
    ]
    assert rows[5] == ("bilan", None, f"3 more accepted check-ins; {CONVENTION_AWAITED}")
    assert shell.state is not None
    held = tranches_to_come(shell.state, now)[4]
    assert [w.kind for w in held.waiting] == ["convention"]
    shell.do(
        c.RecordConvention.model_validate(
            {"line": "prog", "reference": "C-1", "signed_on": "2027-01-12", "by": FUNDER}
        ),
        at(2027, 1, 12),
    )
    # Recorded: the held release went at once, the rest is dated as without a convention.
    assert releases(shell.events)[-1] == ("prog", "amorcage", "2027-01-12", "8000.00")
    assert _rows(shell, at(2027, 1, 13))[:2] == [
        ("coordination", "2027-04-04", None),
        ("suite", "2027-07-04", None),
    ]
    _dates_hold(shell, at(2027, 1, 13))


def test_an_open_amendment_holds_what_falls_due_meanwhile() -> None:
    spec = programme(phases={"emergence": phase([grant("t", {"elapsed": "P2M"})])})
    shell = _shell(spec)
    shell.do(c.Formalise(member="habitants", legal_form="association"), at(2027, 1, 10))
    shell.do(
        c.Amend.model_validate(
            {"line": "prog", "allocation": [{"payee": "habitants", "share": "1"}]}
        ),
        at(2027, 1, 11),
    )
    assert shell.state is not None
    seq = shell.state.lines[0].amendment.seq  # type: ignore[union-attr]
    words = f"amendment {seq} awaits the funder's decision"
    assert _rows(shell, at(2027, 1, 12)) == [("t", "2027-03-04", words)]
    shell.clock(at(2027, 3, 10))  # t fell due on 2027-03-04: held
    (t,) = tranches_to_come(shell.state, at(2027, 3, 10))
    assert (t.expected_on, t.waits_for, [w.kind for w in t.waiting]) == (
        None,
        words,
        ["amendment"],
    )
    shell.do(c.DecideAmendment(line="prog", accept=True), at(2027, 3, 12))
    assert _rows(shell, at(2027, 3, 13)) == []
    assert of_type(shell.events, "TrancheReleased")[-1].data["parts"] == [
        {"payee": "habitants", "amount": "1000.00"}
    ]


# ---------------------------------------------------------------------------------------
# Amounts (rule 17)


def test_a_granted_line_shows_the_amounts_fixed_at_acceptance() -> None:
    spec = programme(
        phases={
            "emergence": phase(
                [
                    {"id": "a", "share": "0.6", "purpose": "animation", "when": "entry"},
                    {
                        "id": "b",
                        "share": "0.4",
                        "purpose": "operating",
                        "when": {"elapsed": "P1M"},
                    },
                ]
            )
        },
        amounts="granted",
    )
    shell = Shell(cooperation(), [version(spec)], at(2027, 1, 4), accepted=False)
    assert shell.state is not None
    proposed = tranches_to_come(shell.state, at(2027, 1, 4))
    assert [(t.tranche, t.amount) for t in proposed] == [("a", None), ("b", None)]
    shell.do(c.AcceptLine(line="prog", amount=Decimal("33333.33")), at(2027, 1, 5))
    shell.do(c.CommitmentCommitted(line="prog"), at(2027, 1, 5))
    (b,) = tranches_to_come(shell.state, at(2027, 1, 6))
    # share × amount rounded down, the remainder on the last: 33333.33 − 19999.99.
    assert (b.tranche, b.amount, b.expected_on, b.purpose) == (
        "b",
        Decimal("13333.34"),
        "2027-02-05",
        "operating",
    )
    _dates_hold(shell, at(2027, 1, 6))


def test_a_loan_is_a_tranche_to_come_for_its_principal() -> None:
    loan = {
        "id": "pret",
        "amount": "50000.00",
        "purpose": "investment",
        "when": "approval",
        "instrument": {
            "loan": {
                "annual_rate": "0.01",
                "grace": "P12M",
                "term": "P36M",
                "installment_every": "P6M",
            }
        },
    }
    shell = _shell(programme(phases={"emergence": phase([loan])}))
    assert shell.state is not None
    (pret,) = tranches_to_come(shell.state, at(2027, 1, 5))
    assert (pret.kind, pret.amount, pret.waits_for) == ("loan", Decimal("50000.00"), "approval")


# ---------------------------------------------------------------------------------------
# Over random lifecycles (the properties' commands): what is dated is what the clock does


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_steps)
def test_left_alone_the_clock_releases_exactly_what_is_dated_without_a_condition(
    plan: list[tuple[int, tuple[Any, ...]]],
) -> None:
    shell = Shell(RANDOM_SPEC, RANDOM_VERSIONS, at(2027, 1, 31))
    moment = at(2027, 1, 31)
    for n, (gap, step) in enumerate(plan):
        moment += timedelta(days=gap)
        assert shell.state is not None
        latest = shell.state.check_ins[-1].id if shell.state.check_ins else "none"
        with contextlib.suppress(DomainError):
            shell.do(random_command(step, n, latest), moment)
    state = shell.state
    assert state is not None
    to_come = tranches_to_come(state, moment)
    # Every occurrence still pending on a line not declined, once each, and nothing else
    # (none once closed: what was left is freed).
    pending = [
        (line.id, t, o)
        for line in state.lines
        if line.status != "declined"
        for t, o, status, _ in line.tranche_statuses()
        if status == "pending"
    ]
    listed = [(r.line, r.tranche, r.occurrence) for r in to_come]
    assert len(listed) == len(set(listed)) and set(listed) == set(pending)
    sure = {
        (r.line, r.tranche, r.occurrence, r.expected_on)
        for r in to_come
        if r.expected_on is not None and not r.waiting
    }
    kept: list[Any] = []

    class Watch(Driver):
        def record(self, decision: Any) -> None:
            kept.extend(decision.events)

    Watch(copy_state(state)).run_clock(moment + timedelta(days=3 * 365))
    by_clock = {
        (e.data["line"], e.data["tranche"], e.data.get("occurrence"), e.at.date().isoformat())
        for e in of_type(kept, "TrancheReleased")
    }
    assert by_clock == sure
