"""The outbox's e-mails: notifications claimed and recorded, the confirmed contacts they go
to, and the per-address record that holds an address to one e-mail an hour per cooperation
and event type (the rest in a digest)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from domain.events import Event
from store import contacts
from store.db import Conn

T = TypeVar("T")


@dataclass(frozen=True)
class DueNotification:
    key: str
    cooperation_id: str
    to_role: str
    to_subject: str | None
    about: str
    seq: int
    attempts: int
    created_at: datetime
    # The claim's token and the lease's end; None for a notification read as part of a
    # digest (the digest's lease covers it).
    lease: uuid.UUID | None = None
    lease_until: datetime | None = None


async def claim_notifications(
    conn: Conn, limit: int, lease: timedelta, now: datetime | None = None
) -> list[DueNotification]:
    """Due notifications, leased to this process under a token of this claim: what it
    records of them counts only while the token is theirs (`record_notification`,
    `record_mail`). `now`: the outbox's clock (the database's when None), so that a test can
    run the outbox an hour later without waiting for it."""
    if limit <= 0:
        return []
    rows = await conn.fetch(
        "WITH clock AS (SELECT coalesce($3::timestamptz, now()) AS now)"
        " UPDATE notifications SET lease_until = clock.now + $2::interval, lease_token = $4"
        " FROM clock WHERE key IN ("
        " SELECT key FROM notifications, clock WHERE status = 'pending'"
        " AND next_attempt_at <= clock.now AND (lease_until IS NULL OR lease_until < clock.now)"
        " ORDER BY next_attempt_at, key LIMIT $1 FOR UPDATE OF notifications SKIP LOCKED)"
        " RETURNING key, cooperation_id, to_role, to_subject, about, seq, attempts, created_at,"
        " lease_token AS lease, lease_until",
        limit,
        lease,
        now,
        uuid.uuid4(),
    )
    # In the order they were made (UPDATE … RETURNING keeps none): an address's first e-mail
    # tells of the first event, its digest of the next ones.
    due = [DueNotification(**dict(r)) for r in rows]
    return sorted(due, key=lambda n: (n.created_at, n.cooperation_id, n.seq, n.key))


async def record_notification(
    conn: Conn,
    notification: DueNotification,
    status: str,
    error: str | None,
    sent_to: list[str] | None,
    next_attempt: datetime | None,
    now: datetime | None = None,
) -> bool:
    """A notification's attempt, under its claim's lease: False, and nothing changed, when
    the lease is no longer this claim's. Its e-mails per address are in `notification_mails`:
    `sent_to` names the addresses that got it at once, `held` says some wait for a digest."""
    done = await conn.execute(
        "UPDATE notifications SET status = $2, last_error = $3, sent_to = $4,"
        " attempts = attempts + 1, next_attempt_at = coalesce($5, next_attempt_at),"
        " lease_until = NULL, lease_token = NULL,"
        " delivered_at = CASE WHEN $2 IN ('sent', 'logged', 'held')"
        " THEN coalesce($6::timestamptz, now()) END"
        " WHERE key = $1 AND lease_token = $7",
        notification.key,
        status,
        error,
        sent_to,
        next_attempt,
        now,
        _token(notification),
    )
    return done != "UPDATE 0"


async def release_notifications(conn: Conn, notifications: Sequence[DueNotification]) -> None:
    """Claimed notifications this claim will not start on (its lease would not cover their
    send): free for the next claim at once, rather than when the lease ends."""
    await conn.execute(
        "UPDATE notifications SET lease_until = NULL, lease_token = NULL"
        " WHERE key = ANY($1::text[]) AND lease_token = ANY($2::uuid[])",
        [n.key for n in notifications],
        list({_token(n) for n in notifications}),
    )


def _token(notification: DueNotification) -> uuid.UUID:
    if notification.lease is None:
        raise ValueError(f"notification {notification.key} was not claimed")
    return notification.lease


async def _under_lease(
    conn: Conn, notification: DueNotification, work: Callable[[], Awaitable[T]]
) -> T | None:
    """`work`, in a transaction, while the notification's lease is still this claim's (its
    row locked until the transaction ends: a claim skips it meanwhile); None, and nothing
    done, once it is not."""
    async with conn.transaction():
        held = await conn.fetchval(
            "SELECT 1 FROM notifications WHERE key = $1 AND lease_token = $2 FOR UPDATE",
            notification.key,
            _token(notification),
        )
        return await work() if held is not None else None


async def put_contacts(conn: Conn, role: str, subject: str, emails: list[str]) -> None:
    """The subject's addresses become these, taken as confirmed (seeding by the operator, tests).
    People's own addresses go through the API, which has each one confirmed (store.contacts)."""
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM contact_addresses WHERE role = $1 AND subject = $2"
            " AND address_key NOT IN (SELECT lower(e) FROM unnest($3::text[]) AS e)",
            role,
            subject,
            emails,
        )
        await contacts.add_confirmed(conn, role, subject, emails)  # type: ignore[arg-type]


