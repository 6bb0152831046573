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

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import median
from typing import Any

import asyncpg
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.http_checkins import (
    CLIENTS,
    COOPERATIONS,
    Drive,
    Submit,
    closed_loop,
    http_submit,
    open_loop,
    projected,
    raw_submit,
    register_all,
)
from bench.scenario import PROGRAMME
from bench.stack import ROOT, HttpClient, Stack, api_stack, cpu_seconds
from bench.support import Report, Target, exit_code, percentile, postgres_mode, quiet
from domain.events import Event
from domain.programme import ProgrammeSpec
from runtime.config import Settings
from runtime.connect import connect_temporal
from runtime.localstack import free_port, spawn, stop
from store.db import create_pool
from store.delivery import fan_out
from store.programmes import put_programme
from store.tokens import Role, create_token

TARGET_QUOTIENT = 0.9
FUNDER = str(PROGRAMME["funder"])
FACILITATOR = "anim-bench"
SUBSCRIBERS: tuple[Role, ...] = ("funder", "facilitator")
LAG_RATE = 20.0
POLL_EVERY = 0.002
"""Fine enough for a lag of a few ms; few looks, as a check-in is pending a few ms only."""
SETTLE_WITHIN = 120.0
"""Seconds the outbox may take to deliver what a drive left before the bench gives up."""
RECEIVER_SECRETS = "COOPFLOW_BENCH_RECEIVER_SECRETS"
FAILURES_SHOWN = 3
PROCESSES = ("api", "worker", "temporal", "postgres", "receiver", "client")
CONDITIONS = ("without", "with")
VISIBLE = (
    "SELECT data->>'check_in' AS id FROM events WHERE cooperation_id = ANY($1::text[])"
    " AND type = 'CheckInSubmitted' AND data->>'check_in' = ANY($2::text[])"
)
DELIVERIES = "SELECT count(*) FROM webhook_deliveries"
PENDING = (
    "SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')"
    " + (SELECT count(*) FROM notifications WHERE status = 'pending')"
)


# -- the receiver, in a process of its own -------------------------------------------------


@dataclass
class Tally:
    received: int = 0
    bad: int = 0
    duplicates: int = 0
    first: float | None = None
    last: float | None = None
    seen: set[str] = field(default_factory=set)
    """Every webhook-id so far, across resets: a delivery sent twice is a duplicate."""


def receiver_app() -> Starlette:
    """`uvicorn --factory bench.notifications:receiver_app`: the subscribers' secrets by path
    name in RECEIVER_SECRETS (JSON)."""
    verifiers = {k: Webhook(v) for k, v in json.loads(os.environ[RECEIVER_SECRETS]).items()}
    tally = Tally()

    async def hook(request: Request) -> Response:
        body = await request.body()
        try:
            verifiers[request.path_params["name"]].verify(body, dict(request.headers))
        except (KeyError, WebhookVerificationError):
            # Counted rather than refused: a refusal would be retried with backoff and stall
            # the drain, where the count makes the report fail.
            tally.bad += 1
        msg_id = request.headers.get("webhook-id", "")
        if msg_id in tally.seen:
            tally.duplicates += 1
        tally.seen.add(msg_id)
        tally.received += 1
        tally.last = time.monotonic()
        tally.first = tally.first or tally.last
        return Response(status_code=204)

    async def count(request: Request) -> Response:
        return JSONResponse(
            {k: getattr(tally, k) for k in ("received", "bad", "duplicates", "first", "last")}
            | {"distinct": len(tally.seen)}
        )

    async def reset(request: Request) -> Response:
        tally.received, tally.first, tally.last = 0, None, None
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/hooks/{name}", hook, methods=["POST"]),
            Route("/count", count),
            Route("/reset", reset, methods=["POST"]),
        ]
    )


@dataclass(frozen=True)
class Receiver:
    url: str
    pid: int
    secrets: dict[str, str]
    http: HttpClient

    async def count(self) -> dict[str, Any]:
        answer = await self.http.request("GET", "/count")
        return dict(answer.json())

    async def reset(self) -> None:
        await self.http.request("POST", "/reset")


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    keys = {
        role: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode() for role in SUBSCRIBERS
    }
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="coopflow-bench-") as folder:
        log = Path(folder) / "receiver.log"
        proc = spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.notifications:receiver_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=os.environ | {RECEIVER_SECRETS: json.dumps(keys)},
            log=log,
            cwd=ROOT,
        )
        http = HttpClient(f"http://127.0.0.1:{port}")
        try:
            for _ in range(300):
                if proc.poll() is not None:
                    raise RuntimeError(f"the receiver exited: {log.read_text()[-2000:]}")
                with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                    if (await http.request("GET", "/count")).status == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise TimeoutError(f"the receiver never answered: {log.read_text()[-2000:]}")
            yield Receiver(f"http://127.0.0.1:{port}", proc.pid, keys, http)
        finally:
            http.close()
            stop(proc)


