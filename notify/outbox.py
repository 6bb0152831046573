"""Delivering the outbox, at least once, never blocking a cooperation: webhook deliveries and
notification e-mails are rows in PostgreSQL, written with the events that cause them; this
loop, beside the worker, claims what is due (leased, so several workers share the work and a
process that dies leaves it to the others), sends it, records every attempt, retries with
backoff and gives up after a bounded time, recording that too. It survives restarts because
everything it needs is in the tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from notify import webhooks
from notify.emails import NAMES_PAYEES, Held, render_digest, render_email
from notify.mail import Mailer
from runtime.logging import get_logger
from runtime.metrics import DeliveryMetrics
from store import contacts, delivery, mail_digests, mails, payees, programmes
from store.db import Conn

log = get_logger("coopflow.outbox")

# After the first failure, then the second…: a receiver down for minutes gets everything
# soon after it is back; one down for hours, within the hour.
BACKOFF = (5, 30, 120, 600, 1800, 3600)
LEASE = timedelta(minutes=2)
BATCH = 50
CHANNEL = "coopflow_outbox"


def next_attempt(
    attempts: int, created_at: datetime, give_up_after: timedelta, now: datetime | None = None
) -> datetime | None:
    """When to try again after `attempts` failures; None once the bounded time is over."""
    delay = BACKOFF[min(attempts, len(BACKOFF) - 1)]
    moment = (now or datetime.now(UTC)) + timedelta(seconds=delay)
    return None if moment - created_at > give_up_after else moment


# Around each send, what the outbox does besides (reading what to send, recording it): a
# send is started only while its claim's lease covers its sender's timeout and this.
SEND_MARGIN = timedelta(seconds=10)


def _fits(send_time: timedelta, side_by_side: int) -> int:
    """How many a claim may take: what can be sent, `side_by_side` at a time, each taking up
    to `send_time`, before its lease ends (at most BATCH). Zero when a lease does not cover
    one send: the operator is told, as nothing could ever be sent."""
    rounds = int(LEASE / send_time)
    if rounds == 0:
        log.error(
            "outbox lease shorter than one send: nothing is sent",
            lease_s=LEASE.total_seconds(),
            send_s=send_time.total_seconds(),
        )
    return min(BATCH, rounds * side_by_side)


async def deliver_webhooks(
    pool: asyncpg.Pool,
    sender: webhooks.Sender,
    give_up_after: timedelta,
    metrics: DeliveryMetrics | None = None,
) -> int:
    """Due deliveries, all sent side by side: a claim takes what its lease covers (a batch,
    as each attempt ends within the sender's timeout), and records only what its lease
    still holds."""
    metrics = metrics or DeliveryMetrics()
    send_time = timedelta(seconds=sender.timeout) + SEND_MARGIN
    async with pool.acquire() as conn:
        clock = await Clock.of(conn, None)
        due = await delivery.claim_webhook_deliveries(conn, _fits(send_time, BATCH), LEASE, clock())
    if not due:
        return 0
    # The claim's first moment: should its answer have been slow, what no longer fits waits.
    started = [d for d in due if clock() + send_time <= d.lease_until]
    if len(started) < len(due):
        async with pool.acquire() as conn:
            await delivery.release_webhook_deliveries(conn, due[len(started) :])

    async def one(item: delivery.Due) -> delivery.Attempt:
        sent = await sender.send(item.url, item.secret, webhooks.message_id(item.id), item.payload)
        following = None if sent.ok else next_attempt(item.attempts, item.created_at, give_up_after)
        if not sent.ok:
            metrics.failed("webhook", given_up=following is None)
        if not sent.ok and following is None:
            log.warning(
                "webhook delivery given up",
                delivery=item.id,
                webhook=item.webhook_id,
                error=sent.error,
            )
        return delivery.Attempt(
            item.id, sent.status_code, sent.error, sent.duration_ms, following, sent.ok
        )

    attempts = await asyncio.gather(*(one(item) for item in started))
    if attempts:
        async with pool.acquire() as conn:
            recorded = await delivery.record_attempts(conn, attempts, due[0].lease)
        if recorded < len(attempts):
            log.warning(
                "webhook attempts past their lease not recorded", count=len(attempts) - recorded
            )
    return len(due)


# An address gets at most one e-mail an hour about one cooperation and one event type
# (DESIGN.md, "Nobody can flood a cooperation"); what comes within the hour goes in that
# address's digest for the cooperation (store.delivery explains how the hour is measured).
THROTTLE = timedelta(hours=1)
SIDE_BY_SIDE = 8


def send_time(mailer: Mailer) -> timedelta:
    """The longest one e-mail takes, from reading what to send to recording it."""
    return timedelta(seconds=mailer.timeout) + SEND_MARGIN


async def deliver_emails(
    pool: asyncpg.Pool,
    mailer: Mailer,
    give_up_after: timedelta,
    metrics: DeliveryMetrics | None = None,
    now: datetime | None = None,
) -> int:
    """Due notifications, each e-mailed to every address of its subject on its own, or held
    for that address's digest; then the digests whose hour is over. A claim takes what its
    lease covers, a send is begun only while the lease still covers it, and what is recorded
    counts only while the lease is still this claim's. `now` is the time of this pass
    (PostgreSQL's when None): a test runs the outbox an hour later without waiting. Returns
    how many notifications and digests it took up."""
    metrics = metrics or DeliveryMetrics()
    one_send = send_time(mailer)
    async with pool.acquire() as conn:
        clock = await Clock.of(conn, now)
        # One notification after the other (its addresses side by side): as many as there
        # are sends in a lease.
        due = await mails.claim_notifications(conn, _fits(one_send, 1), LEASE, clock())
    # In the order they were made: an address's first e-mail of the hour is the first
    # event's. What the lease no longer covers is let go for the next claim, never begun.
    for i, item in enumerate(due):
        if not _covers(item.lease_until, clock, one_send):
            async with pool.acquire() as conn:
                await mails.release_notifications(conn, due[i:])
            break
        await _email(pool, mailer, item, give_up_after, metrics, clock)
    async with pool.acquire() as conn:
        await mail_digests.form_digests(conn, clock(), THROTTLE, BATCH * 20)
        digests = await mail_digests.claim_digests(
            conn, _fits(one_send, SIDE_BY_SIDE), LEASE, clock()
        )
    # Each digest is another address or cooperation's: a few side by side (an SMTP server
    # takes only so many connections at once), none begun past what its lease covers.
    gate = asyncio.Semaphore(SIDE_BY_SIDE)
    left: list[mail_digests.DueDigest] = []

    async def digest(due: mail_digests.DueDigest) -> None:
        async with gate:
            if _covers(due.lease_until, clock, one_send):
                await _digest(pool, mailer, due, give_up_after, metrics, clock)
            else:
                left.append(due)

    await asyncio.gather(*(digest(d) for d in digests))
    if left:
        async with pool.acquire() as conn:
            await mail_digests.release_digests(conn, left)
    return len(due) + len(digests)


def _covers(lease_until: datetime | None, clock: Clock, needed: timedelta) -> bool:
    return lease_until is not None and clock() + needed <= lease_until


class Clock:
    """The e-mails' time: PostgreSQL's, as leases and hours are compared with it by every
    process whatever its host's clock says, read once a pass and carried on by the monotonic
    clock; or the `now` a test gives, which does not move."""

    def __init__(self, start: datetime, moves: bool) -> None:
        self._start = start
        self._since = time.monotonic() if moves else None

    @classmethod
    async def of(cls, conn: Conn, now: datetime | None) -> Clock:
        if now is not None:
            return cls(now, moves=False)
        return cls(await conn.fetchval("SELECT clock_timestamp()"), moves=True)

    def __call__(self) -> datetime:
        if self._since is None:
            return self._start
        return self._start + timedelta(seconds=time.monotonic() - self._since)


def _scrubbed(error: Exception, addresses: list[str]) -> str:
    """An SMTP error's text without the addresses it may quote (they are never logged, and
    an erased address must not linger in an error column)."""
    text = str(error)[:500]
    for address in addresses:
        text = re.sub(re.escape(address), "<address>", text, flags=re.IGNORECASE)
    return text


def _distinct(addresses: list[str]) -> list[str]:
    """Each mailbox once, whatever the case it was written in."""
    seen: set[str] = set()
    distinct = []
    for address in addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            distinct.append(address)
    return distinct


async def _email(
    pool: asyncpg.Pool,
    mailer: Mailer,
    item: mails.DueNotification,
    give_up_after: timedelta,
    metrics: DeliveryMetrics,
    clock: Clock,
) -> None:
    """One notification under its claim's lease: nothing of it is recorded once the lease is
    another claim's (the other claim sends and records it)."""
    async with pool.acquire() as conn:
        if item.to_subject is None:
            await mails.record_notification(conn, item, "no_recipient", None, None, None, clock())
            return
        to = _distinct(await contacts.confirmed_addresses(conn, item.to_role, item.to_subject))
        if not to:
            if await mails.settle_mails(conn, item, to, None) is not None:
                await mails.record_notification(conn, item, "no_contact", None, None, None, clock())
            return
        event, name, locale = await mails.notification_context(conn, item)
        # A proposed line's e-mail names whom it pays, and whether its facilitator is one.
        parties = (
            await payees.parties(conn, item.cooperation_id)
            if event is not None and event.type in NAMES_PAYEES
            else None
        )
        named = await programmes.names_of_lines(conn, [event] if event else [])
    if event is None:  # the event is written with its notification: only a wiped log lacks it
        async with pool.acquire() as conn:
            await mails.record_notification(conn, item, "failed", "no event", None, None, clock())
        return
    email = render_email(
        item.about, event, item.cooperation_id, name, locale, parties=parties, programmes=named
    )
    sending = []
    async with pool.acquire() as conn:
        for address in to:
            decided = await mails.decide_mail(conn, item, address, clock(), THROTTLE)
            if decided == "lost":
                return
            if decided == "send":
                sending.append(address)
        # Decided, but no longer time to send within the lease: the next claim sends what
        # was decided (`decide_mail` answers `send` again for it).
        if sending and not _covers(item.lease_until, clock, send_time(mailer)):
            await mails.release_notifications(conn, [item])
            return

    async def one(address: str) -> str:
        """Sends to one address and records it: `sent`, `logged`, the error, or `lost`."""
        try:
            sent = await mailer.send([address], email.subject, email.text, email.html)
        except Exception as error:  # an SMTP server down, refusing or too slow: tried again
            reason = _scrubbed(error, to) or type(error).__name__
            async with pool.acquire() as conn:
                kept = await mails.record_mail(conn, item, address, "pending", reason, clock())
            return reason if kept else LOST
        status = "sent" if sent else "logged"
        async with pool.acquire() as conn:
            kept = await mails.record_mail(conn, item, address, status, None, clock())
        return status if kept else LOST

    # Side by side: the addresses' sends all end within one send's time.
    outcomes = await asyncio.gather(*(one(a) for a in sending))
    if LOST in outcomes:
        log.warning("e-mail sent past its lease, not recorded", key=item.key)
        return
    errors = [o for o in outcomes if o not in ("sent", "logged")]
    logged = "logged" in outcomes
    following = (
        next_attempt(item.attempts, item.created_at, give_up_after, clock()) if errors else None
    )
    given_up = bool(errors) and following is None
    for _ in errors:
        metrics.failed("email", given_up=given_up)
    async with pool.acquire() as conn:
        settled = await mails.settle_mails(conn, item, to, errors[-1] if given_up else None)
        if settled is None:
            return
        sent_to, held = settled
        if errors:
            status = "failed" if given_up else "pending"
            # Addresses are counted in logs, never written there.
            log.warning(
                "e-mail not sent",
                key=item.key,
                recipients=len(errors),
                error=errors[-1],
                status=status,
            )
        else:
            status = "held" if held else "logged" if logged else "sent"
        await mails.record_notification(
            conn,
            item,
            status,
            errors[-1] if errors else None,
            sent_to or None,
            following,
            clock(),
        )


# What a send's record says when its lease was another claim's by then.
LOST = "lost"


async def _digest(
    pool: asyncpg.Pool,
    mailer: Mailer,
    digest: mail_digests.DueDigest,
    give_up_after: timedelta,
    metrics: DeliveryMetrics,
    clock: Clock,
) -> None:
    told: list[mails.DueNotification] = []
    dropped: list[mails.DueNotification] = []
    held: list[Held] = []
    name: str | None = None
    async with pool.acquire() as conn:
        reached: dict[tuple[str, str], set[str]] = {}
        for item in digest.items:
            who = (item.to_role, item.to_subject or "")
            if who not in reached:
                found = await contacts.confirmed_addresses(conn, *who) if item.to_subject else []
                reached[who] = {a.lower() for a in found}
            event, name, locale = await mails.notification_context(conn, item)
            # Held for an address that is no longer a contact: it does not go there now.
            if digest.address.lower() not in reached[who] or event is None:
                dropped.append(item)
                continue
            told.append(item)
            held.append(Held(item.about, event, locale))
        # A proposed line held for a digest still names whom it pays (as its own e-mail).
        parties = (
            await payees.parties(conn, digest.cooperation_id)
            if any(h.event.type in NAMES_PAYEES for h in held)
            else None
        )
        named = await programmes.names_of_lines(conn, [h.event for h in held])
    if not held:
        async with pool.acquire() as conn:
            await mail_digests.record_digest(
                conn, digest, "dropped", told, dropped, None, None, clock()
            )
        return
    if not _covers(digest.lease_until, clock, send_time(mailer)):
        async with pool.acquire() as conn:
            await mail_digests.release_digests(conn, [digest])
        return
    email = render_digest(
        held, digest.cooperation_id, name, held[0].locale, parties, programmes=named
    )
    try:
        sent = await mailer.send([digest.address], email.subject, email.text, email.html)
    except Exception as error:  # as a notification's e-mail: tried again, then given up
        reason = _scrubbed(error, [digest.address]) or type(error).__name__
        following = next_attempt(digest.attempts, digest.created_at, give_up_after, clock())
        status = "pending" if following is not None else "failed"
        metrics.failed("email", given_up=following is None)
        log.warning(
            "digest not sent", digest=digest.id, events=len(told), error=reason, status=status
        )
        async with pool.acquire() as conn:
            kept = await mail_digests.record_digest(
                conn, digest, status, told, dropped, reason, following, clock()
            )
    else:
        async with pool.acquire() as conn:
            kept = await mail_digests.record_digest(
                conn, digest, "sent" if sent else "logged", told, dropped, None, None, clock()
            )
    if not kept:
        log.warning("digest sent past its lease, not recorded", digest=digest.id)


async def run(
    pool: asyncpg.Pool,
    database_url: str,
    mailer: Mailer,
    give_up_after: timedelta,
    poll_every: float = 1.0,
    metrics: DeliveryMetrics | None = None,
    *,
    webhook_policy: webhooks.Policy,
) -> None:
    """Until cancelled: woken at once by the NOTIFY that comes with new deliveries, and every
    `poll_every` seconds for retries that come due. `metrics` counts failed attempts and
    deliveries given up. Webhooks go where `webhook_policy` allows, their secrets opened
    with its key; secrets stored before they were encrypted are encrypted first."""
    try:
        async with pool.acquire() as conn:
            sealed = await delivery.seal_secrets(conn, webhook_policy.box)
        if sealed:
            log.info("webhook secrets encrypted with the current key", count=sealed)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        log.warning("webhook secrets not encrypted yet", error=str(error))
    async with webhooks.Sender(webhook_policy) as sender:
        await _loop(
            pool,
            database_url,
            mailer,
            give_up_after,
            poll_every,
            sender,
            asyncio.Event(),
            metrics or DeliveryMetrics(),
        )


async def _loop(
    pool: asyncpg.Pool,
    database_url: str,
    mailer: Mailer,
    give_up_after: timedelta,
    poll_every: float,
    sender: webhooks.Sender,
    woken: asyncio.Event,
    metrics: DeliveryMetrics,
) -> None:
    listener: Any = None
    try:
        while True:
            try:
                if listener is None or listener.is_closed():
                    listener = await asyncpg.connect(database_url)
                    await listener.add_listener(CHANNEL, lambda *_: woken.set())
                busy = await deliver_webhooks(pool, sender, give_up_after, metrics)
                busy += await deliver_emails(pool, mailer, give_up_after, metrics)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                # PostgreSQL away: nothing is lost (the rows wait), look again later. A send
                # whose attempt could not be recorded goes again once its lease ends, with
                # the same webhook-id: receivers keep it once.
                log.warning("outbox could not be read", error=str(error))
                if listener is not None:
                    listener.terminate()
                listener = None
                busy = 0
            if busy:
                continue
            woken.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=poll_every)
    finally:
        if listener is not None and not listener.is_closed():
            await listener.close()