async def notification_context(
    conn: Conn, notification: DueNotification
) -> tuple[Event | None, str | None, str]:
    """What an e-mail needs: the event, the cooperation's name, and the locale of the
    programme concerned (the funder's line's; for others the cooperation's first line's)."""
    row = await conn.fetchrow(
        "SELECT seq, type, at, data FROM events WHERE cooperation_id = $1 AND seq = $2",
        notification.cooperation_id,
        notification.seq,
    )
    event = Event.model_validate(dict(row)) if row is not None else None
    cooperation = await conn.fetchrow(
        "SELECT name, state FROM cooperations WHERE id = $1", notification.cooperation_id
    )
    name = cooperation["name"] if cooperation is not None else None
    lines = (cooperation["state"] or {}).get("lines", []) if cooperation is not None else []
    if notification.to_role == "funder":
        lines = [x for x in lines if x.get("funder") == notification.to_subject] or lines
    locale = "fr"
    if lines:
        spec_locale = await conn.fetchval(
            "SELECT spec->>'locale' FROM programme_versions"
            " WHERE programme_id = $1 AND version = $2",
            lines[0]["programme"],
            lines[0]["version"],
        )
        locale = spec_locale or "fr"
    return event, name, locale


# -- e-mails per address: at most one per hour per cooperation and event type ----------------
#
# The hour of an (address, cooperation, event type) runs from the last e-mail that told that
# address of that type, alone or in a digest (`mail_windows.last_sent_at`). At most one such
# e-mail is outstanding at a time (decided, not yet sent nor given up): a notification that
# comes while one is, or within the hour after it went, is held. Held notifications go in
# the address's digest for that cooperation once their type's hour is over, that is at the
# end of the hour of the first of them (later if the e-mail that opened it is still being
# retried); the digest then opens a new hour for each type it tells of.


async def decide_mail(
    conn: Conn, notification: DueNotification, address: str, now: datetime, hour: timedelta
) -> str:
    """What `address` gets of `notification` now: `send` (its own e-mail, now or again after
    a failed try), `held` (for the digest), `done` (already sent, held, given up or
    dropped) or `lost` (the notification's lease is no longer this claim's: nothing
    decided). Decided once per notification and address, under the lock of the address's
    window for that cooperation and type, so that two processes never both send."""

    async def decide() -> str:
        await conn.execute(
            "INSERT INTO mail_windows (address, cooperation_id, about) VALUES ($1, $2, $3)"
            " ON CONFLICT ((lower(address)), cooperation_id, about) DO NOTHING",
            address,
            notification.cooperation_id,
            notification.about,
        )
        last_sent = await conn.fetchval(
            "SELECT last_sent_at FROM mail_windows"
            " WHERE lower(address) = lower($1) AND cooperation_id = $2 AND about = $3"
            " FOR UPDATE",
            address,
            notification.cooperation_id,
            notification.about,
        )
        known = await conn.fetchval(
            "SELECT status FROM notification_mails"
            " WHERE notification_key = $1 AND lower(address) = lower($2)",
            notification.key,
            address,
        )
        if known is not None:
            return "send" if known == "pending" else "done"
        waiting = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM notification_mails"
            " WHERE lower(address) = lower($1) AND cooperation_id = $2 AND about = $3"
            " AND status IN ('pending', 'held'))",
            address,
            notification.cooperation_id,
            notification.about,
        )
        held = waiting or (last_sent is not None and last_sent > now - hour)
        await conn.execute(
            "INSERT INTO notification_mails"
            " (notification_key, address, cooperation_id, about, status, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            notification.key,
            address,
            notification.cooperation_id,
            notification.about,
            "held" if held else "pending",
            now,
        )
        return "held" if held else "send"

    decided = await _under_lease(conn, notification, decide)
    return "lost" if decided is None else decided


