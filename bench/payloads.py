"""What history and continue-as-new carry for a long cooperation: ten years, three funding
lines, every command with a request id (so 200 remembered answers). Targets: the largest
continue-as-new input at most 64 KB, and no payload anywhere in the histories at Temporal's
256 KB warning (TEMPORAL.md).

    python -m bench.payloads
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.api.history.v1 import HistoryEvent

from bench.history import chain_histories
from bench.scenario import COOPERATION, PROGRAMME, START
from bench.support import Report, Target, command, embedded_postgres
from cli.simulate import simulation
from domain.scenario import Scenario, parse_scenario
from workflows.cooperation import CooperationWorkflow
from workflows.shell import ANSWER_WINDOW

YEARS = 10
KB = 1024
CONTINUE_AS_NEW_LIMIT = 64 * KB
PAYLOAD_WARNING = 256 * KB


def three_line_scenario(years: int = YEARS) -> Scenario:
    """The benchmarks' cooperation co-funded by three programmes: monthly check-ins and
    reviews, quarterly indicators, two advances."""
    programmes: list[dict[str, Any]] = [
        PROGRAMME | {"id": f"bench-{name}", "funder": f"fondation-{name}"}
        for name in ("a", "b", "c")
    ]
    steps: list[dict[str, Any]] = []
    for month in range(12 * years):
        check_in: dict[str, Any] = {"id": f"ci-{month + 1}"}
        if month % 3 == 0:
            check_in["indicators"] = {"participants": 10 + month, "heures": 4 * month}
        steps.append({"at": f"P{month}M20D", "check_in": check_in})
        steps.append(
            {"at": f"P{month}M22D", "review": {"id": f"ci-{month + 1}", "decision": "accepted"}}
        )
        if month in (11, 35):
            steps.append({"at": f"P{month}M25D", "advance": {}})
    return parse_scenario(
        {
            "start": START,
            "programmes": programmes,
            "cooperation": COOPERATION | {"funding_lines": [p["id"] for p in programmes]},
            "steps": steps,
            "until": f"P{years}Y",
        }
    )


def _sizes(event: HistoryEvent) -> list[tuple[str, int]]:
    """(what, bytes) of every payload an event carries."""
    found: list[tuple[str, int]] = []

    def add(what: str, payloads: Payloads) -> None:
        if payloads.payloads:
            found.append((what, sum(p.ByteSize() for p in payloads.payloads)))

    kind = event.WhichOneof("attributes")
    attributes: Any = getattr(event, kind) if kind else None
    if kind == "workflow_execution_started_event_attributes":
        add("workflow input", attributes.input)
    elif kind == "workflow_execution_continued_as_new_event_attributes":
        add("continue-as-new input", attributes.input)
    elif kind == "workflow_execution_completed_event_attributes":
        add("workflow result", attributes.result)
    elif kind == "activity_task_scheduled_event_attributes":
        add("activity input", attributes.input)
    elif kind == "activity_task_completed_event_attributes":
        add("activity result", attributes.result)
    elif kind == "workflow_execution_update_accepted_event_attributes":
        add("update input", attributes.accepted_request.input.args)
    elif kind == "workflow_execution_update_completed_event_attributes":
        add("update answer", attributes.outcome.success)
    elif kind == "workflow_execution_signaled_event_attributes":
        add("signal input", attributes.input)
    elif kind == "start_child_workflow_execution_initiated_event_attributes":
        add("child input", attributes.input)
    elif kind == "marker_recorded_event_attributes":
        for name, payloads in attributes.details.items():
            add(f"marker {name}", payloads)
    return found


async def measure(scenario: Scenario, database_server: str) -> dict[str, Any]:
    async with simulation(scenario, database_server=database_server) as sim:
        await sim.run()
        client = sim.env.client
        state = await sim.handle.query(CooperationWorkflow.full_state)
        largest: dict[str, int] = defaultdict(int)
        histories = await chain_histories(client, sim.handle.id)
        for history in histories:
            for event in history.events:
                for what, size in _sizes(event):
                    largest[what] = max(largest[what], size)
        runs = len(histories)
    return {"largest": dict(largest), "runs": runs, "state": len(state.model_dump_json())}


async def run() -> Report:
    scenario = three_line_scenario()
    commands = sum(1 for _ in scenario.steps)
    with embedded_postgres() as server:
        measured = await measure(scenario, server)
    largest: dict[str, int] = measured["largest"]
    carried = largest.get("continue-as-new input", 0)
    heaviest = max(largest.items(), key=lambda item: item[1])
    lines = [
        f"{YEARS} years, 3 funding lines, {commands} commands with request ids "
        f"({ANSWER_WINDOW} remembered), {measured['runs']} runs",
        f"final state as JSON: {measured['state'] / KB:,.1f} KB",
        "largest payload of each kind:",
        *(f"  {what:<24} {size / KB:>8,.1f} KB" for what, size in sorted(largest.items())),
    ]
    return Report(
        name="payloads",
        title="History and continue-as-new payloads",
        lines=lines,
        targets=[
            Target(
                "largest continue-as-new input", carried / KB, CONTINUE_AS_NEW_LIMIT / KB, " KB", 1
            ),
            Target(
                f"largest payload ({heaviest[0]})",
                heaviest[1] / KB,
                (PAYLOAD_WARNING - 1) / KB,
                " KB",
                1,
            ),
        ],
        figures=[
            ("runs", str(measured["runs"])),
            ("final state", f"{measured['state'] / KB:.1f} KB"),
        ],
    )


if __name__ == "__main__":
    sys.exit(command(run))
