"""`coopflow simulate` runs the real workflow and activities on the time-skipping server:
the conformance example gives exactly what jardin.expected.yaml says, and bad scenarios are
refused with a clear error naming the step and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cli.simulate import simulate as simulate_in_process
from domain.simulation import SimulationResult, load_scenario, run_scenario
from tests.domain.test_conformance import (  # noqa: F401 - the same assertions, run again
    VECTORS,
    expected,
    test_jardin_check_ins,
    test_jardin_close_stops_the_clock,
    test_jardin_committed_and_freed,
    test_jardin_moves,
    test_jardin_output_shape,
    test_jardin_payee,
    test_jardin_phase_entered,
    test_jardin_releases,
    test_jardin_reminders_and_overdues,
)

pytestmark = pytest.mark.integration

COOPFLOW = Path(sys.executable).parent / "coopflow"


def simulate(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COOPFLOW), "simulate", str(path), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def output() -> dict[str, object]:
    done = simulate(VECTORS / "jardin.yaml", "--format", "json")
    assert done.returncode == 0, done.stderr
    parsed: dict[str, object] = json.loads(done.stdout)
    return parsed


@pytest.fixture(scope="module")
def result(output: dict[str, object]) -> SimulationResult:
    return SimulationResult.model_validate(output)


def test_workflow_and_reducer_agree_on_jardin(output: dict[str, object]) -> None:
    assert output == run_scenario(VECTORS / "jardin.yaml").to_json()


def test_table_output_is_readable() -> None:
    done = simulate(VECTORS / "jardin.yaml")
    assert done.returncode == 0, done.stderr
    assert "TrancheReleased" in done.stdout and "centre-social" in done.stdout
    assert done.stdout.splitlines()[0] == "Timeline"


def _scenario(tmp_path: Path, steps: list[dict[str, object]]) -> Path:
    scenario = yaml.safe_load((VECTORS / "jardin.yaml").read_text())
    scenario["steps"] = steps
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return path


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"at": "P1M", "dance": {}}], "step 0: unknown step kind 'dance'"),
        (
            [{"at": "P2M", "pause": {}}, {"at": "P1M", "resume": {}}],
            "step 1: at 2027-06-30 is before the previous step",
        ),
        ([{"at": "P1M", "resume": {}}], "step 0: resume:"),
        (
            [{"at": "P1M", "pause": {}}, {"at": "P2M", "restart": {"reason": "x"}}],
            "step 1: restart:",
        ),
    ],
)
def test_bad_scenarios_name_the_step_and_exit_2(
    tmp_path: Path, steps: list[dict[str, object]], message: str
) -> None:
    done = simulate(_scenario(tmp_path, steps), "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


EXAMPLES = sorted(
    p
    for p in (Path(__file__).resolve().parents[2] / "examples").glob("*.yaml")
    if "steps:" in p.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
async def test_examples_run_through_the_workflow_as_the_rules_say(
    path: Path, postgres_server_url: str
) -> None:
    scenario = load_scenario(path)
    result = await simulate_in_process(scenario, database_server=postgres_server_url)
    assert result.to_json() == run_scenario(scenario).to_json()
    assert result.events and result.ledger


def test_a_line_the_budget_cannot_cover_refuses_the_scenario(tmp_path: Path) -> None:
    scenario = yaml.safe_load((VECTORS / "jardin.yaml").read_text())
    scenario["programmes"][0]["budget"] = "20000.00"
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(scenario))
    done = simulate(path, "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "registration refused" in done.stderr
    assert "20000.00 left" in done.stderr and "24000.00" in done.stderr
