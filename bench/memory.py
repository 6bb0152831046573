"""Worker memory per cached cooperation workflow, against the bare workflow, in the same
run: N workflows of each kind are started and kept in the cache of a worker running in its
own process, whose resident memory is read before and after. Target: ratio ≤ 1.5.

    python -m bench.memory [--workflows 200]

On the local dev server (real server semantics) and an embedded PostgreSQL; cooperations
are registered as the API does, with their lines taken as accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from temporalio.client import WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError

from bench import checkins
from bench.bare import BareInput, BareWorkflow
from bench.memory_worker import spawned
from bench.scenario import register_accepted
from bench.stack import servers
from bench.support import Report, command, lighter
from runtime.temporal import cooperation_workflow_id

TARGET_RATIO = 1.5
# Started before the first reading, so that what only the first workflows cost (imports,
# the sandbox's module cache, connection pools) is not counted per workflow.
WARM_UP = 10
# Workflows started at once: enough to go fast, few enough for a small machine.
CONCURRENCY = 10

Start = Callable[[str, str], Awaitable[WorkflowHandle[Any, Any]]]
"""Starts one workflow: (a name of its own, task queue) → its handle."""


@dataclass(frozen=True)
class Measure:
    before_kib: int
    after_kib: int
    workflows: int

    @property
    def per_workflow_kib(self) -> float:
        return (self.after_kib - self.before_kib) / self.workflows


async def cached(handle: WorkflowHandle[Any, Any], query: str) -> None:
    """Wait until the workflow answers a query: its first task is done, so it is cached."""
    for _ in range(600):
        with contextlib.suppress(RPCError, WorkflowQueryFailedError):
            await handle.query(query)
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{handle.id} never answered a query")


async def measure(
    kind: str, address: str, url: str, workflows: int, start: Start, query: str
) -> Measure:
    """RSS of a fresh worker process of `kind`, before and after `workflows` more cached."""
    task_queue = f"memory-{kind}-{uuid.uuid4().hex[:8]}"

    async def start_all(first: int, count: int) -> None:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> None:
            async with limit:
                await cached(await start(f"{kind}-{i}", task_queue), query)

        await asyncio.gather(*(one(i) for i in range(first, first + count)))

    async with spawned(kind, address, task_queue, WARM_UP + workflows, url) as worker:
        await start_all(0, WARM_UP)
        before = await worker.rss()
        await start_all(WARM_UP, workflows)
        # The last registrations' activities may still be finishing: let them settle.
        await asyncio.sleep(2)
        after = await worker.rss()
    return Measure(before, after, workflows)


async def run(workflows: int = 200) -> Report:
    async with servers() as found:
        address, url = found.temporal_address, found.database_url
        version = await checkins.programme(url)
        client = await checkins.temporal(address)

        async def cooperation(name: str, task_queue: str) -> WorkflowHandle[Any, Any]:
            await register_accepted(client, name, version, task_queue)
            return client.get_workflow_handle(cooperation_workflow_id(name))

        async def bare(name: str, task_queue: str) -> WorkflowHandle[Any, Any]:
            return await client.start_workflow(
                BareWorkflow.run, BareInput(), id=f"bare:{name}", task_queue=task_queue
            )

        coopflow = await measure("coopflow", address, url, workflows, cooperation, "state")
        # A refused registration leaves no cooperation to cache: check.
        db = await asyncpg.connect(url)
        registered = await checkins.events_of(db, "CooperationRegistered")
        await db.close()
        if registered != WARM_UP + workflows:
            raise RuntimeError(f"{registered} of {WARM_UP + workflows} cooperations registered")
        baseline = await measure("bare", address, url, workflows, bare, "state")
    ratio = coopflow.per_workflow_kib / baseline.per_workflow_kib
    return Report(
        name="memory",
        title="memory: worker RSS per cached workflow (dev server)",
        lines=[
            f"{workflows} workflows of each kind after {WARM_UP} to warm up, each in a "
            "fresh worker process",
            _line("coopflow", coopflow),
            _line("bare", baseline),
        ],
        targets=[lighter("ratio coopflow / bare", ratio, TARGET_RATIO)],
        figures=[
            ("coopflow, per cached workflow", f"{coopflow.per_workflow_kib:,.1f} KiB"),
            ("bare, per cached workflow", f"{baseline.per_workflow_kib:,.1f} KiB"),
        ],
    )


def _line(kind: str, m: Measure) -> str:
    return (
        f"{kind + ':':<10} {m.per_workflow_kib:,.1f} KiB per workflow"
        f"  (RSS {m.before_kib / 1024:,.1f} → {m.after_kib / 1024:,.1f} MiB)"
    )


if __name__ == "__main__":
    sys.exit(command(run, workflows="cached workflows of each kind"))
