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
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from notify import webhooks
from notify.mail import Mailer
from notify.render import render_email
from runtime.logging import get_logger
from runtime.metrics import DeliveryMetrics
from store import delivery, payees

log = get_logger("coopflow.outbox")

# After the first failure, then the second…: a receiver down for minutes gets everything
# soon after it is back; one down for hours, within the hour.
BACKOFF = (5, 30, 120, 600, 1800, 3600)
LEASE = timedelta(minutes=2)
BATCH = 50
CHANNEL = "coopflow_outbox"


def next_attempt(attempts: int, created_at: datetime, give_up_after: timedelta) -> datetime | None:
    """When to try again after `attempts` failures; None once the bounded time is over."""
    delay = BACKOFF[min(attempts, len(BACKOFF) - 1)]
    moment = datetime.now(UTC) + timedelta(seconds=delay)
    return None if moment - created_at > give_up_after else moment


async def deliver_webhooks(
    pool: asyncpg.Pool,
    sender: webhooks.Sender,
    give_up_after: timedelta,
    metrics: DeliveryMetrics | None = None,
) -> int:
    metrics = metrics or DeliveryMetrics()
    async with pool.acquire() as conn:
        due = await delivery.claim_webhook_deliveries(conn, BATCH, LEASE)
    if not due:
        return 0

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

    attempts = await asyncio.gather(*(one(item) for item in due))
    async with pool.acquire() as conn:
        await delivery.record_attempts(conn, attempts)
    return len(due)


async def deliver_emails(
    pool: asyncpg.Pool,
    mailer: Mailer,
    give_up_after: timedelta,
    metrics: DeliveryMetrics | None = None,
) -> int:
    metrics = metrics or DeliveryMetrics()
    async with pool.acquire() as conn:
        due = await delivery.claim_notifications(conn, BATCH, LEASE)
    for item in due:
        await _email(pool, mailer, item, give_up_after, metrics)
    return len(due)


async def _email(
    pool: asyncpg.Pool,
    mailer: Mailer,
    item: delivery.DueNotification,
    give_up_after: timedelta,
    metrics: DeliveryMetrics,
) -> None:
    async with pool.acquire() as conn:
        if item.to_subject is None:
            await delivery.record_notification(conn, item.key, "no_recipient", None, None, None)
            return
        to = await delivery.contacts_of(conn, item.to_role, item.to_subject)
        if not to:
            await delivery.record_notification(conn, item.key, "no_contact", None, None, None)
            return
        event, name, locale = await delivery.notification_context(conn, item)
        # A proposed line's e-mail names whom it pays, and whether its facilitator is one.
        parties = (
            await payees.parties(conn, item.cooperation_id)
            if event is not None and event.type == "FundingLineProposed"
            else None
        )
    if event is None:  # the event is written with its notification: only a wiped log lacks it
        async with pool.acquire() as conn:
            await delivery.record_notification(conn, item.key, "failed", "no event", None, None)
        return
    email = render_email(item.about, event, item.cooperation_id, name, locale, parties=parties)
    try:
        sent = await mailer.send(to, email.subject, email.text, email.html)
    except Exception as error:  # an SMTP server down or refusing: tried again later
        following = next_attempt(item.attempts, item.created_at, give_up_after)
        status = "pending" if following is not None else "failed"
        metrics.failed("email", given_up=following is None)
        log.warning("e-mail not sent", key=item.key, error=str(error), status=status)
        async with pool.acquire() as conn:
            await delivery.record_notification(
                conn, item.key, status, str(error)[:500], None, following
            )
        return
    async with pool.acquire() as conn:
        await delivery.record_notification(
            conn, item.key, "sent" if sent else "logged", None, to, None
        )


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
