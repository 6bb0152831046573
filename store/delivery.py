"""The outbox's deliveries: webhook subscriptions and their deliveries (fanned out with the
events, in their transaction), notifications' e-mails, and the contacts they go to."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.events import Event, instant
from store import contacts
from store.db import Conn
from store.scope import cooperations_of


@dataclass(frozen=True)
class Webhook:
    id: str
    owner_role: str
    owner_subject: str
    url: str
    events: list[str] | None
    created_at: datetime


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=row["id"],
        owner_role=row["owner_role"],
        owner_subject=row["owner_subject"],
        url=row["url"],
        events=list(row["events"]) if row["events"] is not None else None,
        created_at=row["created_at"],
    )


async def create_webhook(
    conn: Conn, role: str, subject: str, url: str, secret: str, events: list[str] | None
) -> Webhook:
    row = await conn.fetchrow(
        "INSERT INTO webhooks (id, owner_role, owner_subject, url, secret, events)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        "wh_" + secrets.token_hex(8),
        role,
        subject,
        url,
        secret,
        events,
    )
    return _webhook(row)


async def owned_webhooks(conn: Conn, role: str, subject: str) -> list[Webhook]:
    rows = await conn.fetch(
        "SELECT * FROM webhooks WHERE owner_role = $1 AND owner_subject = $2"
        " AND deleted_at IS NULL ORDER BY created_at, id",
        role,
        subject,
    )
    return [_webhook(r) for r in rows]


async def owned_webhook(conn: Conn, role: str, subject: str, webhook_id: str) -> Webhook | None:
    row = await conn.fetchrow(
        "SELECT * FROM webhooks WHERE id = $1 AND owner_role = $2 AND owner_subject = $3"
        " AND deleted_at IS NULL",
        webhook_id,
        role,
        subject,
    )
    return _webhook(row) if row is not None else None


async def delete_webhook(conn: Conn, webhook_id: str) -> None:
    """Ends the subscription: nothing more is fanned out to it, what waits is not sent."""
    async with conn.transaction():
        await conn.execute("UPDATE webhooks SET deleted_at = now() WHERE id = $1", webhook_id)
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'failed', last_error = 'subscription deleted'"
            " WHERE webhook_id = $1 AND status = 'pending'",
            webhook_id,
        )


async def fan_out(conn: Conn, cooperation_id: str, events: Sequence[Event]) -> int:
    """A delivery per event for each subscription whose owner's scope covers it, created in
    the events' transaction: each event is fanned out once. A subscriber never gets an event
    about a cooperation or a line outside its scope (the API's, `store.scope`): its
    cooperations as facilitator or fiscal host; as funder, the cooperations it funds and, of
    their line events, only its own lines'."""
    if not events:
        return 0
    hooks = await conn.fetch(
        "SELECT w.id, w.owner_role, w.events,"
        " ARRAY(SELECT l->>'line' FROM jsonb_array_elements(c.state->'lines') l"
        " WHERE l->>'funder' = w.owner_subject) AS own_lines"
        " FROM webhooks w JOIN cooperations c ON c.id = $1"
        " WHERE w.deleted_at IS NULL AND ("
        f" (w.owner_role = 'facilitator' AND {cooperations_of('facilitator', 'w.owner_subject')})"
        f" OR (w.owner_role = 'funder' AND {cooperations_of('funder', 'w.owner_subject')}))",
        cooperation_id,
    )
    rows = []
    for hook in hooks:
        wanted = set(hook["events"]) if hook["events"] is not None else None
        own = set(hook["own_lines"] or ())
        for event in events:
            if wanted is not None and event.type not in wanted:
                continue
            line = event.data.get("line")
            if hook["owner_role"] == "funder" and line is not None and line not in own:
                continue
            rows.append(
                (hook["id"], cooperation_id, event.seq, event.type, payload(cooperation_id, event))
            )
    if rows:
        await conn.executemany(
            "INSERT INTO webhook_deliveries (webhook_id, cooperation_id, seq, event_type, payload)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (webhook_id, cooperation_id, seq) DO NOTHING",
            rows,
        )
        await conn.execute("NOTIFY coopflow_outbox")
    return len(rows)


def payload(cooperation_id: str, event: Event) -> dict[str, Any]:
    """The Standard Webhooks payload shape: type, timestamp, data."""
    return {
        "type": event.type,
        "timestamp": instant(event.at),
        "data": {
            "cooperation": cooperation_id,
            "seq": event.seq,
            "type": event.type,
            "at": instant(event.at),
            "data": event.data,
        },
    }


@dataclass(frozen=True)
class Due:
    id: int
    webhook_id: str
    url: str
    secret: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


async def claim_webhook_deliveries(conn: Conn, limit: int, lease: timedelta) -> list[Due]:
    """Due deliveries, leased to this process: another one skips them until the lease ends
    (a process that dies mid-way leaves them to be tried again)."""
    rows = await conn.fetch(
        "UPDATE webhook_deliveries d SET lease_until = now() + $2::interval"
        " FROM webhooks w WHERE w.id = d.webhook_id AND d.id IN ("
        " SELECT id FROM webhook_deliveries WHERE status = 'pending'"
        " AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())"
        " ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)"
        " RETURNING d.id, d.webhook_id, w.url, w.secret, d.payload, d.attempts,"
        " coalesce(d.resent_at, d.created_at) AS created_at",
        limit,
        lease,
    )
    return [
        Due(
            id=r["id"],
            webhook_id=r["webhook_id"],
            url=r["url"],
            secret=r["secret"],
            payload=r["payload"],
            attempts=r["attempts"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Attempt:
    """One try of a delivery, and what follows: delivered, tried again at `next_attempt`, or
    given up (`next_attempt` None)."""

    delivery_id: int
    status_code: int | None
    error: str | None
    duration_ms: int
    next_attempt: datetime | None
    delivered: bool

    @property
    def status(self) -> str:
        if self.delivered:
            return "delivered"
        return "pending" if self.next_attempt is not None else "failed"


async def record_attempts(conn: Conn, attempts: Sequence[Attempt]) -> None:
    """A batch's tries, in one transaction (the loop's cost per delivery is mostly here and
    in HTTP: one round trip per statement, not per delivery)."""
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO delivery_attempts (delivery_id, status_code, error, duration_ms)"
            " VALUES ($1, $2, $3, $4)",
            [(a.delivery_id, a.status_code, a.error, a.duration_ms) for a in attempts],
        )
        await conn.executemany(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2,"
            " next_attempt_at = coalesce($3, next_attempt_at), lease_until = NULL,"
            " last_error = $4, delivered_at = CASE WHEN $2 = 'delivered' THEN now() END"
            " WHERE id = $1",
            [
                (
                    a.delivery_id,
                    a.status,
                    a.next_attempt if a.status == "pending" else None,
                    a.error,
                )
                for a in attempts
            ],
        )


async def deliveries_of(
    conn: Conn, webhook_id: str, after: int, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT d.*, coalesce((SELECT json_agg(json_build_object("
        " 'at', a.at, 'status_code', a.status_code, 'error', a.error,"
        " 'duration_ms', a.duration_ms) ORDER BY a.id)"
        " FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]') AS tries"
        " FROM webhook_deliveries d WHERE d.webhook_id = $1 AND d.id > $2"
        " ORDER BY d.id LIMIT $3",
        webhook_id,
        after,
        limit,
    )
    return [dict(r) | {"tries": json.loads(r["tries"])} for r in rows]


async def send_again(conn: Conn, webhook_id: str, delivery_id: int) -> bool:
    """A failed (or pending) delivery is tried again now; False when there is none. One that
    was given up gets a new bounded time from now."""
    done = await conn.fetchval(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(),"
        " lease_until = NULL,"
        " resent_at = CASE WHEN status = 'failed' THEN now() ELSE resent_at END"
        " WHERE id = $1 AND webhook_id = $2 AND status <> 'delivered'"
        " RETURNING 1",
        delivery_id,
        webhook_id,
    )
    if done:
        await conn.execute("NOTIFY coopflow_outbox")
    return done is not None


# -- e-mails -------------------------------------------------------------------------------


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


async def claim_notifications(conn: Conn, limit: int, lease: timedelta) -> list[DueNotification]:
    rows = await conn.fetch(
        "UPDATE notifications SET lease_until = now() + $2::interval WHERE key IN ("
        " SELECT key FROM notifications WHERE status = 'pending' AND next_attempt_at <= now()"
        " AND (lease_until IS NULL OR lease_until < now())"
        " ORDER BY next_attempt_at, key LIMIT $1 FOR UPDATE SKIP LOCKED)"
        " RETURNING key, cooperation_id, to_role, to_subject, about, seq, attempts, created_at",
        limit,
        lease,
    )
    return [DueNotification(**dict(r)) for r in rows]


async def record_notification(
    conn: Conn,
    key: str,
    status: str,
    error: str | None,
    sent_to: list[str] | None,
    next_attempt: datetime | None,
) -> None:
    await conn.execute(
        "UPDATE notifications SET status = $2, last_error = $3, sent_to = $4,"
        " attempts = attempts + 1, next_attempt_at = coalesce($5, next_attempt_at),"
        " lease_until = NULL, delivered_at = CASE WHEN $2 IN ('sent', 'logged') THEN now() END"
        " WHERE key = $1",
        key,
        status,
        error,
        sent_to,
        next_attempt,
    )


async def contacts_of(conn: Conn, role: str, subject: str) -> list[str]:
    """Where a subject's notifications go: its confirmed addresses only (store.contacts)."""
    return await contacts.confirmed_addresses(conn, role, subject)


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
