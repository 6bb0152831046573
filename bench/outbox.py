"""What bench.notifications measures of the outbox and the projection: notifications
switched on and off through the API, the lag from a check-in's answer to its event row, and
a backlog of webhook deliveries drained."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.checkins import http_submit
from bench.receiver import SUBSCRIBERS, Receiver
from bench.rounds import Drive, open_loop
from bench.stack import HttpClient, cpu_seconds
from domain.events import Event
from store.db import Conn
from store.delivery import fan_out

LAG_RATE = 20.0
POLL_EVERY = 0.002
"""Fine enough for a lag of a few ms; few looks, as a check-in is pending a few ms only."""
SETTLE_WITHIN = 120.0
"""Seconds the outbox may take to deliver what a drive left before the bench gives up."""
VISIBLE = (
    "SELECT data->>'check_in' AS id FROM events WHERE cooperation_id = ANY($1::text[])"
    " AND type = 'CheckInSubmitted' AND data->>'check_in' = ANY($2::text[])"
)
PENDING = (
    "SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')"
    " + (SELECT count(*) FROM notifications WHERE status = 'pending')"
)


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


async def outbox_settled(db: Conn) -> float:
    """Seconds until nothing waits in the outbox: a drive's deliveries and e-mails must not run
    on into the next drive."""
    began = time.perf_counter()
    while time.perf_counter() - began < SETTLE_WITHIN:
        if await db.fetchval(PENDING) == 0:
            return time.perf_counter() - began
        await asyncio.sleep(0.02)
    raise TimeoutError(f"the outbox still has {await db.fetchval(PENDING)} to send")


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
    http: HttpClient, tokens: dict[str, str], ids: list[str], db: Conn, seconds: float
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
class Drain(Drive):
    """A drive of webhook deliveries: `sent` is how many, `seconds` from the backlog's commit
    to the last delivery received, `cpu_ms` per delivery."""

    first_to_last: float = 0.0
    """Seconds from the first delivery received to the last."""


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
        sent=total,
        seconds=tally["last"] - committed,
        latencies=[],
        failures=[],
        cpu_ms={k: (after[k] - before[k]) * 1000 / total for k in after},
        first_to_last=tally["last"] - tally["first"],
    )
