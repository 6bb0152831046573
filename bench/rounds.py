"""Rounds of drives, what the throughput benchmarks share: N clients in a closed loop (the
maximum rate) or arrivals at a fixed rate (latency), each drive's CPU by process, sides
alternated round by round, and the lines that report them.

A side is what one benchmark compares: HTTP check-ins against raw updates, one worker against
two, an update that returns at once against a check-in. Each round drives every side once,
back to back and in another order than the round before, so that the machine's drift (other
work, CPU steal) falls on all alike and the median of the rounds' ratios cancels it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from statistics import median

from bench.stack import cpu_seconds
from bench.support import Target, count, percentile

CLIENTS = 16
"""Concurrent clients of a closed loop."""
FAILURES_SHOWN = 3

OPTIONS = {"rounds": "rounds of each side", "check_ins": "check-ins per side and round"}
"""The command-line options of a benchmark of check-ins in rounds (`support.command`)."""

Submit = Callable[[str], Awaitable[str | None]]
"""Sends one request about a workflow (by its name): None when it succeeded, else what went
wrong."""


@dataclass(frozen=True)
class Drive:
    """One drive of one side: how many, how long, each latency, what failed."""

    sent: int
    seconds: float
    latencies: list[float]
    failures: list[str]
    cpu_ms: dict[str, float] = field(default_factory=dict)
    """Per request, by process, what it left to do after its answer included."""

    @property
    def rate(self) -> float:
        return (self.sent - len(self.failures)) / self.seconds

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


async def closed_loop(submit: Submit, names: list[str], count: int) -> Drive:
    """CLIENTS clients, each sending its next request as soon as the last is answered,
    round-robin over `names`: the maximum rate."""
    latencies: list[float] = []
    failures: list[str] = []
    turn = iter(range(count))

    async def client() -> None:
        for i in turn:
            began = time.perf_counter()
            failure = await submit(names[i % len(names)])
            latencies.append(time.perf_counter() - began)
            if failure is not None:
                failures.append(failure)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return Drive(count, time.perf_counter() - began, latencies, failures)


async def open_loop(submit: Submit, names: list[str], count: int, rate: float) -> Drive:
    """A request every 1/rate seconds whatever the answers: latency at a fixed arrival rate,
    counted from when each was due to be sent (a late start is the system's delay too)."""
    latencies: list[float] = []
    failures: list[str] = []

    async def one(i: int, due: float) -> None:
        failure = await submit(names[i % len(names)])
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


async def measured(
    pids: dict[str, int],
    submit: Submit,
    names: list[str],
    count: int,
    *,
    rate: float | None = None,
    settled: Callable[[Drive], Awaitable[None]] | None = None,
) -> Drive:
    """A drive, closed-loop or at `rate`, with the CPU each process spent per request; with
    `settled`, until what the drive left to do is done (its effects belong to it, and must
    not run on into the next drive)."""
    before = cpu_seconds(pids)
    done = await (
        closed_loop(submit, names, count) if rate is None else open_loop(submit, names, count, rate)
    )
    if settled is not None:
        await settled(done)
    after = cpu_seconds(pids)
    return replace(done, cpu_ms={k: (after[k] - before[k]) * 1000 / done.sent for k in after})


async def alternated(
    sides: Sequence[str],
    rounds: int,
    drive: Callable[[str], Awaitable[Drive]],
    *,
    backwards: bool = False,
) -> dict[str, list[Drive]]:
    """`rounds` drives of each side, so that no side always runs on another's leftovers:
    each round in the order of the last turned by one or, `backwards`, reversed."""
    drives: dict[str, list[Drive]] = {side: [] for side in sides}
    for r in range(rounds):
        if backwards:
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
        else:
            order = [*sides[r % len(sides) :], *sides[: r % len(sides)]]
        for side in order:
            drives[side].append(await drive(side))
    return drives


def ratios(over: list[Drive], under: list[Drive]) -> list[float]:
    """Each round's rate of `over` / that of `under`."""
    return [o.rate / u.rate for o, u in zip(over, under, strict=True)]


def rate(drives: list[Drive]) -> float:
    return median(d.rate for d in drives)


def failures(*drives: Drive) -> list[str]:
    return [f for d in drives for f in d.failures]


def rate_line(label: str, drives: list[Drive], unit: str = "/s") -> str:
    """The side's median rate, each round's, and its latencies at the maximum."""
    return (
        f"{label} {rate(drives):6.1f}{unit}"
        f"  (rounds {', '.join(f'{d.rate:.1f}' for d in drives)};"
        f" p50 {median(d.p(50) for d in drives):.0f} ms,"
        f" p99 {median(d.p(99) for d in drives):.0f} ms at {CLIENTS} clients)"
    )


def cpu_line(drives: list[Drive], processes: Sequence[str] | None = None) -> str:
    """The CPU per request by process (medians of the rounds) and their total."""
    shown = processes or [k for k in drives[0].cpu_ms if k != "client"] + ["client"]
    return (
        "  ".join(f"{p} {median(d.cpu_ms[p] for d in drives):.2f}" for p in shown)
        + f"  total {median(sum(d.cpu_ms.values()) for d in drives):.2f}"
    )


def cores_note() -> str:
    return f"{os.cpu_count()} cores: the rate is about cores / total"


def none_failed(what: str, found: list[str]) -> Target:
    return count(f"{what} refused or failed", len(found), 0)


def failure_lines(found: list[str]) -> list[str]:
    return [f"failure: {f}" for f in found[:FAILURES_SHOWN]]
