"""Check-ins through the HTTP API against raw Temporal updates of the same command, on one
stack in the same run. Target: check-ins per second through HTTP ≥ 0.95 × raw (the median
of the rounds' ratios); latencies at half the HTTP maximum rate, for both, as figures.

    python -m bench.http_checkins [--rounds 7] [--check-ins 250] [--at-half-rate 600]

One Temporal dev server, one worker and the API (uvicorn) each in a process of its own, one
embedded PostgreSQL. HTTP: `POST /v1/cooperations/{id}/check-ins` with the collective's
token (API → update → workflow → answer). Raw: the same `SubmitCheckIn` sent as an update
from this process (`workflows.client.send`). Each side has its own cooperations, registered
with their line taken as accepted so that check-ins are scheduled; both are driven by the
same number of concurrent clients, round-robin over their cooperations (bench.checkins,
bench.rounds).

Everything shares the machine's cores, so the CPU each process spends per check-in (its
effects included) is reported too: it says where the HTTP side's extra cost goes.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Awaitable
from statistics import median

import asyncpg

from bench import checkins, rounds
from bench.checkins import COOPERATIONS, Projected, http_submit, raw_submit
from bench.rounds import CLIENTS, Drive, Submit
from bench.stack import HttpClient, Stack, api_stack
from bench.support import Report, command, lighter, postgres_mode

TARGET_RATIO = 0.95
SIDES = ("HTTP", "raw")
PROCESSES = ("api", "worker", "temporal", "postgres", "client")


async def run(rounds: int = 7, check_ins: int = 250, at_half_rate: int = 600) -> Report:
    async with api_stack(worker=True) as stack:
        return await measure(stack, rounds, check_ins, at_half_rate)


async def measure(stack: Stack, count: int, check_ins: int, at_half_rate: int) -> Report:
    ids = {side: checkins.names(side.lower()) for side in SIDES}
    version = await checkins.programme(stack.database_url)
    tokens = await checkins.tokens(stack.database_url, (("collective", i) for i in ids["HTTP"]))
    client = await checkins.temporal(stack.temporal_address)
    await checkins.register_all(client, stack.task_queue, ids["HTTP"] + ids["raw"], version)
    # As the API does (api/main.py): a full pass of this process's collector over all it has
    # imported (seen: 40 ms) would count as the latency of whichever side it interrupts.
    gc.freeze()
    http = HttpClient(stack.api_url)
    submits: dict[str, Submit] = {"HTTP": http_submit(http, tokens), "raw": raw_submit(client)}
    db = await asyncpg.connect(stack.database_url)
    # The CPU of a drive includes its effects, carried out after the answers.
    settled = Projected(db)

    def drive(side: str, n: int, rate: float | None = None) -> Awaitable[Drive]:
        return rounds.measured(stack.pids, submits[side], ids[side], n, rate=rate, settled=settled)

    try:
        # Not timed: each cooperation's first check-in, connections and caches warm.
        for side in SIDES:
            await drive(side, COOPERATIONS)
        maximum = await rounds.alternated(SIDES, count, lambda side: drive(side, check_ins))
        half = rounds.rate(maximum["HTTP"]) / 2
        fixed = {side: await drive(side, at_half_rate, half) for side in SIDES}
    finally:
        await db.close()
        http.close()
    return _report(maximum, fixed)


def _report(maximum: dict[str, list[Drive]], fixed: dict[str, Drive]) -> Report:
    """`maximum`: each side's rounds at the maximum rate; `fixed`: each side at half the
    HTTP maximum."""
    ratios = rounds.ratios(maximum["HTTP"], maximum["raw"])
    failures = rounds.failures(*maximum["HTTP"], *maximum["raw"], *fixed.values())
    half = rounds.rate(maximum["HTTP"]) / 2
    lines = [
        f"{COOPERATIONS} cooperations per side, {CLIENTS} concurrent clients, "
        f"{len(maximum['HTTP'])} rounds of {maximum['HTTP'][0].sent} check-ins per side "
        f"(after {COOPERATIONS} to warm up), "
        f"PostgreSQL {postgres_mode()}",
        *(
            rounds.rate_line(f"{side + ':':<5} max", maximum[side], " check-ins/s")
            for side in SIDES
        ),
        f"CPU per check-in at the maximum, ms (medians; {rounds.cores_note()}):",
        *(f"  {side + ':':<5} {rounds.cpu_line(maximum[side], PROCESSES)}" for side in SIDES),
        f"at half the HTTP maximum, {half:.1f} check-ins/s, {fixed['HTTP'].sent} each:",
        *(
            f"  {side + ':':<5} p50 {d.p(50):5.0f} ms  p99 {d.p(99):5.0f} ms"
            f"  (achieved {d.sent / d.seconds:.1f}/s)"
            for side, d in fixed.items()
        ),
        f"ratio HTTP / raw by round: {', '.join(f'{x:.2f}' for x in ratios)}",
        *rounds.failure_lines(failures),
    ]
    return Report(
        name="http_checkins",
        title="Check-ins: through HTTP vs raw Temporal updates (dev server)",
        lines=lines,
        targets=[
            lighter(
                "ratio HTTP / raw, check-ins/s (median of rounds)",
                median(ratios),
                TARGET_RATIO,
                at_least=True,
            ),
            rounds.none_failed("check-ins", failures),
        ],
        figures=[
            ("HTTP, check-ins/s (median)", f"{rounds.rate(maximum['HTTP']):.1f}"),
            ("raw updates, check-ins/s (median)", f"{rounds.rate(maximum['raw']):.1f}"),
            *(
                (f"{side} at {half:.0f}/s, p50 / p99", f"{d.p(50):.0f} / {d.p(99):.0f} ms")
                for side, d in fixed.items()
            ),
        ],
    )


if __name__ == "__main__":
    sys.exit(
        command(
            run,
            **rounds.OPTIONS,
            # Enough that one stall of the machine (a disk flush: 100 ms) is not the p99 alone.
            at_half_rate="check-ins per side at half the maximum rate",
        )
    )
