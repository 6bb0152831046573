"""Rule 17 through `coopflow simulate` on the real workflow: the scenario file of the issue's
example (33,333.33 granted, shares 0.6 then 0.4) releases 19,999.99 then 13,333.34, exactly
as the reducer does, and a scenario line of a granted programme without its amount is refused
naming it (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cli.scenario_files import load_scenario_file
from domain.simulation import run_scenario
from tests.domain.test_rule_17_amount_granted import SCENARIO
from tests.integration.test_simulate import simulate

pytestmark = pytest.mark.integration


def test_the_granted_scenario_releases_exactly_through_the_workflow() -> None:
    done = simulate(SCENARIO, "--format", "json")
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert [
        (row["tranche"], row["amount"], row["kind"], row["payee"]) for row in output["ledger"]
    ] == [
        ("amorcage", "19999.99", "release", "asso"),
        ("pret", "10000.00", "loan", "asso"),
        ("suite", "13333.34", "release", "asso"),
    ]
    (attached,) = [e for e in output["events"] if e["type"] == "FundingLineAttached"]
    assert (attached["data"]["amount"], attached["data"]["granted"]) == ("43333.33", "33333.33")
    assert output == run_scenario(load_scenario_file(SCENARIO)).to_json()


def test_a_granted_line_without_its_amount_is_refused_naming_it(tmp_path: Path) -> None:
    scenario = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    del scenario["cooperation"]["funding_lines"][0]["amount"]
    path = tmp_path / "granted.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    done = simulate(path)
    assert done.returncode == 2, done.stdout
    assert "funding_lines[0].amount: required" in done.stderr
