"""The server's own baseline: how many updates per second one Temporal dev server takes when
the workflow does nothing (an update that returns at once), one no-op activity (an update
followed by its activity), and a coopflow check-in (`SubmitCheckIn` as a raw update, as
bench.http_checkins' raw side), in the same rounds on the same stack. Target: check-ins/s
≥ 0.5 × the updates that return at once (the median of the rounds' ratios).

    python -m bench.server [--rounds 7] [--updates 250]

One dev server, 50 workflows a side, 16 concurrent clients in a closed loop, round-robin over
a side's workflows. The bare workflows (bench.bare) run in a worker process of their own
(bench.memory_worker), the cooperations in the stack's `python -m worker`; a check-in drive
ends when its check-ins are all in the event log, its effects counted with it. The CPU each
process spends per update says what a check-in pays beyond the server's round trip: the
activity's (a task through the queue) and the rules'.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import uuid
from collections.abc import Awaitable, Callable
from statistics import median
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowHandle

from bench import checkins, rounds
from bench.bare import BareInput, BareWorkflow
from bench.memory import cached
from bench.memory_worker import spawned
from bench.rounds import CLIENTS, Drive, Submit
from bench.stack import api_stack
from bench.support import Report, command, lighter, postgres_mode

TARGET_RATIO = 0.5
SIDES = ("at once", "activity", "check-in")
PROCESSES = ("bare", "worker", "temporal", "postgres", "client")
STARTING = 10
"""Bare workflows started at once."""


def bare_submit(client: Client, update: str) -> Submit:
    async def submit(name: str) -> str | None:
        handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(f"bare:{name}")
        try:
            answer = await handle.execute_update(update, "step", result_type=str)
        except Exception as error:  # any failure is counted, not raised
            return f"{update}: {type(error).__name__} {error}"
        return None if answer == "step" else f"{update}: answered {answer!r}"

    return submit


async def start_bare(client: Client, task_queue: str, ids: list[str]) -> None:
    """Each open (no `until`), cached once it answers a query: its first activity done."""
    limit = asyncio.Semaphore(STARTING)

    async def one(name: str) -> None:
        async with limit:
            handle = await client.start_workflow(
                BareWorkflow.run, BareInput(), id=f"bare:{name}", task_queue=task_queue
            )
            await cached(handle, "state")

    await asyncio.gather(*(one(name) for name in ids))


async def run(rounds: int = 7, updates: int = 250) -> Report:
    async with api_stack(worker=True) as stack:
        task_queue = f"server-bare-{uuid.uuid4().hex[:8]}"
        client = await checkins.temporal(stack.temporal_address)
        version = await checkins.programme(stack.database_url)
        ids = {side: checkins.names(side.replace(" ", "-")) for side in SIDES}
        await checkins.register_all(client, stack.task_queue, ids["check-in"], version)
        async with spawned("bare", stack.temporal_address, task_queue, 1000) as bare:
            await start_bare(client, task_queue, ids["at once"] + ids["activity"])
            db = await asyncpg.connect(stack.database_url)
            try:
                drives = await _drives(client, db, stack.pids, bare.pid, ids, rounds, updates)
            finally:
                await db.close()
    return _report(drives)


async def _drives(
    client: Client,
    db: asyncpg.Connection,
    pids: dict[str, int],
    bare: int,
    ids: dict[str, list[str]],
    count: int,
    updates: int,
) -> dict[str, list[Drive]]:
    submits = {
        "at once": bare_submit(client, "at_once"),
        "activity": bare_submit(client, "apply"),
        "check-in": checkins.raw_submit(client),
    }
    counted = {k: v for k, v in pids.items() if k != "api"} | {"bare": bare}
    projected = checkins.Projected(db)
    settle: dict[str, Callable[[Drive], Awaitable[None]] | None] = {
        "at once": None,
        "activity": None,
        "check-in": projected,
    }
    # As the API does (api/main.py): no full collection of this process mid-drive.
    gc.freeze()

    def drive(side: str, n: int) -> Awaitable[Drive]:
        return rounds.measured(counted, submits[side], ids[side], n, settled=settle[side])

    for side in SIDES:  # not timed: caches, connections and first check-ins warm
        await drive(side, len(ids[side]))
    return await rounds.alternated(SIDES, count, lambda side: drive(side, updates))


def _report(drives: dict[str, list[Drive]]) -> Report:
    at_once = drives["at once"]
    ratios = {side: rounds.ratios(drives[side], at_once) for side in SIDES[1:]}
    ratio = median(ratios["check-in"])
    failed = rounds.failures(*(d for side in SIDES for d in drives[side]))
    first = at_once[0]
    lines = [
        f"{checkins.COOPERATIONS} workflows per side, {CLIENTS} concurrent clients, "
        f"{len(at_once)} rounds of {first.sent} updates per side (after "
        f"{checkins.COOPERATIONS} to warm up), PostgreSQL {postgres_mode()}",
        *(rounds.rate_line(f"{side + ':':<10}", drives[side], " updates/s") for side in SIDES),
        *(
            f"ratio {side} / at once by round: {', '.join(f'{x:.2f}' for x in ratios[side])}"
            for side in ratios
        ),
        f"CPU per update, ms (medians; {rounds.cores_note()}):",
        *(f"  {side + ':':<10} {rounds.cpu_line(drives[side], PROCESSES)}" for side in SIDES),
        *rounds.failure_lines(failed),
    ]
    return Report(
        name="server",
        title="The server's own baseline: updates/s, bare and coopflow (dev server)",
        lines=lines,
        targets=[
            lighter(
                "ratio check-in / update at once, /s (median of rounds)",
                ratio,
                TARGET_RATIO,
                at_least=True,
            ),
            rounds.none_failed("updates", failed),
        ],
        figures=[
            *(
                (f"{side}, updates/s (median)", f"{rounds.rate(drives[side]):.1f}")
                for side in SIDES
            ),
            (
                "ratio activity / at once (median of rounds)",
                f"{median(ratios['activity']):.2f}×",
            ),
        ],
    )


if __name__ == "__main__":
    sys.exit(command(run, rounds="rounds of each side", updates="updates per side and round"))
