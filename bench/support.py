"""What the benchmarks share: one embedded PostgreSQL, targets and their report."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from runtime.config import LogFormat
from runtime.localstack import EmbeddedPostgres, free_port
from runtime.logging import configure_logging


@dataclass(frozen=True)
class Target:
    """One figure a benchmark promises, e.g. ratio ≤ 2."""

    name: str
    value: float
    limit: float
    unit: str = ""
    digits: int = 2

    @property
    def met(self) -> bool:
        return self.value <= self.limit

    @property
    def shown(self) -> str:
        return f"{self.value:,.{self.digits}f}{self.unit}"

    @property
    def bound(self) -> str:
        return f"≤ {self.limit:,.{self.digits}f}{self.unit}"

    @property
    def verdict(self) -> str:
        return "met" if self.met else "MISSED"

    def line(self) -> str:
        return f"{self.name}: {self.shown} (target {self.bound}): {self.verdict}"


def quiet() -> None:
    # The SDK's warnings about the test servers would bury the report (as `coopflow simulate`).
    configure_logging(LogFormat.console, "ERROR")


def postgres_mode() -> str:
    return "fsync off (COOPFLOW_PG_FAST)" if os.environ.get("COOPFLOW_PG_FAST") else "fsync on"


@contextlib.contextmanager
def embedded_postgres() -> Iterator[str]:
    """One PostgreSQL server for a whole benchmark, so no run pays for starting its own."""
    with tempfile.TemporaryDirectory(prefix="coopflow-bench-") as folder:
        server = EmbeddedPostgres(Path(folder) / "pg", free_port())
        try:
            yield server.start()
        finally:
            server.stop()


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
