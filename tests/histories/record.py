"""Record the histories of each workflow shape we release, for the replay tests.

    .venv/bin/python -m tests.histories.record v1

writes tests/histories/<version>/*.json: every run of a cooperation (continue-as-new chain
included) and its loan's workflow. Record a new version whenever a release changes what a
workflow does; keep the old ones: live cooperations still replay them.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from cli.simulate import simulation
from domain.simulation import load_scenario
from tests.workflows.scenarios import loan, multi_year

HERE = Path(__file__).resolve().parent

SHAPES: list[tuple[str, dict[str, Any], int | None]] = [
    ("multi-year", multi_year(), None),
    ("continued", multi_year(), 60),
    ("loan", loan(), None),
]


async def record(version: str) -> None:
    folder = HERE / version
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw, budget in SHAPES:
        scenario = load_scenario(raw)
        async with simulation(scenario, history_budget=budget) as sim:
            await sim.run()
            client = sim.env.client
            run_id = sim.first_run_id
            number = 1
            recorded = []
            while run_id:
                history = await client.get_workflow_handle(
                    sim.handle.id, run_id=run_id
                ).fetch_history()
                path = folder / f"{name}-run{number}.json"
                path.write_text(history.to_json(), encoding="utf-8")
                recorded.append(path)
                last = history.events[-1]
                run_id = (
                    last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                    if last.HasField("workflow_execution_continued_as_new_event_attributes")
                    else None
                )
                number += 1
            # A chain's first run, its first continued run and its last are its shapes.
            for path in recorded[2:-1]:
                path.unlink()
            for path in recorded[:2] + recorded[2:][-1:]:
                print(f"{path.relative_to(HERE.parent.parent)}")
            for event in (await sim.handle.fetch_history()).events:
                if event.HasField("start_child_workflow_execution_initiated_event_attributes"):
                    child = event.start_child_workflow_execution_initiated_event_attributes
                    history = await client.get_workflow_handle(child.workflow_id).fetch_history()
                    path = folder / f"{name}-loan.json"
                    path.write_text(history.to_json(), encoding="utf-8")
                    print(f"{path.relative_to(HERE.parent.parent)}: {len(history.events)} events")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v1"))
