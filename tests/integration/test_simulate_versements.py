"""Rules 18 and 19's example through `coopflow simulate` (the real workflow and activities on
the time-skipping server, its ledger read back from PostgreSQL): a convention required, the
line accepted 2027-02-01, its convention recorded 2027-02-15: the avance is released
(ordered) then, with P60D to pay, due by 2027-04-16; late on 2027-04-17; paid 2027-05-10, 24
days late; recorded twice, refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.scenario_files import load_scenario_file
from domain.simulation import run_scenario

pytestmark = pytest.mark.integration

COOPFLOW = Path(sys.executable).parent / "coopflow"
SCENARIO = Path(__file__).resolve().parent / "scenarios" / "versements.yaml"


def simulate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COOPFLOW), "simulate", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def output() -> dict[str, Any]:
    done = simulate(SCENARIO)
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_ordered_due_late_then_paid_24_days_late(output: dict[str, Any]) -> None:
    events = output["events"]
    # Held from the acceptance (2027-02-01) until the convention is recorded.
    (signed,) = [e for e in events if e["type"] == "ConventionSigned"]
    assert signed["at"] == "2027-02-15T00:00:00Z"
    assert [e["type"] for e in events if e["at"] < signed["at"]] == [
        "CooperationRegistered",
        "FundingLineAttached",
        "PhaseEntered",
    ]
    (released,) = [e for e in events if e["type"] == "TrancheReleased"]
    assert (released["at"], released["data"]["due_on"]) == ("2027-02-15T00:00:00Z", "2027-04-16")
    (late,) = [e for e in events if e["type"] == "VersementLate"]
    assert (late["at"], late["data"]["payee"], late["data"]["due_on"]) == (
        "2027-04-17T00:00:00Z",
        "pole-107",
        "2027-04-16",
    )
    (paid,) = [e for e in events if e["type"] == "VersementPaid"]
    assert paid["at"] == "2027-05-10T00:00:00Z"
    assert (paid["data"]["paid_on"], paid["data"]["days_late"]) == ("2027-05-10", 24)


def test_the_ledger_row_carries_due_by_and_paid_on(output: dict[str, Any]) -> None:
    (row,) = output["ledger"]
    assert (row["kind"], row["payee"], row["amount"], row["at"]) == (
        "release",
        "pole-107",
        "8000.00",
        "2027-02-15T00:00:00Z",
    )
    assert (row["due_by"], row["paid_on"]) == ("2027-04-16", "2027-05-10")


def test_workflow_and_reducer_agree(output: dict[str, Any]) -> None:
    assert output == run_scenario(load_scenario_file(SCENARIO)).to_json()


def test_recorded_twice_is_refused(tmp_path: Path) -> None:
    scenario = yaml.safe_load(SCENARIO.read_text())
    again = {"line": "region-2027", "tranche": "amorcage", "paid_on": "2027-05-10"}
    scenario["steps"].append({"at": "2027-05-11", "paid": again})
    path = tmp_path / "twice.yaml"
    path.write_text(yaml.safe_dump(scenario))
    done = simulate(path)
    assert done.returncode == 2, done.stdout
    assert "step 2" in done.stderr and "already recorded paid" in done.stderr


def test_the_table_shows_the_versements_dates() -> None:
    done = subprocess.run(
        [str(COOPFLOW), "simulate", str(SCENARIO)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    (row,) = [x for x in done.stdout.splitlines() if "region-2027/amorcage" in x]
    assert row.endswith("→ pole-107  due 2027-04-16  paid 2027-05-10")
    assert "VersementLate" in done.stdout
