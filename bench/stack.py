"""The stack the benchmarks run on, each part in a process of its own as in production
(`coopflow dev` runs them so): PostgreSQL and a Temporal dev server (`servers`), the API
served by uvicorn and, when asked, a worker (`api_stack`), any more processes (`process`).
With a lean HTTP client to drive the API, and the CPU each process spends, to say where the
cores went.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.support import postgres_server, temporal_server
from notify.sealing import generate_key
from runtime.localstack import free_port, spawn, stop

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
IDLE_LIMIT = 2.0
"""Seconds a kept-alive connection may sit idle before it is used again."""


@dataclass(frozen=True)
class Servers:
    """A migrated database of its own on an embedded PostgreSQL, and a Temporal dev server."""

    database_url: str
    temporal_address: str
    folder: Path
    """For the logs of the processes started on them."""
    pids: dict[str, int]
    """temporal, postgres (the postmaster: its backends are counted with it), and this
    process as the client."""


@contextlib.asynccontextmanager
async def servers() -> AsyncIterator[Servers]:
    from cli.simulate import temporary_database

    with (
        tempfile.TemporaryDirectory(prefix="coopflow-bench-") as folder,
        postgres_server() as postgres,
        temporal_server(Path(folder)) as temporal,
    ):
        async with temporary_database(postgres.url) as url:
            assert postgres.proc is not None and temporal.proc is not None
            pids = {
                "temporal": temporal.proc.pid,
                "postgres": postgres.proc.pid,
                "client": os.getpid(),
            }
            yield Servers(url, temporal.address, Path(folder), pids)


@dataclass(frozen=True)
class Stack(Servers):
    """The servers, the API and, when asked, a worker; `pids` holds their processes too (api,
    worker)."""

    api_url: str
    task_queue: str


@contextlib.asynccontextmanager
async def api_stack(*, worker: bool) -> AsyncIterator[Stack]:
    """A migrated database of its own, the dev server, the API and, with `worker`, a worker.
    This process only drives them: its clients compete for the cores as any client would."""
    # The API seals webhook secrets with it, every worker opens them (bench.workers starts
    # more, from this environment).
    os.environ.setdefault("COOPFLOW_SECRETS_KEY", generate_key())
    async with servers() as found:
        port = free_port()
        task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        env = service_env(found, task_queue) | {
            "COOPFLOW_API_HOST": "127.0.0.1",
            "COOPFLOW_API_PORT": str(port),
            "COOPFLOW_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        pids = dict(found.pids)
        with contextlib.ExitStack() as processes:
            if worker:
                pids["worker"] = processes.enter_context(process("worker", env, found.folder)).pid
            api = processes.enter_context(process("api", env, found.folder))
            pids["api"] = api.pid
            api_url = f"http://127.0.0.1:{port}"
            http = HttpClient(api_url)
            try:
                await until_ready(http, "/healthz", api, found.folder / "api.log")
            finally:
                http.close()
            yield Stack(
                found.database_url, found.temporal_address, found.folder, pids, api_url, task_queue
            )


def service_env(found: Servers, task_queue: str) -> dict[str, str]:
    """This environment for a coopflow process (`python -m worker`, `python -m api`) on the
    benchmark's servers."""
    return {
        k: v
        for k, v in os.environ.items()
        # A metrics or health port set for the caller's own worker would be taken twice.
        if k not in ("COOPFLOW_METRICS_ADDRESS", "COOPFLOW_HEALTH_ADDRESS")
    } | {
        "COOPFLOW_DATABASE_URL": found.database_url,
        "COOPFLOW_TEMPORAL_ADDRESS": found.temporal_address,
        "COOPFLOW_TASK_QUEUE": task_queue,
        "COOPFLOW_LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def process(
    module: str, env: dict[str, str], folder: Path, args: Sequence[str] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m module` (`python -m api` is `coopflow api`, as `coopflow dev` runs it),
    logging to folder/module.log."""
    log = folder / f"{module}.log"
    proc = spawn([sys.executable, "-m", module, *args], env=env, log=log, cwd=ROOT)
    try:
        yield proc
    finally:
        stop(proc)


async def until_ready(
    http: HttpClient, path: str, proc: subprocess.Popen[bytes], log: Path
) -> None:
    """Until `path` answers 200; an error with the log's end when the process exits or
    never answers."""
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"{log.stem} exited ({proc.returncode}): {_tail(log)}")
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            if (await http.request("GET", path)).status == 200:
                return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{log.stem} never answered {path}: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpClient:
    """HTTP/1.1 over keep-alive connections, one per request in flight.

    The load generator shares the machine's cores with what it measures: httpx costs about
    1.7 ms of CPU per request here, more than half what the API spends on a check-in, and
    would count against the HTTP side only. This costs a tenth of that. It reads what the
    API sends: a Content-Length body (never chunked).
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> Answer:
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        reader, writer = await self._connection()
        try:
            answer, keep = await _exchange(reader, writer, "\r\n".join(head).encode(), payload)
        except BaseException:
            writer.close()
            raise
        if keep:
            self._idle.append((reader, writer, time.monotonic()))
        else:
            writer.close()
        return answer

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            reader, writer, since = self._idle.pop()
            # Never one the server may be closing: uvicorn closes them after 5 s idle, and a
            # request sent as it does so would be lost.
            if time.monotonic() - since < IDLE_LIMIT and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, payload: bytes
) -> tuple[Answer, bool]:
    writer.write(head + b"\r\n\r\n" + payload)
    status = int((await reader.readuntil(b"\r\n")).split()[1])
    length, keep = 0, True
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            raise ValueError("a chunked answer: this client reads Content-Length bodies only")
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
    return Answer(status, await reader.readexactly(length)), keep


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU (user + system) each process has spent so far; the postmaster's with its children,
    the backends, living or gone."""
    children: dict[int, float] = {}
    postmaster = pids.get("postgres")
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = _stat(int(entry))
                if int(stat[1]) == postmaster:
                    children[int(entry)] = _ticks(stat, 11, 12)
    spent = {}
    for name, pid in pids.items():
        stat = _stat(pid)
        spent[name] = _ticks(stat, 11, 12)
        if pid == postmaster:
            spent[name] += _ticks(stat, 13, 14) + sum(children.values())
    return spent


def _stat(pid: int) -> list[str]:
    # The fields after the command name, which may hold spaces: state is [0], ppid [1].
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()


def _ticks(stat: list[str], *fields: int) -> float:
    return sum(int(stat[i]) for i in fields) / CLOCK_TICKS
