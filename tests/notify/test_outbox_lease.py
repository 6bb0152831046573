"""The outbox under a lease shorter than its work: two outbox loops side by side, an SMTP
server and a webhook receiver that are slow (one answer in each stalls past the lease, the
others take a while each), and every e-mail, digest and webhook delivered once (counted
where it arrives) and all of them delivered in the end. A claim takes only what its lease
covers, a send is begun only while the lease covers its timeout, and what a claim records
once its lease is another's changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.requests import Request
from starlette.responses import Response

from notify import outbox, webhooks
from notify.mail import Mailer
from runtime.localstack import free_port
from store import delivery, mails
from tests.notify.test_delivery import Receiver, local_policy, new_secret, sealed, serving
from tests.notify.test_mail_throttle import EQUIPE, contacts, notify
from tests.web.browser import Mailbox

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GIVE_UP = timedelta(hours=1)
LEASE = timedelta(seconds=4)
COOPERATIONS = [f"coop{i:02}" for i in range(12)]


class Slow:
    """How long an answer takes: `stall` for the next one after `stall_next()` (longer than
    the lease), `pace` for every other."""

    def __init__(self, pace: float, stall: float) -> None:
        self.pace = pace
        self.stall = stall
        self._stalls = 0
        self.stalled = 0

    def stall_next(self, times: int = 1) -> None:
        self._stalls = times

    async def wait(self) -> None:
        if self._stalls:
            self._stalls -= 1
            self.stalled += 1
            await asyncio.sleep(self.stall)
        else:
            await asyncio.sleep(self.pace)


@contextlib.asynccontextmanager
async def slow_smtp(box: Mailbox, slow: Slow) -> AsyncIterator[str]:
    """An SMTP server that takes a while to answer the end of each message; a message counts
    (in `box`) once it answers. A sender that gives up before that drops the connection,
    which ends the handler (aiosmtpd cancels it): that message was not taken."""

    class Handler:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            await slow.wait()
            return await box.handle_DATA(server, session, envelope)

    loop = asyncio.get_running_loop()
    port = free_port()
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname="slow.coopflow.test", loop=loop), "127.0.0.1", port
    )
    try:
        yield f"smtp+insecure://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def loops(pool: asyncpg.Pool, database_url: str, mailer: Mailer) -> AsyncIterator[None]:
    """Two outbox loops, as two workers run them."""
    tasks = [
        asyncio.create_task(
            outbox.run(
                pool,
                database_url,
                mailer,
                GIVE_UP,
                poll_every=0.1,
                webhook_policy=local_policy(),
            )
        )
        for _ in range(2)
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def until(check: Callable[[], Any], what: str, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


@pytest.fixture
def short_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lease of 4 s, sends bounded to 1.5 s and 0.5 s around each: a claim covers two
    sends one after the other. Retries within a second."""
    monkeypatch.setattr(outbox, "LEASE", LEASE)
    monkeypatch.setattr(outbox, "SEND_MARGIN", timedelta(seconds=0.5))
    monkeypatch.setattr(outbox, "BACKOFF", (0.2, 0.4, 0.8))
    monkeypatch.setattr(webhooks, "TIMEOUT", 1.5)


@pytest.mark.usefixtures("short_lease")
async def test_emails_and_digests_go_once_each_from_two_loops_on_a_slow_server(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Digests one at a time: those of a claim follow each other too.
    monkeypatch.setattr(outbox, "SIDE_BY_SIDE", 1)
    await contacts(pool, EQUIPE)
    # Per cooperation, one e-mail at once and one held for the digest: twelve e-mails of
    # 0.4 s each, more than a lease, and the first answer stalls past the lease.
    for coop in COOPERATIONS:
        await notify(pool, 1, coop=coop)
        await notify(pool, 2, coop=coop)
    slow = Slow(pace=0.4, stall=LEASE.total_seconds() + 1)
    slow.stall_next()
    box = Mailbox()
    async with slow_smtp(box, slow) as url:
        mailer = Mailer(url, "coopflow <noreply@coopflow.test>", timeout=1.5)
        async with loops(pool, database_url, mailer):

            async def all_told() -> bool:
                async with pool.acquire() as conn:
                    waiting = await conn.fetchval(
                        "SELECT count(*) FROM notifications WHERE status = 'pending'"
                    )
                return waiting == 0

            await until(all_told, "every notification sent or held")
            first = Counter(m.subject.split(" — ")[0] for m in box.messages)
            assert first == Counter(COOPERATIONS), first

            # An hour later (the windows moved back): the twelve digests, the first answer
            # stalling again.
            slow.stall_next()
            async with pool.acquire() as conn:
                await conn.execute(
                    "UPDATE mail_windows SET last_sent_at = last_sent_at - interval '61 minutes'"
                )

            async def digests_sent() -> bool:
                async with pool.acquire() as conn:
                    return bool(
                        await conn.fetchval(
                            "SELECT count(*) = $1 FROM mail_digests WHERE status = 'sent'",
                            len(COOPERATIONS),
                        )
                    )

            await until(digests_sent, "every digest sent")
            # Any second send of what stalled would have come by now.
            await asyncio.sleep(LEASE.total_seconds() + 2)
    assert slow.stalled == 2
    counted = Counter((m.to[0], m.subject.split(" — ")[0]) for m in box.messages)
    assert counted == Counter({(EQUIPE, coop): 2 for coop in COOPERATIONS}), counted
    async with pool.acquire() as conn:
        held = await conn.fetch(
            "SELECT status, digest_id FROM notification_mails"
            " WHERE split_part(notification_key, ':', 2) = '2'"
        )
        notes = await conn.fetch("SELECT status, lease_until FROM notifications")
        digests = await conn.fetch("SELECT status, attempts, lease_until FROM mail_digests")
    assert {(h["status"], h["digest_id"] is not None) for h in held} == {("sent", True)}
    assert {n["status"] for n in notes} == {"sent", "held"}
    assert all(n["lease_until"] is None for n in notes)
    # Every digest once, though the first was tried twice (its stalled send given up at the
    # timeout, recorded as such, and sent again).
    assert sorted(d["attempts"] for d in digests) == [1] * (len(COOPERATIONS) - 1) + [2]
    assert {(d["status"], d["lease_until"]) for d in digests} == {("sent", None)}
