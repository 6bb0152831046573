"""The rounds every throughput benchmark drives: sides alternated so that none always runs on
another's leftovers, rates and ratios by round, the closed loop's clients at work at once."""

from __future__ import annotations

import asyncio

from bench import rounds
from bench.rounds import Drive


def _drive(sent: int, seconds: float, failures: int = 0) -> Drive:
    return Drive(sent, seconds, [0.01] * sent, ["refused"] * failures)


def test_a_drive_rates_what_succeeded() -> None:
    assert _drive(100, 2.0).rate == 50.0
    assert _drive(100, 2.0, failures=20).rate == 40.0


async def test_rounds_turn_the_order_of_the_sides() -> None:
    order: list[str] = []

    async def drive(side: str) -> Drive:
        order.append(side)
        return _drive(10, 1.0)

    drives = await rounds.alternated(("a", "b", "c"), 3, drive)
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert {side: len(d) for side, d in drives.items()} == {"a": 3, "b": 3, "c": 3}


async def test_rounds_backwards_reverse_every_other_round() -> None:
    order: list[str] = []

    async def drive(side: str) -> Drive:
        order.append(side)
        return _drive(10, 1.0)

    await rounds.alternated(("a", "b", "c"), 2, drive, backwards=True)
    assert order == ["a", "b", "c", "c", "b", "a"]


def test_ratios_are_taken_round_by_round() -> None:
    over = [_drive(100, 1.0), _drive(100, 4.0)]
    under = [_drive(100, 2.0), _drive(100, 2.0)]
    assert rounds.ratios(over, under) == [2.0, 0.5]


def test_a_failure_misses_the_none_failed_target() -> None:
    assert rounds.none_failed("updates", []).met
    missed = rounds.none_failed("updates", ["raw: refused"])
    assert not missed.met
    assert missed.name == "updates refused or failed"


async def test_the_closed_loop_keeps_its_clients_busy_at_once() -> None:
    busy = 0
    most = 0
    seen: list[str] = []

    async def submit(name: str) -> str | None:
        nonlocal busy, most
        busy += 1
        most = max(most, busy)
        await asyncio.sleep(0.001)
        busy -= 1
        seen.append(name)
        return None if name != "w-1" else "refused"

    done = await rounds.closed_loop(submit, ["w-0", "w-1", "w-2", "w-3"], 64)
    assert most == rounds.CLIENTS
    assert done.sent == 64 and len(done.latencies) == 64
    # Round-robin over the workflows: each has its share, and each of w-1's is a failure.
    assert sorted(set(seen)) == ["w-0", "w-1", "w-2", "w-3"]
    assert seen.count("w-1") == 16 == len(done.failures)
