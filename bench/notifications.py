"""Notifications that reach people (issue 9): how soon a check-in's event is readable after
its answer, how fast the outbox delivers webhooks, and what notifications cost the HTTP
check-ins. Target: the HTTP / raw check-in ratio with notifications ≥ 0.9 × the ratio
without (the median of the rounds' quotients); the lag and the delivery rate as figures.

    python -m bench.notifications [--rounds 7] [--check-ins 250] [--lag-seconds 25]
                                  [--backlog 5000]

The stack of bench.http_checkins (dev server, worker, API, embedded PostgreSQL, each in a
process of its own) and a webhook receiver in another one (Starlette under uvicorn, which
verifies every signature with the Standard Webhooks reference library and answers 204).
The cooperations have a facilitator, so that each check-in notifies someone.

- Projection lag: check-ins over HTTP sent open-loop at 20 per second; from each 201 (the
  update answered, its effects still to be written by the activity) to the moment a query
  of the event log finds its `CheckInSubmitted` (one poller over the pending ones, at once
  after each 201 and then every 2 ms), with notifications on.
- Webhook deliveries per second: a backlog (the log's events fanned out to two fresh
  subscriptions by the projection's own `fan_out`, in one transaction) drained by the
  outbox loop of the worker: from the commit to the last delivery the receiver gets.
- Check-ins through HTTP against raw Temporal updates (bench.http_checkins' drives), with
  notifications off (no subscriptions, no contacts) and on (the funder and the facilitator
  subscribed to every event, their contacts set; no SMTP server, so the e-mails are only
  rendered and logged), in the same rounds: each round's quotient of its two ratios
  compares drives run back to back.
"""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass, field
from statistics import median

from bench import checkins, rounds
from bench.checkins import (
    COOPERATIONS,
    Projected,
    http_submit,
    raw_submit,
    register_all,
)
from bench.outbox import (
    LAG_RATE,
    POLL_EVERY,
    Drain,
    Lag,
    Notifications,
    Whole,
    drain_backlog,
    outbox_settled,
    projection_lag,
)
from bench.receiver import SUBSCRIBERS, Receiver, receiver
from bench.rounds import CLIENTS, Drive, Submit
from bench.scenario import PROGRAMME
from bench.stack import HttpClient, Stack, api_stack
from bench.support import Report, Target, command, count, percentile, postgres_mode
from store.db import Conn, create_pool
from store.tokens import Role

TARGET_QUOTIENT = 0.9
FUNDER = str(PROGRAMME["funder"])
FACILITATOR = "anim-bench"
PROCESSES = ("api", "worker", "temporal", "postgres", "receiver", "client")
CONDITIONS = ("without", "with")
DELIVERIES = "SELECT count(*) FROM webhook_deliveries"


@dataclass
class Bench:
    sides: dict[str, tuple[Submit, list[str]]]
    db: Conn
    pids: dict[str, int]
    catch_up: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CONDITIONS})
    """Seconds the outbox took, after each drive's last answer and projection, to be empty."""
    fanned: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CONDITIONS})
    """Webhook deliveries per check-in of each drive."""

    def __post_init__(self) -> None:
        self.projected = Projected(self.db)

    async def drive(self, side: str, count: int, condition: str) -> Drive:
        submit, ids = self.sides[side]
        deliveries = await self.db.fetchval(DELIVERIES)

        async def settled(done: Drive) -> None:
            await self.projected(done)
            self.catch_up[condition].append(await outbox_settled(self.db))

        done = await rounds.measured(self.pids, submit, ids, count, settled=settled)
        self.fanned[condition].append((await self.db.fetchval(DELIVERIES) - deliveries) / count)
        return done


async def run(
    rounds: int = 7, check_ins: int = 250, lag_seconds: float = 25.0, backlog: int = 5000
) -> Report:
    # E-mails only logged, whatever the caller's environment or a .env says: the stack's
    # processes inherit this environment, and an empty URL is no server.
    os.environ["COOPFLOW_SMTP_URL"] = ""
    # The receiver listens on loopback, which webhooks may reach only when allowed.
    os.environ["COOPFLOW_WEBHOOK_ALLOW_NETWORKS"] = "127.0.0.0/8"
    async with receiver() as hooks, api_stack(worker=True) as stack:
        return await measure(stack, hooks, rounds, check_ins, lag_seconds, backlog)


