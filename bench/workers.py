"""Check-in throughput with one worker process and with two on the same dev server and
PostgreSQL, in the same run; worker memory per cached cooperation and the sticky cache size
it recommends (`COOPFLOW_MAX_CACHED_WORKFLOWS`).

    python -m bench.workers [--rounds 5] [--check-ins 250] [--cached 300]

Throughput: raw Temporal updates (`workflows.client.send`, as bench.http_checkins's raw
side), 16 concurrent clients in a closed loop, round-robin over 50 cooperations per side.
One side's cooperations are on a task queue that one worker process serves (the stack's
`python -m worker`); the other side's on a task queue that two worker processes share,
registered once both poll, so that their workflows are spread over both (a workflow stays
on the worker that cached it, Temporal's sticky execution; its effects activities go to
either). The sides alternate round by round on the same stack; each figure is the median of
the rounds, the ratio two / one the median of the rounds' ratios.

On a 2-core machine the ratio is expected near 1: the dev server, PostgreSQL, the client and
the workers already share both cores with one worker, so a second worker process adds a
scheduler for the same cores, not cores (the CPU per check-in by process says where they go).
Scaling out pays when workers get cores of their own and the server keeps up. The target is
only that two workers lose nothing: no check-in refused or failed, and every answered one in
the event log. Every worker process also runs the outbox loop and the fault watch, as
`coopflow worker` does in production, whichever side is driven.

Memory: bench.memory's measure (a fresh worker process, its RSS before and after N more
cooperations cached), then the cache's memory at candidate cache sizes. The recommended
size is the largest whose cache takes at most half the memory request of deploy/k8s's
worker Deployment (512 MiB): the other half for the process itself (the RSS of the stack's
`python -m worker`, outbox and fault watch running, is shown) and the tasks in flight, the
limit (1 GiB) for bursts. The cost per cached cooperation is linear (the same within 2 %
with 300 and 1000 cached).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from statistics import median
from typing import Any

import asyncpg
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle

from bench import checkins, memory, rounds
from bench.checkins import COOPERATIONS, Projected, raw_submit, register_all
from bench.rounds import CLIENTS, Drive
from bench.scenario import register_accepted
from bench.stack import Stack, api_stack, process, service_env
from bench.support import Report, command, postgres_mode
from domain.programme import ProgrammeVersion
from runtime.temporal import cooperation_workflow_id

SIDES = ("one", "two")
WORKER_MEMORY_MIB = 512
"""The worker's memory request in deploy/k8s/worker-deployment.yaml."""
CACHE_SHARE = 0.5
"""Of that request, what the sticky cache may take."""
CACHE_SIZES = (250, 500, 1000, 2000, 5000, 10000)
SDK_DEFAULT_CACHE = 1000
"""temporalio's `Worker(max_cached_workflows=…)` default, what an unset setting gives."""


@dataclass(frozen=True)
class Side:
    task_queue: str
    ids: list[str]
    workers: dict[str, int]
    """Its worker processes by name, for their CPU."""


async def run(rounds: int = 5, check_ins: int = 250, cached: int = 300) -> Report:
    async with api_stack(worker=True) as stack:
        version = await checkins.programme(stack.database_url)
        with _two_workers(stack) as (task_queue, pids):
            sides = {
                "one": Side(
                    stack.task_queue, checkins.names("one"), {"worker": stack.pids["worker"]}
                ),
                "two": Side(task_queue, checkins.names("two"), pids),
            }
            drives, spread = await _throughput(stack, sides, version, rounds, check_ins)
            # A production worker as `coopflow worker` runs it, its side's cooperations cached.
            running = rss_mib(stack.pids["worker"])
        cache = await memory.measure(
            "coopflow",
            stack.temporal_address,
            stack.database_url,
            cached,
            _cooperation_starter(stack, version),
            "state",
        )
    return _report(drives, spread, cache, running)


@contextlib.contextmanager
def _two_workers(stack: Stack) -> Iterator[tuple[str, dict[str, int]]]:
    """Two more `python -m worker` processes, on a task queue of their own."""
    task_queue = f"{stack.task_queue}-two"
    env = service_env(stack, task_queue)
    with contextlib.ExitStack() as processes:
        pids = {}
        for name in ("worker-a", "worker-b"):
            folder = stack.folder / name
            folder.mkdir()
            pids[name] = processes.enter_context(process("worker", env, folder)).pid
        yield task_queue, pids


async def _pollers(client: Client, task_queue: str) -> set[str]:
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return {p.identity for p in answer.pollers}


async def _until_polled(client: Client, task_queue: str, workers: int) -> None:
    for _ in range(600):
        if len(await _pollers(client, task_queue)) >= workers:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{workers} workers never polled {task_queue}")


async def _holders(client: Client, ids: list[str]) -> Counter[str]:
    """Which worker completed each cooperation's last workflow task (the one caching it)."""
    found: Counter[str] = Counter()
    for cooperation in ids:
        handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(
            cooperation_workflow_id(cooperation)
        )
        last = ""
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                last = event.workflow_task_completed_event_attributes.identity
        found[last] += 1
    return found


