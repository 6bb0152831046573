"""A worker in a process of its own, for `bench.memory` (its RSS is then the worker's alone)
and `bench.server` (its CPU is then the worker's alone).

    python -m bench.memory_worker coopflow|bare ADDRESS TASK_QUEUE MAX_CACHED [DATABASE_URL]

Prints `ready` once polling, then answers each `rss` line on stdin with its resident set
size in KiB; stops at the end of stdin. `spawned` runs it so from another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from temporalio.worker import Worker

from bench.bare import BareWorkflow, noop
from bench.support import quiet
from runtime.config import Settings
from runtime.connect import connect_temporal
from store.db import create_pool
from worker.main import SANDBOX, build_worker

ROOT = Path(__file__).resolve().parents[1]


def rss_kib() -> int:
    gc.collect()
    # Hand freed heap back to the system, so that only what is still held is counted, not
    # what the last registrations' activities happened to leave free (glibc, Linux).
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


async def serve(kind: str, address: str, task_queue: str, max_cached: int, url: str) -> None:
    client = await connect_temporal(Settings(temporal_address=address), wait=30)
    pool = await create_pool(url, max_size=4) if kind == "coopflow" else None
    try:
        worker = (
            build_worker(client, pool, task_queue, max_cached_workflows=max_cached)
            if pool is not None
            else Worker(
                client,
                task_queue=task_queue,
                workflows=[BareWorkflow],
                activities=[noop],
                workflow_runner=SANDBOX,
                max_cached_workflows=max_cached,
            )
        )
        async with worker:
            print("ready", flush=True)
            while await asyncio.to_thread(sys.stdin.readline):
                print(rss_kib(), flush=True)
    finally:
        if pool is not None:
            await pool.close()


@dataclass(frozen=True)
class WorkerProcess:
    pid: int
    stdin: asyncio.StreamWriter
    stdout: asyncio.StreamReader

    async def rss(self) -> int:
        """Its resident set size in KiB, after a full collection."""
        self.stdin.write(b"rss\n")
        await self.stdin.drain()
        return int(await self.stdout.readline())


@contextlib.asynccontextmanager
async def spawned(
    kind: str, address: str, task_queue: str, max_cached: int, url: str = ""
) -> AsyncIterator[WorkerProcess]:
    """This module in a process of its own, once it polls `task_queue`."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.memory_worker",
        kind,
        address,
        task_queue,
        str(max_cached),
        *([url] if url else []),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert worker.stdin is not None and worker.stdout is not None
    try:
        if (await worker.stdout.readline()).strip() != b"ready":
            raise RuntimeError(f"the {kind} worker did not start")
        yield WorkerProcess(worker.pid, worker.stdin, worker.stdout)
    finally:
        worker.stdin.close()
        try:
            await asyncio.wait_for(worker.wait(), 60)
        except TimeoutError:
            worker.kill()
            await worker.wait()


def main() -> None:
    quiet()
    kind, address, task_queue, max_cached, *url = sys.argv[1:]
    asyncio.run(serve(kind, address, task_queue, int(max_cached), url[0] if url else ""))


if __name__ == "__main__":
    main()