async def measure(
    stack: Stack,
    receiver: Receiver,
    rounds: int,
    check_ins: int,
    lag_seconds: float,
    backlog: int,
) -> Report:
    ids = {side: checkins.names(side.lower()) for side in ("HTTP", "raw")}
    version = await checkins.programme(stack.database_url)
    holders: list[tuple[Role, str]] = [("collective", c) for c in ids["HTTP"]]
    holders += [("funder", FUNDER)]
    tokens = await checkins.tokens(stack.database_url, [*holders, ("facilitator", FACILITATOR)])
    subscribers = {"funder": tokens[FUNDER], "facilitator": tokens[FACILITATOR]}
    client = await checkins.temporal(stack.temporal_address)
    await register_all(client, stack.task_queue, ids["HTTP"] + ids["raw"], version, FACILITATOR)
    # As bench.http_checkins does: a full collection in this process would count as the
    # latency of whichever drive it interrupts.
    gc.freeze()
    pool = await create_pool(stack.database_url, max_size=3)
    http = HttpClient(stack.api_url)
    notifications = Notifications(http, subscribers, receiver, pool)
    try:
        async with pool.acquire() as db:
            bench = Bench(
                sides={
                    "HTTP": (http_submit(http, tokens), ids["HTTP"]),
                    "raw": (raw_submit(client), ids["raw"]),
                },
                db=db,
                pids=stack.pids | {"receiver": receiver.pid},
            )
            drives = await _rounds(bench, notifications, rounds, check_ins)
            await notifications.on()
            lag = await projection_lag(http, tokens, ids["HTTP"], db, lag_seconds)
            await outbox_settled(db)
            await notifications.off()
            drain = await drain_backlog(pool, notifications, receiver, bench.pids, backlog)
            mails = {
                r["status"]: int(r["count"])
                for r in await db.fetch(
                    "SELECT status, count(*) FROM notifications GROUP BY status"
                )
            }
            made, delivered = await db.fetchrow(
                "SELECT count(*), count(*) FILTER (WHERE status = 'delivered')"
                " FROM webhook_deliveries"
            ) or (0, 0)
            tally = await receiver.count()
            whole = Whole(made, delivered, tally["distinct"], tally["bad"], tally["duplicates"])
    finally:
        http.close()
        await pool.close()
    return _report(drives, bench, lag, drain, whole, mails)


Drives = dict[str, dict[str, list[Drive]]]
"""By condition ("without", "with" notifications), by side: each round's drive."""


async def _rounds(bench: Bench, notifications: Notifications, count: int, check_ins: int) -> Drives:
    async def under(condition: str) -> None:
        if condition == "with":
            await notifications.on()
        else:
            await notifications.off()

    # Not timed: each cooperation's first check-in, connections and caches warm, both ways.
    for condition in CONDITIONS:
        await under(condition)
        for side in bench.sides:
            await bench.drive(side, COOPERATIONS, condition)
    for condition in CONDITIONS:
        bench.catch_up[condition].clear()

    async def drive(both: str) -> Drive:
        condition, side = both.split()
        if (condition == "with") != bool(notifications.hooks):
            await under(condition)
        return await bench.drive(side, check_ins, condition)

    order = [f"{c} {s}" for c in CONDITIONS for s in ("HTTP", "raw")]
    done = await rounds.alternated(order, count, drive, backwards=True)
    await notifications.off()
    return {c: {s: done[f"{c} {s}"] for s in ("HTTP", "raw")} for c in CONDITIONS}