# -- the bench -------------------------------------------------------------------------------


async def call(
    http: HttpClient, method: str, path: str, token: str, body: Any = None, expect: int = 200
) -> Any:
    answer = await http.request(
        method, path, body=body, headers={"Authorization": f"Bearer {token}"}
    )
    if answer.status != expect:
        raise RuntimeError(f"{method} {path}: {answer.status} {answer.body[:300]!r}")
    return answer.json()


@dataclass
class Notifications:
    """Switched on and off through the API: subscriptions to every event and contacts."""

    http: HttpClient
    tokens: dict[str, str]
    """By subscriber role."""
    receiver: Receiver
    pool: asyncpg.Pool
    """To confirm the contacts as their owners would, by the e-mailed link."""
    hooks: list[tuple[str, str]] = field(default_factory=list)
    """(token, webhook id) of the live subscriptions."""

    async def on(self) -> list[str]:
        for role in SUBSCRIBERS:
            token = self.tokens[role]
            hook = await call(
                self.http,
                "POST",
                "/v1/webhooks",
                token,
                {"url": f"{self.receiver.url}/hooks/{role}", "secret": self.receiver.secrets[role]},
                expect=201,
            )
            self.hooks.append((token, hook["id"]))
            await call(self.http, "PUT", "/v1/me/contacts", token, {"emails": [f"{role}@ex.org"]})
            async with self.pool.acquire() as db:
                await db.execute(
                    "UPDATE contact_addresses SET confirmed_at = now() WHERE address_key = $1",
                    f"{role}@ex.org",
                )
        return [hook_id for _, hook_id in self.hooks]

    async def off(self) -> None:
        for token, hook_id in self.hooks:
            await call(self.http, "DELETE", f"/v1/webhooks/{hook_id}", token)
        self.hooks.clear()
        for role in SUBSCRIBERS:
            await call(self.http, "PUT", "/v1/me/contacts", self.tokens[role], {"emails": []})


async def outbox_settled(db: asyncpg.Connection) -> float:
    """Seconds until nothing waits in the outbox: a drive's deliveries and e-mails must not run
    on into the next drive."""
    began = time.perf_counter()
    while time.perf_counter() - began < SETTLE_WITHIN:
        if await db.fetchval(PENDING) == 0:
            return time.perf_counter() - began
        await asyncio.sleep(0.02)
    raise TimeoutError(f"the outbox still has {await db.fetchval(PENDING)} to send")


@dataclass
class Bench:
    sides: dict[str, tuple[Submit, list[str]]]
    db: asyncpg.Connection
    pids: dict[str, int]
    answered: int = 0
    catch_up: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CONDITIONS})
    """Seconds the outbox took, after each drive's last answer and projection, to be empty."""
    fanned: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CONDITIONS})
    """Webhook deliveries per check-in of each drive."""

    async def drive(self, side: str, count: int, condition: str) -> Drive:
        submit, ids = self.sides[side]
        deliveries = await self.db.fetchval(DELIVERIES)
        before = cpu_seconds(self.pids)
        done = await closed_loop(submit, ids, count)
        self.answered += done.sent - len(done.failures)
        await projected(self.db, self.answered)
        self.catch_up[condition].append(await outbox_settled(self.db))
        after = cpu_seconds(self.pids)
        self.fanned[condition].append((await self.db.fetchval(DELIVERIES) - deliveries) / count)
        cpu = {k: (after[k] - before[k]) * 1000 / done.sent for k in after}
        return replace(done, cpu_ms=cpu)


@dataclass(frozen=True)
class Lag:
    lags: list[float]
    """From each 201 to the answer of the look that found its event row."""
    floors: list[float]
    """From each 201 to the asking of the last look that did not find it (0 for none)."""
    answers: list[float]
    """Each check-in's time to its 201, from when it was due."""
    polls: list[float]
    """Each poll's query time: with POLL_EVERY, the resolution of the lags."""
    seconds: float
    failures: list[str]
    first_look: int
    """Check-ins whose event row was readable at the first look after their 201."""


