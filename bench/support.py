"""What the benchmarks share: one embedded PostgreSQL, a Temporal dev server, latency
percentiles, targets, their report and the command that runs one benchmark alone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import math
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runtime.config import LogFormat
from runtime.localstack import EmbeddedPostgres, TemporalDevServer, free_port
from runtime.logging import configure_logging
from runtime.temporal import SEARCH_ATTRIBUTES


@dataclass(frozen=True)
class Target:
    """One figure a benchmark promises, e.g. ratio ≤ 2 (or, `at_least`, rate ratio ≥ 0.8)."""

    name: str
    value: float
    """What was measured, in `unit`."""
    limit: float
    """What `value` must not pass: a ceiling or, `at_least`, a floor."""
    unit: str
    """Shown after the figures: " s", "×"; "" for a count (`count`)."""
    digits: int = 2
    at_least: bool = False
    """The limit is a floor (throughput), not a ceiling (time, memory)."""
    lighter: bool = False
    """One of the ratios by which the workflow is lighter or not (the summary's first table)."""

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    @property
    def shown(self) -> str:
        return f"{self.value:,.{self.digits}f}{self.unit}"

    @property
    def bound(self) -> str:
        return f"{'≥' if self.at_least else '≤'} {self.limit:,.{self.digits}f}{self.unit}"

    @property
    def verdict(self) -> str:
        return "met" if self.met else "MISSED"

    def line(self) -> str:
        return f"{self.name}: {self.shown} (target {self.bound}): {self.verdict}"


def count(name: str, found: int, limit: int) -> Target:
    """How many of something, at most `limit`."""
    return Target(name, found, limit, "", 0)


def lighter(name: str, ratio: float, limit: float, *, at_least: bool = False) -> Target:
    """A ratio of coopflow to its baseline measured in the same run, by which the workflow is
    lighter or not: the summary's first table."""
    return Target(name, ratio, limit, "×", at_least=at_least, lighter=True)


def quiet() -> None:
    # The SDK's warnings about the test servers would bury the report (as `coopflow simulate`).
    configure_logging(LogFormat.console, "ERROR")


def postgres_mode() -> str:
    return "fsync off (COOPFLOW_PG_FAST)" if os.environ.get("COOPFLOW_PG_FAST") else "fsync on"


@contextlib.contextmanager
def embedded_postgres() -> Iterator[str]:
    """One PostgreSQL server for a whole benchmark, so no run pays for starting its own."""
    with postgres_server() as server:
        yield server.url


@contextlib.contextmanager
def postgres_server() -> Iterator[EmbeddedPostgres]:
    with tempfile.TemporaryDirectory(prefix="coopflow-bench-") as folder:
        server = EmbeddedPostgres(Path(folder) / "pg", free_port())
        try:
            server.start()
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def temporal_server(folder: Path) -> Iterator[TemporalDevServer]:
    """A Temporal dev server in memory (real server semantics), for one benchmark."""
    server = TemporalDevServer(
        db_file=None,
        port=free_port(),
        ui_port=None,
        search_attributes=SEARCH_ATTRIBUTES,
        log=folder / "temporal.log",
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q % of the values at or below it (with
    200 samples p99 is the second largest, never an interpolation between samples)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


@dataclass(frozen=True)
class Report:
    name: str
    """The module, as `python -m bench.<name>` runs it alone."""
    title: str
    lines: list[str]
    targets: list[Target]
    figures: list[tuple[str, str]] = field(default_factory=list)
    """Key figures without a target, for the summary table."""

    @property
    def met(self) -> bool:
        return all(t.met for t in self.targets)

    def show(self) -> None:
        print(f"\n{self.title}\n{'-' * len(self.title)}")
        for line in self.lines:
            print(line)
        for target in self.targets:
            print(target.line())


def exit_code(reports: list[Report]) -> int:
    """Non-zero when a target is missed, so `make bench` fails on a regression."""
    return 0 if all(r.met for r in reports) else 1


def command(run: Callable[..., Report | Awaitable[Report]], **options: str) -> int:
    """`python -m bench.<name> [--option value]…`: the benchmark alone, its report, and a
    non-zero exit when one of its targets is missed. `options` are `run`'s keyword parameters
    offered on the command line (`check_ins` as `--check-ins`), each with its help; their
    defaults are `run`'s."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    parser = argparse.ArgumentParser(prog=f"python -m {spec.name}" if spec else None)
    parameters = inspect.signature(run).parameters
    for name, help in options.items():
        default = parameters[name].default
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=type(default),
            default=default,
            help=f"{help} (default {default})",
        )
    args = parser.parse_args()
    quiet()
    outcome = run(**vars(args))
    report = asyncio.run(_awaited(outcome)) if inspect.isawaitable(outcome) else outcome
    report.show()
    return exit_code([report])


async def _awaited(outcome: Awaitable[Report]) -> Report:
    return await outcome
