"""`make bench`'s summary: the Lighter ratios first, in a table of their own, then every
figure and target; the exit code says whether a target was missed."""

from __future__ import annotations

import re

from bench.__main__ import summary
from bench.support import Report, count, exit_code, lighter


def _reports(ratio: float) -> list[Report]:
    return [
        Report(
            name="memory",
            title="memory",
            lines=[],
            targets=[lighter("ratio coopflow / bare", ratio, 1.5)],
            figures=[("bare, per cached workflow", "110.0 KiB")],
        ),
        Report(
            name="server",
            title="server",
            lines=[],
            targets=[
                lighter("ratio check-in / update at once", 0.29, 0.5, at_least=True),
                count("updates refused or failed", 0, 0),
            ],
        ),
    ]


def _rows(table: str) -> list[list[str]]:
    return [re.split(r"  +", line.strip()) for line in table.strip().splitlines()]


def test_the_lighter_ratios_come_first_with_their_targets() -> None:
    text = summary(_reports(1.92))
    lighter_part, every = text.split("Every figure")
    assert _rows(lighter_part)[4:] == [
        ["memory: ratio coopflow / bare", "1.92×", "≤ 1.50×", "MISSED"],
        ["server: ratio check-in / update at once", "0.29×", "≥ 0.50×", "MISSED"],
    ]
    # A target that is not a Lighter ratio is only in the full table.
    assert "refused or failed" not in lighter_part
    assert "updates refused or failed" in every
    assert "bare, per cached workflow" in every


def test_a_missed_target_fails_the_run() -> None:
    assert exit_code(_reports(1.92)) == 1
    met = _reports(1.2)
    met[1] = Report(name="server", title="server", lines=[], targets=[])
    assert exit_code(met) == 0