async def projection_lag(
    http: HttpClient, tokens: dict[str, str], ids: list[str], db: asyncpg.Connection, seconds: float
) -> Lag:
    pending: dict[str, tuple[str, float]] = {}
    """By check-in id: its cooperation, when its 201 came."""
    unlooked: set[str] = set()
    """Answered since the last look."""
    lags: list[float] = []
    floors: list[float] = []
    polls: list[float] = []
    first_look = 0
    last_asked = 0.0
    answered_one = asyncio.Event()
    all_sent = asyncio.Event()

    def created(cooperation: str, check_in: str) -> None:
        pending[check_in] = (cooperation, time.perf_counter())
        unlooked.add(check_in)
        answered_one.set()

    async def watch() -> None:
        nonlocal first_look, last_asked
        while not all_sent.is_set() or pending:
            if pending:
                asked = time.perf_counter()
                looking = set(unlooked)
                unlooked.clear()
                cooperations = sorted({c for c, _ in pending.values()})
                rows = await db.fetch(VISIBLE, cooperations, list(pending))
                # The row was committed by the time the answer came, and after the previous
                # look at it was asked: the lag lies between the two.
                seen = time.perf_counter()
                polls.append(seen - asked)
                for row in rows:
                    answered = pending.pop(row["id"])[1]
                    lags.append(seen - answered)
                    if row["id"] in looking:
                        first_look += 1
                        floors.append(0.0)
                    else:
                        floors.append(last_asked - answered)
                last_asked = asked
            # A fresh answer is looked for at once: a row already written shows as the
            # query's time, not as up to POLL_EVERY.
            answered_one.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered_one.wait(), POLL_EVERY)

    watcher = asyncio.create_task(watch())
    drive = await open_loop(
        http_submit(http, tokens, created), ids, round(seconds * LAG_RATE), LAG_RATE
    )
    all_sent.set()
    try:
        await asyncio.wait_for(watcher, SETTLE_WITHIN)
    except TimeoutError:
        raise TimeoutError(f"{len(pending)} answered check-ins never in the event log") from None
    return Lag(lags, floors, drive.latencies, polls, drive.seconds, drive.failures, first_look)


@dataclass(frozen=True)
class Drain:
    deliveries: int
    from_commit: float
    """Seconds from the backlog's commit to the last delivery received."""
    first_to_last: float
    cpu_ms: dict[str, float]
    """Per delivery, by process."""

    @property
    def rate(self) -> float:
        return self.deliveries / self.from_commit


@dataclass(frozen=True)
class Whole:
    """Every webhook delivery of the run: PostgreSQL's account and the receiver's."""

    made: int
    delivered: int
    distinct: int
    """Distinct webhook-ids received."""
    bad: int
    duplicates: int

    @property
    def problems(self) -> int:
        return (
            (self.made - self.delivered) + (self.made - self.distinct) + self.duplicates + self.bad
        )


async def drain_backlog(
    pool: asyncpg.Pool,
    notifications: Notifications,
    receiver: Receiver,
    pids: dict[str, int],
    size: int,
) -> Drain:
    """`size` deliveries or a little more, committed at once: the log's events, cooperation
    by cooperation, fanned out to two subscriptions made for it (none has received them)."""
    await notifications.on()
    await receiver.reset()
    total = 0
    async with pool.acquire() as conn:
        async with conn.transaction():
            cooperations = await conn.fetch(
                "SELECT DISTINCT cooperation_id FROM events ORDER BY cooperation_id"
            )
            for row in cooperations:
                events = await conn.fetch(
                    "SELECT seq, type, at, data FROM events WHERE cooperation_id = $1 ORDER BY seq",
                    row["cooperation_id"],
                )
                total += await fan_out(
                    conn, row["cooperation_id"], [Event.model_validate(dict(e)) for e in events]
                )
                if total >= size:
                    break
        # The outbox is woken by the NOTIFY that comes with the commit, as in production.
        committed = time.monotonic()
        before = cpu_seconds(pids)
        tally = await receiver.count()
        while tally["received"] < total and time.monotonic() - committed < SETTLE_WITHIN * 2:
            await asyncio.sleep(0.05)
            tally = await receiver.count()
        after = cpu_seconds(pids)
        # The last attempts recorded before the subscriptions end: it would fail what waits.
        await outbox_settled(conn)
    await notifications.off()
    if tally["received"] < total:
        raise TimeoutError(f"{tally['received']} of {total} deliveries received")
    return Drain(
        deliveries=total,
        from_commit=tally["last"] - committed,
        first_to_last=tally["last"] - tally["first"],
        cpu_ms={k: (after[k] - before[k]) * 1000 / total for k in after},
    )


