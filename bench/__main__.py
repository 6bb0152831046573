"""`python -m bench` (`make bench`): the benchmarks one after the other, each report
as it comes, then the summary: the ratios by which the workflow is lighter or not (each
against its baseline in the same run), then every figure and target; exits 1 when a target
is missed.

    python -m bench [--runs 3] [--workflows 200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bench import (
    forecast,
    history,
    http_checkins,
    list_cooperations,
    memory,
    notifications,
    payloads,
    server,
    simulate_ratio,
    web_pages,
    workers,
)
from bench.support import Report, exit_code, quiet


async def run_all(runs: int, workflows: int) -> list[Report]:
    reports = []
    for bench in (
        simulate_ratio.run(runs),
        asyncio.to_thread(forecast.run),
        history.run(),
        payloads.run(),
        memory.run(workflows),
        http_checkins.run(),
        server.run(),
        notifications.run(),
        list_cooperations.run(),
        workers.run(),
        web_pages.run(),
    ):
        report = await bench
        report.show()
        reports.append(report)
    return reports


def summary(reports: list[Report]) -> str:
    lighter = [("ratio", "value", "target", "")] + [
        (f"{r.name}: {t.name}", t.shown, t.bound, t.verdict)
        for r in reports
        for t in r.targets
        if t.lighter
    ]
    rows = [("benchmark", "figure", "value", "target", "")]
    for report in reports:
        rows += [(report.name, name, value, "", "") for name, value in report.figures]
        rows += [(report.name, t.name, t.shown, t.bound, t.verdict) for t in report.targets]
    return f"Lighter\n\n{table(lighter)}\n\nEvery figure\n\n{table(rows)}"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Columns as wide as their widest cell; a rule under the first row, the heads."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--runs", type=int, default=3, help="simulate runs of each side")
    parser.add_argument("--workflows", type=int, default=200, help="cached workflows per kind")
    args = parser.parse_args(argv)
    quiet()
    reports = asyncio.run(run_all(args.runs, args.workflows))
    print("\nSummary\n-------")
    print(summary(reports))
    return exit_code(reports)


if __name__ == "__main__":
    sys.exit(main())
