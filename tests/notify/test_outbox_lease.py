"""The outbox under a lease shorter than its work: two outbox loops side by side, an SMTP
server and a webhook receiver that are slow (one answer in each stalls past the lease, the
others take a while each), and every e-mail, digest and webhook delivered once (counted
where it arrives) and all of them delivered in the end. A claim takes only what its lease
covers, a send is begun only while the lease covers its timeout, and what a claim records
once its lease is another's changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
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
from store import delivery, mail_digests, mails
from tests.notify.test_delivery import Receiver, local_policy, new_secret, sealed, serving
from tests.notify.test_mail_throttle import EQUIPE, contacts, notify
from tests.web.smtp_mailbox import Mailbox

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


async def test_a_claim_takes_what_its_lease_covers_and_a_send_ends_before_it(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lease of 3 s, sends of at most 1 s and 0.5 s around each: two sends fit in a claim.
    monkeypatch.setattr(outbox, "LEASE", timedelta(seconds=3))
    monkeypatch.setattr(outbox, "SEND_MARGIN", timedelta(seconds=0.5))
    await contacts(pool, EQUIPE)
    for coop in ("ruche", "grange", "moulin"):
        await notify(pool, 1, coop=coop)
    slow = Slow(pace=0.3, stall=3)
    box = Mailbox()
    async with slow_smtp(box, slow) as url:
        mailer = Mailer(url, "coopflow <noreply@coopflow.test>", timeout=1.0)
        assert await outbox.deliver_emails(pool, mailer, GIVE_UP) == 2
        assert len(box.messages) == 2
        async with pool.acquire() as conn:
            [third] = await conn.fetch(
                "SELECT key, attempts, lease_until, lease_token FROM notifications"
                " WHERE status = 'pending'"
            )
        # Never claimed: the next pass takes it at once, not after a lease.
        assert third["attempts"] == 0 and third["lease_until"] is None
        assert third["lease_token"] is None

        # The server stalls past the send's timeout: the send is cut there, well within
        # the lease, the server takes nothing, and the try is recorded under the lease.
        slow.stall_next()
        began = asyncio.get_running_loop().time()
        assert await outbox.deliver_emails(pool, mailer, GIVE_UP) == 1
        assert asyncio.get_running_loop().time() - began < 2.5
        await asyncio.sleep(slow.stall)
        assert len(box.messages) == 2
        async with pool.acquire() as conn:
            note = await conn.fetchrow(
                "SELECT status, attempts, last_error, lease_until, lease_token"
                " FROM notifications WHERE key = $1",
                third["key"],
            )
        assert note["status"] == "pending" and note["attempts"] == 1
        assert "within 1 s" in note["last_error"]
        assert note["lease_until"] is None and note["lease_token"] is None


async def test_a_lease_shorter_than_a_send_claims_nothing(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "LEASE", timedelta(seconds=30))
    await contacts(pool, EQUIPE)
    await notify(pool, 1)
    # 30 s of SMTP timeout and 10 s around it do not fit in 30 s: nothing is begun.
    mailer = Mailer("smtp+insecure://127.0.0.1:9", "coopflow <noreply@coopflow.test>")
    assert await outbox.deliver_emails(pool, mailer, GIVE_UP) == 0
    async with pool.acquire() as conn:
        note = await conn.fetchrow("SELECT status, attempts, lease_until FROM notifications")
    assert tuple(note) == ("pending", 0, None)


async def test_what_a_claim_records_once_another_has_its_lease_changes_nothing(
    pool: asyncpg.Pool,
) -> None:
    await contacts(pool, EQUIPE)
    await notify(pool, 1)
    await notify(pool, 2)
    async with pool.acquire() as conn:
        t0 = await conn.fetchval("SELECT clock_timestamp()")
        [first] = await mails.claim_notifications(conn, 1, LEASE, t0)
        assert await mails.decide_mail(conn, first, EQUIPE, t0, outbox.THROTTLE) == "send"
        # The first claim's lease ends; another claim takes the notification.
        later = t0 + LEASE + timedelta(seconds=1)
        [second] = await mails.claim_notifications(conn, 1, LEASE, later)
        assert second.key == first.key and second.lease != first.lease
        # The first claim, late: nothing it records counts.
        assert await mails.decide_mail(conn, first, EQUIPE, later, outbox.THROTTLE) == "lost"
        assert not await mails.record_mail(conn, first, EQUIPE, "sent", None, later)
        assert await mails.settle_mails(conn, first, [EQUIPE], None) is None
        assert not await mails.record_notification(conn, first, "sent", None, [EQUIPE], None)
        await mails.release_notifications(conn, [first])
        mail = await conn.fetchrow("SELECT status, attempts FROM notification_mails")
        note = await conn.fetchrow(
            "SELECT status, attempts, lease_token FROM notifications WHERE key = $1", first.key
        )
        assert tuple(mail) == ("pending", 0)
        assert tuple(note) == ("pending", 0, second.lease)
        # The second's records stand.
        assert await mails.decide_mail(conn, second, EQUIPE, later, outbox.THROTTLE) == "send"
        assert await mails.record_mail(conn, second, EQUIPE, "sent", None, later)
        assert await mails.record_notification(conn, second, "sent", None, [EQUIPE], None)
        assert await conn.fetchval("SELECT status FROM notifications WHERE key = $1", first.key)

        # A digest's record the same.
        [held] = await mails.claim_notifications(conn, 10, LEASE, later)
        assert await mails.decide_mail(conn, held, EQUIPE, later, outbox.THROTTLE) == "held"
        assert await mails.record_notification(conn, held, "held", None, None, None, later)
        digest_time = later + timedelta(minutes=61)
        assert await mail_digests.form_digests(conn, digest_time, outbox.THROTTLE, 10) == 1
        [a] = await mail_digests.claim_digests(conn, 10, LEASE, digest_time)
        [b] = await mail_digests.claim_digests(conn, 10, LEASE, digest_time + LEASE * 2)
        assert a.id == b.id and a.lease != b.lease
        assert not await mail_digests.record_digest(
            conn, a, "sent", a.items, [], None, None, digest_time
        )
        assert await conn.fetchval("SELECT status FROM mail_digests") == "pending"
        assert (
            await conn.fetchval("SELECT status FROM notification_mails WHERE digest_id = $1", a.id)
            == "held"
        )
        assert await mail_digests.record_digest(
            conn, b, "sent", b.items, [], None, None, digest_time
        )
        assert await conn.fetchval("SELECT status FROM mail_digests") == "sent"


async def test_a_webhook_attempt_recorded_once_another_has_its_lease_changes_nothing(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        hook = await delivery.create_webhook(
            conn, "funder", "fondation", "http://127.0.0.1:9/", sealed(new_secret()), None
        )
        await conn.execute(
            "INSERT INTO webhook_deliveries (webhook_id, cooperation_id, seq, event_type, payload)"
            " VALUES ($1, 'ruche', 1, 'Paused', '{}')",
            hook.id,
        )
        t0 = await conn.fetchval("SELECT clock_timestamp()")
        [first] = await delivery.claim_webhook_deliveries(conn, 10, LEASE, t0)
        later = t0 + LEASE + timedelta(seconds=1)
        [second] = await delivery.claim_webhook_deliveries(conn, 10, LEASE, later)
        assert second.lease != first.lease

        def attempt(delivered: bool) -> delivery.Attempt:
            return delivery.Attempt(first.id, 204 if delivered else 503, None, 5, None, delivered)

        assert await delivery.record_attempts(conn, [attempt(True)], first.lease) == 0
        await delivery.release_webhook_deliveries(conn, [first])
        [row] = await delivery.deliveries_of(conn, hook.id, 0, 10)
        assert row.status == "pending" and row.attempts == 0 and row.tries == []
        assert row.lease_token == second.lease
        assert await delivery.record_attempts(conn, [attempt(True)], second.lease) == 1
        [row] = await delivery.deliveries_of(conn, hook.id, 0, 10)
        assert row.status == "delivered" and len(row.tries) == 1


class SlowReceiver(Receiver):
    """A receiver slow to answer; a delivery counts once it answers 2xx to a sender still
    waiting (one that gave up has its request dropped, as a receiver whose work commits with
    its answer)."""

    def __init__(self, secrets_by_path: dict[str, str], slow: Slow) -> None:
        super().__init__(secrets_by_path)
        self.up = True
        self.slow = slow

    async def handle(self, request: Request) -> Response:
        await request.body()  # read first: what is_disconnected reads is not kept
        await self.slow.wait()
        if await request.is_disconnected():
            return Response(status_code=499)
        return await super().handle(request)


@pytest.mark.usefixtures("short_lease")
async def test_webhooks_go_once_each_from_two_loops_to_a_slow_receiver(
    pool: asyncpg.Pool, database_url: str
) -> None:
    secret = new_secret()
    slow = Slow(pace=0.4, stall=LEASE.total_seconds() + 1)
    receiver = SlowReceiver({"/hook": secret}, slow)
    async with pool.acquire() as conn:
        hook = await delivery.create_webhook(
            conn, "funder", "fondation", receiver.url("/hook"), sealed(secret), None
        )
        for seq, coop in enumerate(COOPERATIONS, start=1):
            await conn.execute(
                "INSERT INTO webhook_deliveries"
                " (webhook_id, cooperation_id, seq, event_type, payload)"
                " VALUES ($1, $2, $3, 'Paused', $4)",
                hook.id,
                coop,
                seq,
                {"type": "Paused", "timestamp": "2026-12-07T10:00:00Z", "data": {"seq": seq}},
            )
    # The first answers stall past the lease; the others take a while each.
    slow.stall_next(3)
    async with serving(receiver), loops(pool, database_url, Mailer(None, "x <x@x.test>")):

        async def delivered() -> bool:
            async with pool.acquire() as conn:
                return bool(
                    await conn.fetchval(
                        "SELECT count(*) = $1 FROM webhook_deliveries WHERE status = 'delivered'",
                        len(COOPERATIONS),
                    )
                )

        await until(delivered, "every delivery delivered")
        await asyncio.sleep(LEASE.total_seconds() + 2)  # any second send would be here
    assert slow.stalled == 3
    async with pool.acquire() as conn:
        rows = await delivery.deliveries_of(conn, hook.id, 0, 100)
    received = Counter(receiver.ids["/hook"])
    assert received == Counter(webhooks.message_id(r.id) for r in rows), received
    # The stalled tries were given up at the sender's timeout and recorded so: three
    # deliveries tried twice, the others once, each try recorded once.
    assert sorted(r.attempts for r in rows) == [1] * (len(COOPERATIONS) - 3) + [2] * 3
    assert all(len(r.tries) == r.attempts for r in rows)
    assert sum(r.tries[0].error == "timed out" for r in rows) == 3