async def run(
    rounds: int = 7, check_ins: int = 250, lag_seconds: float = 25, backlog: int = 5000
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
    http_ids = [f"http-{i:03d}" for i in range(COOPERATIONS)]
    raw_ids = [f"raw-{i:03d}" for i in range(COOPERATIONS)]
    tokens: dict[str, str] = {}
    subscribers: dict[str, str] = {}
    pool = await create_pool(stack.database_url, max_size=3)
    try:
        async with pool.acquire() as conn:
            version = (await put_programme(conn, ProgrammeSpec.model_validate(PROGRAMME))).version
            for cooperation in http_ids:
                _, tokens[cooperation] = await create_token(conn, "collective", cooperation)
            for role, subject in zip(SUBSCRIBERS, (FUNDER, FACILITATOR), strict=True):
                _, subscribers[role] = await create_token(conn, role, subject)
        client = await connect_temporal(Settings(temporal_address=stack.temporal_address), wait=30)
        await register_all(client, stack.task_queue, http_ids + raw_ids, version, FACILITATOR)
        # As bench.http_checkins does: a full collection in this process would count as the
        # latency of whichever drive it interrupts.
        gc.freeze()
        http = HttpClient(stack.api_url)
        notifications = Notifications(http, subscribers, receiver, pool)
        try:
            async with pool.acquire() as db:
                bench = Bench(
                    sides={
                        "HTTP": (http_submit(http, tokens), http_ids),
                        "raw": (raw_submit(client), raw_ids),
                    },
                    db=db,
                    pids=stack.pids | {"receiver": receiver.pid},
                )
                drives = await _rounds(bench, notifications, rounds, check_ins)
                await notifications.on()
                lag = await projection_lag(http, tokens, http_ids, db, lag_seconds)
                await outbox_settled(db)
                await notifications.off()
                drain = await drain_backlog(pool, notifications, receiver, bench.pids, backlog)
                mails = dict(
                    await db.fetch("SELECT status, count(*) FROM notifications GROUP BY status")
                )
                made, delivered = await db.fetchrow(
                    "SELECT count(*), count(*) FILTER (WHERE status = 'delivered')"
                    " FROM webhook_deliveries"
                )
                tally = await receiver.count()
                whole = Whole(made, delivered, tally["distinct"], tally["bad"], tally["duplicates"])
        finally:
            http.close()
    finally:
        await pool.close()
    return _report(drives, bench, lag, drain, whole, mails)


Drives = dict[str, dict[str, list[Drive]]]
"""By condition ("without", "with" notifications), by side: each round's drive."""


async def _rounds(
    bench: Bench, notifications: Notifications, rounds: int, check_ins: int
) -> Drives:
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
    drives: Drives = {c: {"HTTP": [], "raw": []} for c in CONDITIONS}
    for r in range(rounds):
        # Each round runs backwards from the last, so that no drive always follows the same.
        order = [(c, s) for c in CONDITIONS for s in ("HTTP", "raw")]
        for condition, side in order if r % 2 == 0 else reversed(order):
            if (condition == "with") != bool(notifications.hooks):
                await under(condition)
            drives[condition][side].append(await bench.drive(side, check_ins, condition))
    await notifications.off()
    return drives


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
        f"webhook backlog: {drain.deliveries} deliveries to {len(SUBSCRIBERS)} subscriptions, "
        f"committed at once, drained in {drain.from_commit:.1f} s: {drain.rate:.0f}/s "
        f"({drain.deliveries / drain.first_to_last:.0f}/s first to last received)",
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
        *(f"failure: {f}" for f in failures[:FAILURES_SHOWN]),
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
            Target("check-ins refused or failed", len(failures), 0, "", 0),
            Target(
                "webhook deliveries lost, doubled or unverified (whole run)",
                whole.problems,
                0,
                "",
                0,
            ),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notifications")
    parser.add_argument(
        "--rounds", type=int, default=7, help="rounds of each side and condition (default 7)"
    )
    parser.add_argument(
        "--check-ins",
        type=int,
        default=250,
        help="check-ins per side, condition and round (default 250)",
    )
    parser.add_argument(
        "--lag-seconds",
        type=float,
        default=25,
        help=f"seconds of check-ins at {LAG_RATE:.0f}/s for the projection lag (default 25)",
    )
    parser.add_argument(
        "--backlog", type=int, default=5000, help="webhook deliveries to drain (default 5000)"
    )
    args = parser.parse_args(argv)
    quiet()
    report = asyncio.run(run(args.rounds, args.check_ins, args.lag_seconds, args.backlog))
    report.show()
    return exit_code([report])


if __name__ == "__main__":
    sys.exit(main())
