"""Rule 18: the convention. Its line's funder records it once, after acceptance; with
`convention: required` the line's releases that fall due before it are held and released at
the instant it is recorded, in their order, while the clock and the check-ins run as usual."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.lifecycle.holds import CONVENTION_AWAITED, hold_of
from domain.programme import ProgrammeSpec
from domain.scenario import ScenarioError
from domain.views import summary
from tests.domain.helpers import (
    Shell,
    at,
    cooperation,
    dates,
    grant,
    of_type,
    phase,
    programme,
    releases,
    simulate,
    version,
)

FUNDER = c.Actor(role="funder", id="fondation")


def _required(**extra: Any) -> dict[str, Any]:
    return programme(
        phases={
            "emergence": phase(
                [
                    grant("avance", "entry", "3000.00"),
                    grant("solde", {"elapsed": "P1M"}, "2000.00"),
                    grant("suivi", {"accepted_check_ins": 1}, "500.00"),
                ]
            )
        },
        convention="required",
        **extra,
    )


def _convention(**overrides: Any) -> c.RecordConvention:
    fields: dict[str, Any] = {
        "line": "prog",
        "reference": "CONV-2027-014",
        "signed_on": "2027-02-10",
        "by": FUNDER,
    }
    return c.RecordConvention.model_validate(fields | overrides)


# ---------------------------------------------------------------------------------------
# The programme spec


def test_rule_18_convention_is_optional_and_only_required_is_known() -> None:
    assert ProgrammeSpec.model_validate(programme()).convention is None
    assert ProgrammeSpec.model_validate(_required()).convention == "required"
    with pytest.raises(ValidationError) as refused:
        ProgrammeSpec.model_validate(programme(convention="optional"))
    assert [e["loc"] for e in refused.value.errors()] == [("convention",)]


# ---------------------------------------------------------------------------------------
# The example, through a scenario


def test_rule_18_example_the_avance_held_from_acceptance_is_released_at_the_convention() -> None:
    prog = programme(
        phases={"emergence": phase([grant("avance", "entry", "8000.00")])},
        convention="required",
    )
    result = simulate(
        [prog],
        [
            {
                "at": "2027-02-15",
                "convention": {"line": "prog", "reference": "C-1", "signed_on": "2027-02-12"},
            }
        ],
        start="2027-02-01",
        until="P2M",
    )
    assert releases(result.events) == [("prog", "avance", "2027-02-15", "8000.00")]
    (signed,) = of_type(result.events, "ConventionSigned")
    assert signed.data == {
        "line": "prog",
        "programme": "prog",
        "reference": "C-1",
        "signed_on": "2027-02-12",
    }
    released = of_type(result.events, "TrancheReleased")[0]
    assert released.seq == signed.seq + 1
    assert [row.at.date().isoformat() for row in result.ledger] == ["2027-02-15"]
    twice = {"convention": {"line": "prog", "reference": "C-2", "signed_on": "2027-02-12"}}
    with pytest.raises(ScenarioError, match="already recorded"):
        simulate(
            [prog],
            [
                {"at": "2027-02-15", "convention": twice["convention"]},
                {"at": "2027-02-20", **twice},
            ],
            start="2027-02-01",
            until="P2M",
        )


def test_rule_18_without_a_requirement_nothing_is_held_and_a_convention_is_still_recorded() -> None:
    prog = programme(phases={"emergence": phase([grant("avance", "entry", "8000.00")])})
    result = simulate(
        [prog],
        [
            {
                "at": "2027-02-15",
                "convention": {
                    "line": "prog",
                    "reference": "C-1",
                    "signed_on": "2027-02-01",
                    "ends_on": "2028-01-31",
                },
            }
        ],
        start="2027-02-01",
        until="P2M",
    )
    assert releases(result.events) == [("prog", "avance", "2027-02-01", "8000.00")]
    assert of_type(result.events, "ConventionSigned")[0].data["ends_on"] == "2028-01-31"


# ---------------------------------------------------------------------------------------
# The hold: the clock and the check-ins run as usual


def test_rule_18_clock_and_check_ins_run_while_held_and_everything_is_released_in_order() -> None:
    shell = Shell(cooperation(), [version(_required())], at(2027, 2, 1))
    line = shell.state.lines[0]
    assert hold_of(shell.state, line) is not None
    assert releases(shell.events) == []
    shell.do(c.SubmitCheckIn(check_in_id="ci-1"), at(2027, 2, 20))
    shell.do(c.ReviewCheckIn(check_in_id="ci-1", decision="accepted"), at(2027, 2, 21))
    shell.clock(at(2027, 4, 1))
    # Check-ins keep their clock: period 2 (due 04-01) is reminded on 03-25.
    assert "2027-03-25" in dates(shell.events, "CheckInReminderSent")
    line = shell.state.lines[0]
    assert [(h.tranche, h.due_at.date().isoformat()) for h in line.held] == [
        ("avance", "2027-02-01"),
        ("suivi", "2027-02-21"),
        ("solde", "2027-03-01"),
    ]
    assert releases(shell.events) == []
    # Held releases are committed, not released: they stay pending.
    (view,) = summary(shell.state).lines
    assert view.released == 0 and view.convention is None and view.convention_awaited
    assert {(t.tranche, t.status, t.waits_for) for t in view.tranches} == {
        (t, "pending", CONVENTION_AWAITED) for t in ("avance", "solde", "suivi")
    }
    events = shell.do(_convention(signed_on="2027-03-30"), at(2027, 4, 2))
    assert [e.type for e in events] == ["ConventionSigned"] + ["TrancheReleased"] * 3
    assert releases(events) == [
        ("prog", "avance", "2027-04-02", "3000.00"),
        ("prog", "suivi", "2027-04-02", "500.00"),
        ("prog", "solde", "2027-04-02", "2000.00"),
    ]
    assert shell.state.lines[0].held == []
    assert hold_of(shell.state, shell.state.lines[0]) is None
    (view,) = summary(shell.state).lines
    assert not view.convention_awaited
    assert view.convention is not None
    assert view.convention.model_dump() == {
        "reference": "CONV-2027-014",
        "signed_on": "2027-03-30",
        "ends_on": None,
    }
    assert {(t.status, t.waits_for) for t in view.tranches} == {("released", None)}


def test_rule_18_a_convention_recorded_while_paused_releases_at_resume() -> None:
    shell = Shell(cooperation(), [version(_required())], at(2027, 2, 1))
    shell.do(c.Pause(), at(2027, 2, 5))
    events = shell.do(_convention(signed_on="2027-02-05"), at(2027, 2, 10))
    assert [e.type for e in events] == ["ConventionSigned"]
    events = shell.do(c.Resume(), at(2027, 2, 12))
    assert [e.type for e in events] == ["Resumed", "TrancheReleased"]
    assert releases(events) == [("prog", "avance", "2027-02-12", "3000.00")]


# ---------------------------------------------------------------------------------------
# Refusals: 409, 422, 403


def test_rule_18_only_the_lines_funder_records_it() -> None:
    shell = Shell(cooperation(), [version(_required())], at(2027, 2, 1))
    for by in (
        c.Actor(role="facilitator", id="tiers"),
        c.Actor(role="funder", id="autre"),
        c.Actor(role="collective", id="ruche"),
        c.Actor(role="facilitator", id="fondation"),
    ):
        with pytest.raises(Forbidden, match="its funder"):
            shell.do(_convention(by=by), at(2027, 2, 15))
    assert shell.state.lines[0].convention is None


def test_rule_18_once_per_line_and_only_after_acceptance() -> None:
    proposed = Shell(cooperation(), [version(_required())], at(2027, 2, 1), accepted=False)
    with pytest.raises(Conflict, match="proposed"):
        proposed.do(_convention(), at(2027, 2, 15))
    proposed.do(c.DeclineLine(line="prog"), at(2027, 2, 16))
    with pytest.raises(Conflict, match="declined"):
        proposed.do(_convention(), at(2027, 2, 17))

    shell = Shell(cooperation(), [version(_required())], at(2027, 2, 1))
    shell.do(_convention(), at(2027, 2, 15))
    with pytest.raises(Conflict, match="already recorded"):
        shell.do(_convention(reference="autre"), at(2027, 2, 16))
    assert shell.state.lines[0].convention is not None
    assert shell.state.lines[0].convention.reference == "CONV-2027-014"
    with pytest.raises(InvalidInput) as unknown:
        shell.do(_convention(line="ailleurs"), at(2027, 2, 16))
    assert unknown.value.field == "line"


def test_rule_18_dates_signed_not_after_the_command_and_ending_not_before_signature() -> None:
    shell = Shell(cooperation(), [version(_required())], at(2027, 2, 1))
    with pytest.raises(InvalidInput) as later:
        shell.do(_convention(signed_on="2027-02-16"), at(2027, 2, 15))
    assert later.value.field == "signed_on"
    with pytest.raises(InvalidInput) as before:
        shell.do(_convention(signed_on="2027-02-10", ends_on="2027-02-09"), at(2027, 2, 15))
    assert before.value.field == "ends_on"
    # Signed the day it is recorded (any hour of that day), ending the day it is signed: fine.
    late_in_day = at(2027, 2, 15).replace(hour=23, minute=59)
    events = shell.do(_convention(signed_on="2027-02-15", ends_on="2027-02-15"), late_in_day)
    assert events[0].type == "ConventionSigned"


def test_rule_18_rules_1_and_2_do_not_know_conventions() -> None:
    for rules in (1, 2):
        shell = Shell(cooperation(), [version(_required())], at(2027, 2, 1), rules_version=rules)
        # Nothing is held under the rules as recorded.
        assert releases(shell.events) == [("prog", "avance", "2027-02-01", "3000.00")]
        with pytest.raises(Conflict, match="do not know conventions"):
            shell.do(_convention(), at(2027, 2, 15))


def test_rule_18_closed_cooperation_refuses_and_frees_what_was_held() -> None:
    shell = Shell(cooperation(), [version(_required())], at(2027, 2, 1))
    events = shell.do(c.Close(outcome="abandoned"), at(2027, 2, 10))
    (freed,) = of_type(events, "CommitmentReleased")
    assert freed.data["amount"] == "5500.00"
    with pytest.raises(Conflict, match="closed"):
        shell.do(_convention(), at(2027, 2, 15))
