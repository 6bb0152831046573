"""Rules 1 and 2: a registration starts in its start phase; entering a phase opens a stint
with fresh counters; advance goes forward (skipping with `to`), never from structuring."""

from __future__ import annotations

import pytest

from domain.scenario import ScenarioError
from tests.domain.helpers import (
    GRANT,
    grant,
    of_type,
    phase,
    phases,
    programme,
    releases,
    simulate,
    types_at,
)


def test_rule_1_registration_starts_in_start_phase() -> None:
    prog = programme(
        phases=phases(emergence=[grant("e", "entry")], experimentation=[grant("x", "entry")])
    )
    default = simulate([prog], [], until="P1D")
    assert [(e.type, e.data.get("phase")) for e in default.events[:3]] == [
        ("CooperationRegistered", None),
        ("FundingLineAttached", None),
        ("PhaseEntered", "emergence"),
    ]
    later = simulate([prog], [], until="P1D", start_phase="experimentation")
    assert of_type(later.events, "PhaseEntered")[0].data["phase"] == "experimentation"
    assert releases(later.events) == [("prog", "x", "2027-01-04", GRANT)]


def test_rule_2_stints_have_fresh_counters_and_advance_only_goes_forward() -> None:
    prog = programme(
        phases=phases(
            emergence=[grant("e", {"accepted_check_ins": 2})],
            experimentation=[grant("x", {"accepted_check_ins": 1})],
            structuring=[],
        )
    )
    result = simulate(
        [prog],
        [
            {"at": "2027-01-20", "check_in": {}},
            {"at": "2027-01-21", "review": {"period": 1, "decision": "accepted"}},
            # One acceptance in emergence: the stint of experimentation starts from zero.
            {"at": "2027-02-01", "advance": {}},
            {"at": "2027-02-10", "restart": {"to": "emergence", "reason": "recommencer"}},
            {"at": "2027-02-20", "check_in": {}},
            {"at": "2027-02-21", "review": {"period": 1, "decision": "accepted"}},
            {"at": "2027-03-20", "check_in": {}},
            {"at": "2027-03-21", "review": {"period": 2, "decision": "accepted"}},
            {"at": "2027-04-01", "advance": {"to": "structuring"}},
        ],
        until="P4M",
    )
    # The first acceptance (stint 1) never counts for stint 3: released at the 2nd of stint 3.
    assert releases(result.events) == [("prog", "e", "2027-03-21", GRANT)]
    assert [(e.data["phase"], e.data["stint"]) for e in of_type(result.events, "PhaseEntered")] == [
        ("emergence", 1),
        ("experimentation", 2),
        ("emergence", 3),
        ("structuring", 4),
    ]
    with pytest.raises(ScenarioError, match="last phase"):
        simulate([prog], [{"at": "P1D", "advance": {}}], start_phase="structuring")
    with pytest.raises(ScenarioError) as refused:
        simulate([prog], [{"at": "P1D", "advance": {"to": "emergence"}}], start_phase="structuring")
    assert refused.value.step_index == 0


def test_rule_2_advance_skips_with_to_and_is_refused_from_structuring() -> None:
    prog = programme(
        phases={
            "emergence": phase([grant("e", "entry")]),
            "experimentation": phase([grant("x", "entry")]),
            "structuring": phase([grant("s", "entry")]),
        }
    )
    result = simulate([prog], [{"at": "2027-02-01", "advance": {"to": "structuring"}}])
    # advance → PhaseEntered, releases; experimentation is skipped, so x is never released.
    assert types_at(result, "2027-02-01") == ["PhaseEntered", "TrancheReleased"]
    assert releases(result.events) == [
        ("prog", "e", "2027-01-04", "1000.00"),
        ("prog", "s", "2027-02-01", "1000.00"),
    ]
    with pytest.raises(ScenarioError, match="close"):
        simulate(
            [prog],
            [
                {"at": "2027-02-01", "advance": {"to": "structuring"}},
                {"at": "2027-02-02", "advance": {}},
            ],
        )
