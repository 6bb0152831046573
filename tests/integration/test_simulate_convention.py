"""Rule 18 through `coopflow simulate` (the real workflow on the time-skipping server): the
issue's example in tests/integration/convention.yaml gives exactly the expected timeline and
ledger; a convention recorded twice refuses the scenario (exit 2) naming the step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.scenario_files import load_scenario_file
from domain.simulation import run_scenario
from tests.integration.test_simulate import simulate

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).with_name("convention.yaml")


@pytest.fixture(scope="module")
def output() -> dict[str, Any]:
    done = simulate(EXAMPLE, "--format", "json")
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_the_avance_held_since_acceptance_is_released_when_the_convention_is_recorded(
    output: dict[str, Any],
) -> None:
    events = output["events"]
    moments = [(e["type"], e["at"][:10]) for e in events if e["type"] != "CheckInReminderSent"]
    assert moments[:5] == [
        ("CooperationRegistered", "2027-02-01"),
        ("FundingLineAttached", "2027-02-01"),
        ("PhaseEntered", "2027-02-01"),
        ("ConventionSigned", "2027-02-15"),
        ("TrancheReleased", "2027-02-15"),
    ]
    signed = next(e for e in events if e["type"] == "ConventionSigned")
    assert signed["data"] == {
        "line": "coop-2027",
        "programme": "coop-2027",
        "reference": "CONV-2027-014",
        "signed_on": "2027-02-12",
        "ends_on": "2028-02-11",
    }
    released = [
        (e["data"]["tranche"], e["at"][:10], e["data"]["amount"])
        for e in events
        if e["type"] == "TrancheReleased"
    ]
    # The solde (elapsed P2M) falls due after the convention: released on its own date.
    assert released == [("avance", "2027-02-15", "8000.00"), ("solde", "2027-04-01", "7000.00")]
    assert [(r["tranche"], r["at"][:10], r["amount"], r["payee"]) for r in output["ledger"]] == [
        ("avance", "2027-02-15", "8000.00", "pole-107"),
        ("solde", "2027-04-01", "7000.00", "pole-107"),
    ]
    # The check-in clock ran while the avance was held: period 1 reminded a week before 03-01.
    reminders = [e["at"][:10] for e in events if e["type"] == "CheckInReminderSent"]
    assert reminders[:1] == ["2027-02-22"]


def test_workflow_and_reducer_agree_on_the_example(output: dict[str, Any]) -> None:
    assert output == run_scenario(load_scenario_file(EXAMPLE)).to_json()


def test_a_convention_recorded_twice_refuses_the_scenario(tmp_path: Path) -> None:
    scenario = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    again = {"line": "coop-2027", "reference": "CONV-BIS", "signed_on": "2027-02-20"}
    scenario["steps"].append({"at": "2027-03-01", "convention": again})
    path = tmp_path / "twice.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    done = simulate(path, "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "step 1: convention:" in done.stderr
    assert "already recorded" in done.stderr
    assert done.stdout == ""