async def _throughput(
    stack: Stack, sides: dict[str, Side], version: ProgrammeVersion, count: int, check_ins: int
) -> tuple[dict[str, list[Drive]], Counter[str]]:
    client = await checkins.temporal(stack.temporal_address)
    for side in sides.values():
        await _until_polled(client, side.task_queue, len(side.workers))
        await register_all(client, side.task_queue, side.ids, version)
    gc.freeze()  # as bench.http_checkins: no full collection of this process mid-drive
    submit = raw_submit(client)
    pids = {k: v for k, v in stack.pids.items() if k != "api"} | sides["two"].workers
    db = await asyncpg.connect(stack.database_url)
    settled = Projected(db)

    async def drive(name: str, n: int) -> Drive:
        return await rounds.measured(pids, submit, sides[name].ids, n, settled=settled)

    try:
        for name in SIDES:  # not timed: caches, connections and first check-ins warm
            await drive(name, COOPERATIONS)
        drives = await rounds.alternated(SIDES, count, lambda name: drive(name, check_ins))
    finally:
        await db.close()
    return drives, await _holders(client, sides["two"].ids)


def _cooperation_starter(stack: Stack, version: ProgrammeVersion) -> memory.Start:
    clients: list[Client] = []

    async def start(name: str, task_queue: str) -> WorkflowHandle[Any, Any]:
        if not clients:
            clients.append(await checkins.temporal(stack.temporal_address))
        await register_accepted(clients[0], name, version, task_queue)
        return clients[0].get_workflow_handle(cooperation_workflow_id(name))

    return start


def recommended(per_kib: float) -> int:
    """The largest candidate cache within its share of the worker's memory request."""
    budget = WORKER_MEMORY_MIB * CACHE_SHARE
    return max((n for n in CACHE_SIZES if n * per_kib / 1024 <= budget), default=CACHE_SIZES[0])


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _report(
    drives: dict[str, list[Drive]], spread: Counter[str], cache: memory.Measure, running: float
) -> Report:
    rates = {name: rounds.rate(drives[name]) for name in SIDES}
    ratios = rounds.ratios(drives["two"], drives["one"])
    ratio = median(ratios)
    failures = rounds.failures(*drives["one"], *drives["two"])
    per = cache.per_workflow_kib
    base = cache.before_kib / 1024
    best = recommended(per)
    sizes = sorted({*CACHE_SIZES, SDK_DEFAULT_CACHE})
    lines = [
        f"{COOPERATIONS} cooperations per side, {CLIENTS} concurrent clients, "
        f"{len(drives['one'])} rounds of {drives['one'][0].sent} check-ins per side, "
        f"raw updates, PostgreSQL {postgres_mode()}, {os.cpu_count()} cores",
        *(
            rounds.rate_line(
                f"{name} worker{'s:' if name == 'two' else ': '}", drives[name], " check-ins/s"
            )
            for name in SIDES
        ),
        f"ratio two / one by round: {', '.join(f'{x:.2f}' for x in ratios)}"
        " (near 1 expected on 2 cores: the second worker shares the same cores)",
        "CPU per check-in, ms (medians; the 'two' side's check-ins run on worker-a/-b):",
        *(f"  {name}: {rounds.cpu_line(drives[name])}" for name in SIDES),
        "two workers' side, cooperations by the worker caching them at the end: "
        + ", ".join(f"{identity or '?'} {n}" for identity, n in sorted(spread.items())),
        f"worker memory: {per:,.1f} KiB per cached cooperation ({cache.workflows} cached after "
        f"{memory.WARM_UP} to warm up; RSS {base:,.1f} → {cache.after_kib / 1024:,.1f} MiB)",
        f"the stack's `python -m worker` ({COOPERATIONS} cooperations cached, outbox and fault "
        f"watch running): RSS {running:,.1f} MiB, the base of the worker figures below",
        *(
            f"  cache {n:>6,}: {n * per / 1024:7,.1f} MiB of cache, worker ≈ "
            f"{running + n * per / 1024:7,.1f} MiB"
            + ("  (the SDK's default)" if n == SDK_DEFAULT_CACHE else "")
            + ("  <- recommended" if n == best else "")
            for n in sizes
        ),
        f"recommended: COOPFLOW_MAX_CACHED_WORKFLOWS={best} (≈ {best * per / 1024:,.0f} MiB of "
        f"cache, at most {CACHE_SHARE:.0%} of the worker's {WORKER_MEMORY_MIB} MiB request; "
        f"worker ≈ {running + best * per / 1024:,.0f} MiB)",
        *rounds.failure_lines(failures),
    ]
    return Report(
        name="workers",
        title="Workers: check-ins/s with one and with two worker processes; cache memory",
        lines=lines,
        targets=[rounds.none_failed("check-ins (two workers and one)", failures)],
        figures=[
            ("one worker, check-ins/s (median)", f"{rates['one']:.1f}"),
            ("two workers, check-ins/s (median)", f"{rates['two']:.1f}"),
            ("ratio two / one (median of rounds)", f"{ratio:.2f}×"),
            ("worker memory per cached cooperation", f"{per:,.1f} KiB"),
            (
                "recommended COOPFLOW_MAX_CACHED_WORKFLOWS",
                f"{best} (≈ {best * per / 1024:,.0f} MiB of cache)",
            ),
        ],
    )


if __name__ == "__main__":
    sys.exit(
        command(
            run,
            **rounds.OPTIONS,
            cached="cooperations cached for memory",
        )
    )
