"""Check-ins through the HTTP API against raw Temporal updates of the same command, on one
stack in the same run. Target: check-ins per second through HTTP ≥ 0.8 × raw (the median of
the rounds' ratios); latencies at half the HTTP maximum rate, for both, as figures.

    python -m bench.http_checkins [--rounds 7] [--check-ins 250] [--at-half-rate 600]

One Temporal dev server, one worker and the API (uvicorn) each in a process of its own, one
embedded PostgreSQL. HTTP: `POST /v1/cooperations/{id}/check-ins` with the collective's
token (API → update → workflow → answer). Raw: the same `SubmitCheckIn` sent as an update
from this process (`workflows.client.send`). Each side has its own cooperations, registered
with their line taken as accepted so that check-ins are scheduled; both are driven by the
same number of concurrent clients, round-robin over their cooperations. Every check-in of a
cooperation fills period 1 (the current one), replacing the unreviewed one before it, so
the rules refuse none: a refusal counts as a failure.

Everything shares the machine's cores, so the CPU each process spends per check-in (its
effects included) is reported too: it says where the HTTP side's extra cost goes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from statistics import median

import asyncpg
from temporalio.client import Client

from bench.scenario import PROGRAMME, register_accepted
from bench.stack import HttpClient, Stack, api_stack, cpu_seconds
from bench.support import Report, Target, exit_code, percentile, postgres_mode, quiet
from domain.commands import SubmitCheckIn
from domain.programme import ProgrammeSpec, ProgrammeVersion
from runtime.config import Settings
from runtime.connect import connect_temporal
from runtime.temporal import cooperation_workflow_id
from store.db import create_pool
from store.programmes import put_programme
from store.tokens import create_token
from workflows.client import CommandRefused, send
from workflows.models import CommandRequest

TARGET_RATIO = 0.8
COOPERATIONS = 50
"""Per side: enough that 16 clients going round-robin rarely meet on one workflow."""
CLIENTS = 16
REGISTERING = 10
"""Registrations at once: each waits for its commitment in PostgreSQL."""
INDICATORS = {"participants": 12}
NARRATIVE = "Trois ateliers de réparation, un nouveau bénévole."
FAILURES_SHOWN = 3
PROCESSES = ("api", "worker", "temporal", "postgres", "client")

Submit = Callable[[str], Awaitable[str | None]]
"""Submits one check-in to a cooperation: None when accepted, else what went wrong."""


@dataclass(frozen=True)
class Drive:
    """One drive of one side: how many, how long, each latency, what failed."""

    sent: int
    seconds: float
    latencies: list[float]
    failures: list[str]
    cpu_ms: dict[str, float] = field(default_factory=dict)
    """Per check-in, by process, its effects included."""

    @property
    def rate(self) -> float:
        return (self.sent - len(self.failures)) / self.seconds

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


async def closed_loop(submit: Submit, cooperations: list[str], count: int) -> Drive:
    """CLIENTS clients, each sending its next check-in as soon as the last is answered: the
    maximum rate."""
    latencies: list[float] = []
    failures: list[str] = []
    turn = iter(range(count))

    async def client() -> None:
        for i in turn:
            began = time.perf_counter()
            failure = await submit(cooperations[i % len(cooperations)])
            latencies.append(time.perf_counter() - began)
            if failure is not None:
                failures.append(failure)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return Drive(count, time.perf_counter() - began, latencies, failures)


async def open_loop(submit: Submit, cooperations: list[str], count: int, rate: float) -> Drive:
    """A check-in every 1/rate seconds whatever the answers: latency at a fixed arrival rate,
    counted from when each was due to be sent (a late start is the system's delay too)."""
    latencies: list[float] = []
    failures: list[str] = []

    async def one(i: int, due: float) -> None:
        failure = await submit(cooperations[i % len(cooperations)])
        latencies.append(time.perf_counter() - due)
        if failure is not None:
            failures.append(failure)

    began = time.perf_counter()
    tasks = []
    for i in range(count):
        due = began + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return Drive(count, time.perf_counter() - began, latencies, failures)


def http_submit(
    http: HttpClient, tokens: dict[str, str], created: Callable[[str, str], None] | None = None
) -> Submit:
    """`created` is told each check-in's cooperation and id as its 201 arrives."""

    async def submit(cooperation: str) -> str | None:
        try:
            answer = await http.request(
                "POST",
                f"/v1/cooperations/{cooperation}/check-ins",
                body={"narrative": NARRATIVE, "indicators": INDICATORS},
                headers={"Authorization": f"Bearer {tokens[cooperation]}"},
            )
        except (OSError, ValueError, asyncio.IncompleteReadError) as error:
            return f"HTTP: {type(error).__name__} {error}"
        if answer.status != 201:
            return f"HTTP {answer.status}: {answer.body[:200].decode(errors='replace')}"
        if created is not None:
            created(cooperation, str(answer.json()["id"]))
        return None

    return submit


def raw_submit(client: Client) -> Submit:
    async def submit(cooperation: str) -> str | None:
        command = SubmitCheckIn(check_in_id=f"ci-{uuid.uuid4().hex[:20]}", indicators=INDICATORS)
        handle = client.get_workflow_handle(cooperation_workflow_id(cooperation))
        try:
            await send(handle, CommandRequest(command=command))
        except CommandRefused as refused:
            return f"raw: {refused.kind}: {refused}"
        return None

    return submit


async def register_all(
    client: Client,
    task_queue: str,
    ids: list[str],
    version: ProgrammeVersion,
    facilitator: str | None = None,
) -> None:
    limit = asyncio.Semaphore(REGISTERING)

    async def one(cooperation: str) -> None:
        async with limit:
            await register_accepted(client, cooperation, version, task_queue, facilitator)

    await asyncio.gather(*(one(i) for i in ids))


async def projected(db: asyncpg.Connection, expected: int) -> None:
    """Wait until the check-ins answered so far are all in the event log: the effects of one
    drive must not run on into the next, and an answered check-in must not be lost."""
    for _ in range(1200):
        found = await db.fetchval("SELECT count(*) FROM events WHERE type = 'CheckInSubmitted'")
        if found == expected:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{found} check-ins in the event log, {expected} answered")


async def run(rounds: int = 7, check_ins: int = 250, at_half_rate: int = 600) -> Report:
    async with api_stack(worker=True) as stack:
        return await measure(stack, rounds, check_ins, at_half_rate)


async def measure(stack: Stack, rounds: int, check_ins: int, at_half_rate: int) -> Report:
    http_ids = [f"http-{i:03d}" for i in range(COOPERATIONS)]
    raw_ids = [f"raw-{i:03d}" for i in range(COOPERATIONS)]
    tokens: dict[str, str] = {}
    pool = await create_pool(stack.database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            version = (await put_programme(conn, ProgrammeSpec.model_validate(PROGRAMME))).version
            for cooperation in http_ids:
                _, tokens[cooperation] = await create_token(conn, "collective", cooperation)
    finally:
        await pool.close()
    client = await connect_temporal(Settings(temporal_address=stack.temporal_address), wait=30)
    await register_all(client, stack.task_queue, http_ids + raw_ids, version)
    # As the API does (api/main.py): a full pass of this process's collector over all it has
    # imported (seen: 40 ms) would count as the latency of whichever side it interrupts.
    gc.freeze()
    http = HttpClient(stack.api_url)
    sides: dict[str, tuple[Submit, list[str]]] = {
        "HTTP": (http_submit(http, tokens), http_ids),
        "raw": (raw_submit(client), raw_ids),
    }
    db = await asyncpg.connect(stack.database_url)
    answered = 0

    async def drive(side: str, count: int, rate: float | None = None) -> Drive:
        nonlocal answered
        submit, ids = sides[side]
        before = cpu_seconds(stack.pids)
        done = await (
            closed_loop(submit, ids, count) if rate is None else open_loop(submit, ids, count, rate)
        )
        answered += done.sent - len(done.failures)
        # The CPU of a drive includes its effects, carried out after the answers.
        await projected(db, answered)
        after = cpu_seconds(stack.pids)
        cpu = {k: (after[k] - before[k]) * 1000 / done.sent for k in after}
        return replace(done, cpu_ms=cpu)

    try:
        # Not timed: each cooperation's first check-in, connections and caches warm.
        for side in sides:
            await drive(side, COOPERATIONS)
        maximum: dict[str, list[Drive]] = {"HTTP": [], "raw": []}
        for r in range(rounds):
            # Alternated, so that neither side always runs on the other's leftovers.
            for side in ("HTTP", "raw") if r % 2 == 0 else ("raw", "HTTP"):
                maximum[side].append(await drive(side, check_ins))
        half = median(d.rate for d in maximum["HTTP"]) / 2
        fixed = {side: await drive(side, at_half_rate, half) for side in sides}
    finally:
        await db.close()
        http.close()
    return _report(maximum, fixed)


def _report(maximum: dict[str, list[Drive]], fixed: dict[str, Drive]) -> Report:
    """`maximum`: each side's rounds at the maximum rate; `fixed`: each side at half the
    HTTP maximum."""
    # The machine's speed drifts from one moment to the next (other work, CPU steal): each
    # round's two drives run back to back, so the median of their ratios cancels the drift.
    ratios = [h.rate / r.rate for h, r in zip(maximum["HTTP"], maximum["raw"], strict=True)]
    ratio = median(ratios)
    failures = [f for d in [*maximum["HTTP"], *maximum["raw"], *fixed.values()] for f in d.failures]
    processes = [p for p in PROCESSES if p in maximum["HTTP"][0].cpu_ms]
    http_rate = median(d.rate for d in maximum["HTTP"])
    raw_rate = median(d.rate for d in maximum["raw"])
    half = http_rate / 2
    lines = [
        f"{COOPERATIONS} cooperations per side, {CLIENTS} concurrent clients, "
        f"{len(maximum['HTTP'])} rounds of {maximum['HTTP'][0].sent} check-ins per side "
        f"(after {COOPERATIONS} to warm up), "
        f"PostgreSQL {postgres_mode()}",
        *(
            f"{side + ':':<5} max {median(d.rate for d in drives):6.1f} check-ins/s"
            f"  (rounds {', '.join(f'{d.rate:.1f}' for d in drives)};"
            f" p50 {median(d.p(50) for d in drives):.0f} ms,"
            f" p99 {median(d.p(99) for d in drives):.0f} ms at {CLIENTS} clients)"
            for side, drives in maximum.items()
        ),
        "CPU per check-in at the maximum, ms (medians; "
        f"{os.cpu_count()} cores: the rate is about cores / total):",
        *(
            f"  {side + ':':<5} "
            + "  ".join(f"{p} {median(d.cpu_ms[p] for d in drives):.2f}" for p in processes)
            + f"  total {median(sum(d.cpu_ms.values()) for d in drives):.2f}"
            for side, drives in maximum.items()
        ),
        f"at half the HTTP maximum, {half:.1f} check-ins/s, {fixed['HTTP'].sent} each:",
        *(
            f"  {side + ':':<5} p50 {d.p(50):5.0f} ms  p99 {d.p(99):5.0f} ms"
            f"  (achieved {d.sent / d.seconds:.1f}/s)"
            for side, d in fixed.items()
        ),
        f"ratio HTTP / raw by round: {', '.join(f'{x:.2f}' for x in ratios)}",
        *(f"failure: {f}" for f in failures[:FAILURES_SHOWN]),
    ]
    return Report(
        name="http_checkins",
        title="Check-ins: through HTTP vs raw Temporal updates (dev server)",
        lines=lines,
        targets=[
            Target(
                "ratio HTTP / raw, check-ins/s (median of rounds)",
                ratio,
                TARGET_RATIO,
                "×",
                at_least=True,
            ),
            Target("check-ins refused or failed", len(failures), 0, "", 0),
        ],
        figures=[
            ("HTTP, check-ins/s (median)", f"{http_rate:.1f}"),
            ("raw updates, check-ins/s (median)", f"{raw_rate:.1f}"),
            *(
                (f"{side} at {half:.0f}/s, p50 / p99", f"{d.p(50):.0f} / {d.p(99):.0f} ms")
                for side, d in fixed.items()
            ),
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_checkins")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of each side (default 7)")
    parser.add_argument(
        "--check-ins", type=int, default=250, help="check-ins per side and round (default 250)"
    )
    parser.add_argument(
        "--at-half-rate",
        type=int,
        default=600,
        # Enough that one stall of the machine (a disk flush: 100 ms) is not the p99 alone.
        help="check-ins per side at half the maximum rate (default 600)",
    )
    args = parser.parse_args(argv)
    quiet()
    report = asyncio.run(run(args.rounds, args.check_ins, args.at_half_rate))
    report.show()
    return exit_code([report])


if __name__ == "__main__":
    sys.exit(main())