async def record_mail(
    conn: Conn,
    notification: DueNotification,
    address: str,
    status: str,
    error: str | None,
    now: datetime,
) -> bool:
    """One try of a notification's own e-mail to one address: `sent` or `logged` (its hour
    starts now), `pending` (tried again with the notification) or `failed` (given up).
    Under the notification's lease: False, and nothing changed, once it is not this claim's."""

    async def record() -> bool:
        await conn.execute(
            "UPDATE notification_mails SET status = $3, last_error = $4,"
            " attempts = attempts + 1,"
            " sent_at = CASE WHEN $3 IN ('sent', 'logged') THEN $5::timestamptz END"
            " WHERE notification_key = $1 AND lower(address) = lower($2) AND status = 'pending'",
            notification.key,
            address,
            status,
            error,
            now,
        )
        if status in ("sent", "logged"):
            await hours_begin(conn, address, notification.cooperation_id, [notification.about], now)
        return True

    return await _under_lease(conn, notification, record) is not None


async def hours_begin(
    conn: Conn, address: str, cooperation_id: str, types: Sequence[str], now: datetime
) -> None:
    """`address` was told of `types` now, alone or in a digest: a new hour for each."""
    await conn.execute(
        "UPDATE mail_windows SET last_sent_at = greatest(last_sent_at, $4)"
        " WHERE lower(address) = lower($1) AND cooperation_id = $2 AND about = ANY($3::text[])",
        address,
        cooperation_id,
        list(types),
        now,
    )


async def settle_mails(
    conn: Conn, notification: DueNotification, contacts: Sequence[str], given_up: str | None
) -> tuple[list[str], bool] | None:
    """After a notification's attempt: its e-mails still waiting for an address that is no
    longer a contact are dropped, and, when `given_up` (the reason) is set, the others that
    were not sent are given up. Returns the addresses that got it at once, and whether some
    address waits for it in a digest; None, and nothing changed, when the notification's
    lease is no longer this claim's."""

    async def settle() -> tuple[list[str], bool]:
        await conn.execute(
            "UPDATE notification_mails SET status = 'dropped'"
            " WHERE notification_key = $1 AND status = 'pending'"
            " AND lower(address) NOT IN (SELECT lower(c) FROM unnest($2::text[]) c)",
            notification.key,
            list(contacts),
        )
        if given_up is not None:
            await conn.execute(
                "UPDATE notification_mails SET status = 'failed', last_error = $2"
                " WHERE notification_key = $1 AND status = 'pending'",
                notification.key,
                given_up,
            )
        rows = await conn.fetch(
            "SELECT address, status, digest_id FROM notification_mails"
            " WHERE notification_key = $1 AND status IN ('sent', 'logged', 'held')"
            " ORDER BY address",
            notification.key,
        )
        # What went in a digest keeps its `digest_id`; what went at once has none.
        at_once = [r["address"] for r in rows if r["status"] != "held" and r["digest_id"] is None]
        return at_once, any(r["status"] == "held" or r["digest_id"] is not None for r in rows)

    return await _under_lease(conn, notification, settle)


async def forget_address(conn: Conn, address: str) -> int:
    """RGPD: every trace of an address in the e-mails' records (what it was sent, its hours
    and digests, the notifications' `sent_to`) is erased; returns the rows removed."""
    async with conn.transaction():
        removed = 0
        for sql in (
            "DELETE FROM notification_mails WHERE lower(address) = lower($1)",
            "DELETE FROM mail_digests WHERE lower(address) = lower($1)",
            "DELETE FROM mail_windows WHERE lower(address) = lower($1)",
        ):
            removed += int((await conn.execute(sql, address)).split()[-1])
        await conn.execute(
            "UPDATE notifications SET sent_to = ARRAY(SELECT a FROM unnest(sent_to) a"
            " WHERE lower(a) <> lower($1)) WHERE EXISTS (SELECT 1 FROM unnest(sent_to) a"
            " WHERE lower(a) = lower($1))",
            address,
        )
    return removed
