"""History events of the ten-year cooperation: per simulated year, and the largest run
between two continue-as-new. Target: the largest run stays under Temporal's warning
threshold of 10,240 events (TEMPORAL.md).

    python -m bench.history
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from bench.scenario import ten_year_scenario
from bench.support import Report, command, count, embedded_postgres
from cli.simulate import simulation
from domain.scenario import Scenario

HISTORY_WARNING = 10_240


@dataclass(frozen=True)
class Run:
    run_id: str
    events: int
    types: Counter[str]
    """Event type → count, for the diagnosis of a large run."""


async def simulate_keeping_history(scenario: Scenario, database_server: str) -> list[Run]:
    """`coopflow simulate`'s own run, then the histories, read before its server stops."""
    async with simulation(scenario, database_server=database_server) as sim:
        await sim.run()
        return await continue_as_new_chain(sim.env.client, sim.handle.id)


async def continue_as_new_chain(client: Client, workflow_id: str) -> list[Run]:
    """Every run of the workflow, first to latest."""
    return [_run(history) for history in await chain_histories(client, workflow_id)]


async def chain_histories(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """The history of every run of the workflow, first to latest. The time-skipping server
    has no list query, so the chain is walked back from the latest run: each run's first
    event names the run it continues."""
    histories: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            return histories[::-1]


def _run(history: WorkflowHistory) -> Run:
    types = Counter(
        EventType.Name(e.event_type).removeprefix("EVENT_TYPE_").lower() for e in history.events
    )
    return Run(run_id=history.run_id, events=len(history.events), types=types)


async def run() -> Report:
    scenario = ten_year_scenario()
    with embedded_postgres() as database_server:
        runs = await simulate_keeping_history(scenario, database_server)
    years = (scenario.until - scenario.start).days / 365.25
    total = sum(r.events for r in runs)
    largest = max(runs, key=lambda r: r.events)
    by_type = ", ".join(f"{t} {n}" for t, n in largest.types.most_common())
    return Report(
        name="history",
        title="history: events of the ten-year cooperation",
        lines=[
            f"scenario: {years:.0f} years, {len(scenario.steps)} steps",
            f"total history events: {total:,} in {len(runs)} runs"
            f" ({', '.join(str(r.events) for r in runs)})",
            f"events per simulated year: {total / years:,.0f}",
            f"largest run: {largest.events:,} events: {by_type}",
        ],
        targets=[count("largest run, events", largest.events, HISTORY_WARNING)],
        figures=[
            ("events per simulated year", f"{total / years:,.0f}"),
            ("total events, runs", f"{total:,}, {len(runs)}"),
        ],
    )


if __name__ == "__main__":
    sys.exit(command(run))
