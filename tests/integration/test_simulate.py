"""`coopflow simulate` runs the real workflow and activities on the time-skipping server:
the conformance example gives exactly what jardin.expected.yaml says, and bad scenarios are
refused with a clear error naming the step and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from cli.scenario_files import load_scenario_file
from cli.simulate import SIMULATION_BUILD_ID, simulation
from cli.simulate import simulate as simulate_in_process
from domain.simulation import SimulationResult, run_scenario
from runtime.localstack import free_port
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
    assert output == run_scenario(load_scenario_file(VECTORS / "jardin.yaml")).to_json()


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
        # The cooperation's workflow has ended with its close: the rules' answer, not an RPC
        # error.
        (
            [{"at": "P1M", "close": {"outcome": "completed"}}, {"at": "P2M", "check_in": {}}],
            "step 1: check_in: cannot submit a check-in: the cooperation is closed (completed)",
        ),
        (
            [
                {
                    "at": "P1M",
                    "write_off": {"line": "jardin-prog", "tranche": "t-entry", "reason": "x"},
                }
            ],
            "step 0: write_off: tranche: tranche 't-entry' is a grant, not a loan",
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
    scenario = load_scenario_file(path)
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


def _jardin(tmp_path: Path, change: Any) -> Path:
    scenario = yaml.safe_load((VECTORS / "jardin.yaml").read_text())
    change(scenario)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return path


def _loan_without_installment(s: dict[str, Any]) -> None:
    s["programmes"][0]["phases"]["emergence"]["tranches"][0]["instrument"] = {
        "loan": {"annual_rate": "0.01", "grace": "P1M", "term": "P1M", "installment_every": "P1M"}
    }


def _shares_one_only_at_28_digits(s: dict[str, Any]) -> None:
    s["cooperation"]["funding_lines"] = [
        {
            "programme": "jardin-prog",
            "allocation": [
                {"payee": "centre-social", "share": "0.3333333333333333333333333333"},
                {"payee": "ressourcerie", "share": "0.6666666666666666666666666667"},
            ],
        }
    ]
    s["cooperation"]["members"].append(
        {"id": "ressourcerie", "name": "Ressourcerie", "legal_form": "association"}
    )


def _budget_past_the_largest_amount(s: dict[str, Any]) -> None:
    s["steps"] = [
        {"at": "P1M", "raise_budget": {"programme": "jardin-prog", "amount": "9999999999999.99"}}
    ]


def _start_at_the_end_of_the_calendar(s: dict[str, Any]) -> None:
    s["start"] = "9999-06-01"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            _loan_without_installment,
            "programmes[0]: phases.emergence.tranches.0.instrument.loan.loan: term P1M ends "
            "before the first installment",
        ),
        (
            _shares_one_only_at_28_digits,
            "cooperation: funding_lines.0.allocation.0.share: a share has at most 10 decimal",
        ),
        (
            _budget_past_the_largest_amount,
            "step 0: raise_budget: programme 'jardin-prog': the budget would be",
        ),
        (_start_at_the_end_of_the_calendar, "scenario: start: 9999-06-01 is not between"),
    ],
    ids=lambda x: getattr(x, "__name__", "")[1:],
)
def test_input_that_would_poison_a_cooperation_is_refused_naming_the_field(
    tmp_path: Path, change: Any, message: str
) -> None:
    done = simulate(_jardin(tmp_path, change), "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def _test_servers() -> set[int]:
    """The time-skipping servers this process has started and that still run."""
    return {
        p.pid
        for p in psutil.Process().children(recursive=True)
        if "temporal-test-server" in p.name() and p.status() != psutil.STATUS_ZOMBIE
    }


async def test_the_server_started_beside_a_failing_database_is_stopped() -> None:
    # The time-skipping server starts while the database is made: when the database cannot
    # be made (no PostgreSQL on that port), the run fails and leaves no server behind.
    before = _test_servers()
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    scenario = load_scenario_file(VECTORS / "jardin.yaml")
    with pytest.raises(OSError):
        async with simulation(scenario, database_server=nowhere):
            pytest.fail("a simulation without its database must not start")
    assert _test_servers() <= before


async def test_the_simulation_worker_has_a_build_id_of_its_own(postgres_server_url: str) -> None:
    # Named, not hashed from every loaded module (the SDK's default, ~0.4 s per process).
    scenario = load_scenario_file(VECTORS / "jardin.yaml")
    async with simulation(scenario, database_server=postgres_server_url) as sim:
        result = await sim.run()
        history = await sim.env.client.get_workflow_handle(
            sim.handle.id, run_id=sim.first_run_id
        ).fetch_history()
    assert result.to_json() == run_scenario(scenario).to_json()
    completed = [
        e.workflow_task_completed_event_attributes
        for e in history.events
        if e.HasField("workflow_task_completed_event_attributes")
    ]
    assert completed
    assert {c.binary_checksum for c in completed} == {SIMULATION_BUILD_ID}
