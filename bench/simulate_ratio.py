"""`coopflow simulate` of ten years of monthly check-ins and reviews, against a bare workflow
doing the same number of timers, updates and activities on the same kind of time-skipping
server, in the same process. Target: coopflow / bare ≤ 1.5 (medians).

    python -m bench.simulate_ratio [--runs 3]
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import datetime, timedelta
from statistics import median

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.bare import BareInput, BareWorkflow, noop
from bench.scenario import Workload, empty_scenario, ten_year_scenario, workload
from bench.support import Report, command, embedded_postgres, lighter, postgres_mode
from cli.simulate import JUST_BEFORE, MAX_SKIP, simulate, start_time_skipping
from domain.scenario import Scenario
from domain.simulation import run_scenario
from worker.main import SANDBOX

TARGET_RATIO = 1.5


async def time_coopflow(scenario: Scenario, database_server: str) -> float:
    """The whole `simulate()` call, as the CLI makes it (database and server set-up
    included), checked against the pure runner so that a wrong run is never timed."""
    began = time.perf_counter()
    result = await simulate(scenario, database_server=database_server)
    elapsed = time.perf_counter() - began
    if result.to_json() != run_scenario(scenario).to_json():
        raise AssertionError("the workflow and the pure runner disagree on the scenario")
    return elapsed


async def time_bare(scenario: Scenario, work: Workload) -> float:
    """The same drive as `simulate()`: a fresh time-skipping server, a worker, the client
    sleeping to just before each update's instant, then past `until`."""
    began = time.perf_counter()
    env = await start_time_skipping()
    try:
        task_queue = f"bare-{uuid.uuid4().hex[:8]}"
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[BareWorkflow],
            activities=[noop],
            workflow_runner=SANDBOX,
            # Named like `simulate()`'s worker: neither side pays the SDK's hash of every
            # module's bytecode (about 0.4 s, once per process) that names a worker without one.
            build_id="bench-bare",
        ):
            offset = scenario.start - await env.get_current_time()

            async def scenario_now() -> datetime:
                return await env.get_current_time() + offset

            handle = await env.client.start_workflow(
                BareWorkflow.run,
                BareInput(
                    clock_offset_seconds=offset.total_seconds(),
                    timers=work.timers,
                    until=scenario.until,
                ),
                id=f"bare:{uuid.uuid4().hex[:8]}",
                task_queue=task_queue,
            )
            await handle.query(BareWorkflow.state)
            for at in work.updates:
                await skip(env, at - JUST_BEFORE - await scenario_now())
                await handle.execute_update("apply", "step", result_type=str)
            await skip(env, scenario.until - await scenario_now() + timedelta(seconds=1))
            if await handle.result() != len(work.updates):
                raise AssertionError("the bare workflow missed updates")
    finally:
        await env.shutdown()
    return time.perf_counter() - began


async def skip(env: WorkflowEnvironment, gap: timedelta) -> None:
    # As simulate() sleeps: at most MAX_SKIP at a time (longer skips time out on the server).
    while gap > timedelta(0):
        await env.sleep(min(gap, MAX_SKIP))
        gap -= MAX_SKIP


async def run(runs: int = 3) -> Report:
    scenario = ten_year_scenario()
    empty = empty_scenario()
    work = workload(scenario)
    coopflow: list[float] = []
    bare: list[float] = []
    overhead: list[float] = []
    with embedded_postgres() as database_server:
        # Interleaved, so that a noisy moment of the machine hits both sides alike.
        for _ in range(runs):
            coopflow.append(await time_coopflow(scenario, database_server))
            bare.append(await time_bare(scenario, work))
            overhead.append(await time_coopflow(empty, database_server))
    ratio = median(coopflow) / median(bare)
    years = (scenario.until - scenario.start).days / 365.25
    return Report(
        name="simulate_ratio",
        title="simulate: coopflow vs bare workflow (time-skipping server)",
        lines=[
            f"scenario: {years:.0f} years, {len(scenario.steps)} steps; per run "
            f"{len(work.updates)} updates, {len(work.timers)} timers, "
            f"~{work.activities} activities; {runs} runs each, PostgreSQL {postgres_mode()}",
            f"coopflow simulate(): median {median(coopflow):.2f} s  ({_runs(coopflow)})",
            f"bare workflow:       median {median(bare):.2f} s  ({_runs(bare)})",
            f"fixed overhead, simulate() of an empty scenario: median {median(overhead):.2f} s"
            f"  ({_runs(overhead)})",
        ],
        targets=[lighter("ratio coopflow / bare", ratio, TARGET_RATIO)],
        figures=[
            ("coopflow simulate(), median", f"{median(coopflow):.2f} s"),
            ("bare workflow, median", f"{median(bare):.2f} s"),
            ("empty scenario (fixed overhead), median", f"{median(overhead):.2f} s"),
        ],
    )


def _runs(seconds: list[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in seconds)


if __name__ == "__main__":
    sys.exit(command(run, runs="runs of each side"))