def _report(
    drives: Drives, bench: Bench, lag: Lag, drain: Drain, whole: Whole, mails: dict[str, int]
) -> Report:
    catch_up = bench.catch_up
    ratios = {
        c: [h.rate / r.rate for h, r in zip(d["HTTP"], d["raw"], strict=True)]
        for c, d in drives.items()
    }
    quotients = [w / o for w, o in zip(ratios["with"], ratios["without"], strict=True)]
    rate = {c: {s: median(d.rate for d in ds) for s, ds in d.items()} for c, d in drives.items()}
    failures = [
        *(f for d in drives.values() for ds in d.values() for x in ds for f in x.failures),
        *lag.failures,
    ]
    processes = [p for p in PROCESSES if p in drives["with"]["HTTP"][0].cpu_ms]
    first = drives["with"]["HTTP"][0]
    lag_ms = {q: percentile(lag.lags, q) * 1000 for q in (50, 99, 100)}
    floor_ms = {q: percentile(lag.floors, q) * 1000 for q in (50, 99, 100)}
    answer_ms = {q: percentile(lag.answers, q) * 1000 for q in (50, 99)}
    lines = [
        f"{COOPERATIONS} cooperations per side, {CLIENTS} concurrent clients, "
        f"{len(drives['with']['HTTP'])} rounds of {first.sent} check-ins per side and condition "
        f"(after {COOPERATIONS} of each to warm up), PostgreSQL {postgres_mode()}",
        f"projection lag, notifications on: {len(lag.lags)} check-ins over HTTP at "
        f"{LAG_RATE:.0f}/s ({len(lag.lags) / lag.seconds:.1f}/s achieved), "
        f"from the 201 to the event row readable:",
        f"  p50 {lag_ms[50]:.1f} ms  p99 {lag_ms[99]:.1f} ms  max {lag_ms[100]:.1f} ms"
        f" (found by a look answered then; not yet by one asked at {floor_ms[50]:.1f} /"
        f" {floor_ms[99]:.1f} / {floor_ms[100]:.1f} ms)",
        f"  a look at each 201 and every {POLL_EVERY * 1000:.0f} ms, its query p50 "
        f"{percentile(lag.polls, 50) * 1000:.1f} ms; readable at the first look: "
        f"{lag.first_look} of {len(lag.lags)}; the 201 itself p50 {answer_ms[50]:.0f} ms,"
        f" p99 {answer_ms[99]:.0f} ms",
        f"webhook backlog: {drain.sent} deliveries to {len(SUBSCRIBERS)} subscriptions, "
        f"committed at once, drained in {drain.seconds:.1f} s: {drain.rate:.0f}/s "
        f"({drain.sent / drain.first_to_last:.0f}/s first to last received)",
        "  CPU per delivery, ms: "
        + "  ".join(f"{p} {drain.cpu_ms[p]:.2f}" for p in PROCESSES if p in drain.cpu_ms)
        + f"  total {sum(drain.cpu_ms.values()):.2f}",
        f"  over the whole run: {whole.made} deliveries made, {whole.delivered} delivered by"
        f" PostgreSQL's account, {whole.distinct} received ({whole.bad} with a bad signature,"
        f" {whole.duplicates} more than once)",
        "check-ins at the maximum; webhook deliveries per check-in: "
        + ", ".join(f"{c} {median(bench.fanned[c]):.1f}" for c in CONDITIONS),
        *(
            line
            for c in CONDITIONS
            for line in (
                f"  {c + ':':<8} HTTP {rate[c]['HTTP']:6.1f}/s  raw {rate[c]['raw']:6.1f}/s"
                f"  ratio HTTP / raw {median(ratios[c]):.2f}  (medians; the outbox empty "
                f"{median(catch_up[c]):.2f} s after a drive's last answer)",
                "    by round: HTTP "
                + ", ".join(f"{d.rate:.0f}" for d in drives[c]["HTTP"])
                + "; raw "
                + ", ".join(f"{d.rate:.0f}" for d in drives[c]["raw"])
                + "; ratio "
                + ", ".join(f"{x:.2f}" for x in ratios[c]),
            )
        ),
        "  quotient of ratios with / without, by round: "
        + ", ".join(f"{q:.2f}" for q in quotients),
        "  CPU per check-in, ms (medians):",
        *(
            f"    {c + ',':<8} {s + ':':<5} "
            + "  ".join(f"{p} {median(x.cpu_ms[p] for x in ds):.2f}" for p in processes)
            + f"  total {median(sum(x.cpu_ms.values()) for x in ds):.2f}"
            for c, d in drives.items()
            for s, ds in d.items()
        ),
        "notifications (e-mails) by status: "
        + ", ".join(f"{k} {v}" for k, v in sorted(mails.items())),
        *rounds.failure_lines(failures),
    ]
    return Report(
        name="notifications",
        title="Notifications: projection lag, webhook deliveries, their cost to HTTP check-ins",
        lines=lines,
        targets=[
            Target(
                "HTTP / raw ratio with notifications ÷ without (median of rounds)",
                median(quotients),
                TARGET_QUOTIENT,
                "×",
                at_least=True,
            ),
            rounds.none_failed("check-ins", failures),
            count("webhook deliveries lost, doubled or unverified (whole run)", whole.problems, 0),
        ],
        figures=[
            (
                f"projection lag at {LAG_RATE:.0f} check-ins/s, p50 / p99",
                f"{lag_ms[50]:.1f} / {lag_ms[99]:.1f} ms",
            ),
            ("webhook deliveries/s (backlog drained)", f"{drain.rate:.0f}"),
            (
                "HTTP / raw ratio without / with notifications",
                f"{median(ratios['without']):.2f} / {median(ratios['with']):.2f}",
            ),
            (
                "HTTP check-ins/s without / with notifications",
                f"{rate['without']['HTTP']:.1f} / {rate['with']['HTTP']:.1f}",
            ),
        ],
    )


if __name__ == "__main__":
    sys.exit(
        command(
            run,
            rounds="rounds of each side and condition",
            check_ins="check-ins per side, condition and round",
            lag_seconds=f"seconds of check-ins at {LAG_RATE:.0f}/s for the projection lag",
            backlog="webhook deliveries to drain",
        )
    )
