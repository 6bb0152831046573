"""The outbox's webhooks: subscriptions and their deliveries (fanned out with the events, in
their transaction), each attempt recorded. Its e-mails are store/mails.py's."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from domain.events import Event, instant
from store.db import Conn, fetch_read, row_as, rows_as, subject_alone
from store.events import Along
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
    return row_as(Webhook, row)


OUTBOX = "coopflow_outbox"
"""The channel the outbox listens on (notify/outbox.py)."""

# Per subject (role and subject: roles are namespaces). Each subscription multiplies the
# deliveries of every event in its scope.
MAX_WEBHOOKS = 20


class TooManyWebhooks(Exception):
    """The subject already has MAX_WEBHOOKS live subscriptions."""


async def create_webhook(
    conn: Conn,
    role: str,
    subject: str,
    url: str,
    sealed_secret: str,
    events: list[str] | None,
    *,
    limit: int = MAX_WEBHOOKS,
) -> Webhook:
    """A subscription, its secret given sealed (`notify.sealing`: the table refuses one in
    plaintext); TooManyWebhooks past `limit` live ones for the subject."""
    async with subject_alone(conn, "webhooks", role, subject):
        # Two subscriptions made at once must not both pass the count.
        live = await conn.fetchval(
            "SELECT count(*) FROM webhooks WHERE owner_role = $1 AND owner_subject = $2"
            " AND deleted_at IS NULL",
            role,
            subject,
        )
        if live >= limit:
            raise TooManyWebhooks
        row = await conn.fetchrow(
            "INSERT INTO webhooks (id, owner_role, owner_subject, url, secret, events)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
            "wh_" + secrets.token_hex(8),
            role,
            subject,
            url,
            sealed_secret,
            events,
        )
    return _webhook(row)


class _Sealer(Protocol):
    def seal(self, secret: str) -> str: ...

    def open(self, stored: str) -> str: ...

    def current(self, stored: str) -> bool: ...


async def seal_secrets(conn: Conn, box: _Sealer) -> int:
    """Secrets stored in plaintext (before they were encrypted) or with a key no longer the
    first, sealed with the current key; how many. The worker does it at start."""
    rows = await conn.fetch("SELECT id, secret FROM webhooks WHERE secret IS NOT NULL")
    resealed = []
    for row in rows:
        if box.current(row["secret"]):
            continue
        try:
            resealed.append((row["id"], box.seal(box.open(row["secret"])), row["secret"]))
        except ValueError:  # sealed with a key no longer given: its deliveries will say so
            continue
    if resealed:
        await conn.executemany(
            "UPDATE webhooks SET secret = $2 WHERE id = $1 AND secret = $3", resealed
        )
    return len(resealed)


async def owned_webhooks(conn: Conn, role: str, subject: str) -> list[Webhook]:
    return await fetch_read(
        conn,
        _webhook,
        "SELECT * FROM webhooks WHERE owner_role = $1 AND owner_subject = $2"
        " AND deleted_at IS NULL ORDER BY created_at, id",
        role,
        subject,
    )


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
    """Ends the subscription: nothing more is fanned out to it, what waits is not sent, and
    its secret is wiped."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE webhooks SET deleted_at = now(), secret = NULL WHERE id = $1", webhook_id
        )
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'failed', last_error = 'subscription deleted'"
            " WHERE webhook_id = $1 AND status = 'pending'",
            webhook_id,
        )


@dataclass(frozen=True)
class Mail:
    """A notification the outbox will e-mail (a `Notify` effect), keyed so that it is
    queued once."""

    key: str
    to_role: str
    to_subject: str | None
    about: str
    seq: int


async def fan_out(conn: Conn, cooperation_id: str, events: Sequence[Event]) -> int:
    """A delivery per event for each subscription whose owner's scope covers it (`queue`);
    how many were created."""
    deliveries, _ = await queue(conn, cooperation_id, events, ())
    return deliveries


async def queue(
    conn: Conn, cooperation_id: str, events: Sequence[Event], mails: Sequence[Mail]
) -> tuple[int, int]:
    """What the outbox must send for `events` and `mails` (`queued`), in one statement of
    its own: how many deliveries and how many e-mails are new."""
    if not events and not mails:
        return 0, 0
    row = await conn.fetchrow(
        f"WITH {_queue_ctes(2)} SELECT (SELECT count(*) FROM deliveries) AS deliveries,"
        " (SELECT count(*) FROM mails) AS mails",
        cooperation_id,
        *_queue_params(cooperation_id, events, mails),
    )
    assert row is not None
    return int(row["deliveries"]), int(row["mails"])


def queued(cooperation_id: str, events: Sequence[Event], mails: Sequence[Mail]) -> Along:
    """What the outbox must send, as a part of the events' statement
    (`store.events.append_events`): created in the events' transaction, each once.

    A delivery per event for each subscription whose owner's scope covers it. A subscriber
    never gets an event about a cooperation or a line outside its scope (the API's,
    `store.scope`): its cooperations as facilitator or fiscal host; as funder, the
    cooperations it funds and, of their line events, only its own lines'. Each new
    delivery or e-mail wakes the outbox at the commit (NOTIFY, once per transaction);
    nothing new, no NOTIFY."""
    return Along(_queue_ctes, _queue_params(cooperation_id, events, mails))


def _queue_ctes(n: int) -> str:
    seqs, types, lines, payloads, keys, roles, subjects, abouts, about_seqs = (
        f"${n + i}" for i in range(9)
    )
    return (
        "hooks AS (SELECT w.id, w.owner_role, w.events,"
        " ARRAY(SELECT l->>'line' FROM jsonb_array_elements(c.state->'lines') l"
        " WHERE l->>'funder' = w.owner_subject) AS own_lines"
        " FROM webhooks w JOIN cooperations c ON c.id = $1"
        " WHERE w.deleted_at IS NULL AND ("
        f" (w.owner_role = 'facilitator' AND {cooperations_of('facilitator', 'w.owner_subject')})"
        f" OR (w.owner_role = 'funder' AND {cooperations_of('funder', 'w.owner_subject')}))),"
        " deliveries AS (INSERT INTO webhook_deliveries (webhook_id, cooperation_id, seq,"
        " event_type, payload)"
        " SELECT h.id, $1, e.seq, e.type, e.payload FROM hooks h,"
        f" unnest({seqs}::bigint[], {types}::text[], {lines}::text[], {payloads}::jsonb[])"
        " AS e(seq, type, line, payload)"
        " WHERE (h.events IS NULL OR e.type = ANY(h.events))"
        " AND (h.owner_role <> 'funder' OR e.line IS NULL OR e.line = ANY(h.own_lines))"
        " ON CONFLICT (webhook_id, cooperation_id, seq) DO NOTHING"
        f" RETURNING pg_notify('{OUTBOX}', '')),"
        " mails AS (INSERT INTO notifications (key, cooperation_id, to_role, to_subject, about,"
        " seq) SELECT m.key, $1, m.to_role, m.to_subject, m.about, m.seq"
        f" FROM unnest({keys}::text[], {roles}::text[], {subjects}::text[], {abouts}::text[],"
        f" {about_seqs}::bigint[]) AS m(key, to_role, to_subject, about, seq)"
        f" ON CONFLICT (key) DO NOTHING RETURNING pg_notify('{OUTBOX}', ''))"
    )


def _queue_params(cooperation_id: str, events: Sequence[Event], mails: Sequence[Mail]) -> list[Any]:
    lines = [e.data.get("line") for e in events]
    return [
        [e.seq for e in events],
        [e.type for e in events],
        [str(line) if line is not None else None for line in lines],
        [payload(cooperation_id, e) for e in events],
        [m.key for m in mails],
        [m.to_role for m in mails],
        [m.to_subject for m in mails],
        [m.about for m in mails],
        [m.seq for m in mails],
    ]


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
    """As stored: sealed (`notify.sealing`), opened only to sign."""
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    lease: uuid.UUID
    """The claim's token: what is recorded of this attempt counts only while it holds."""
    lease_until: datetime


async def claim_webhook_deliveries(
    conn: Conn, limit: int, lease: timedelta, now: datetime | None = None
) -> list[Due]:
    """Due deliveries, leased to this process under a token of this claim: another one skips
    them until the lease ends (a process that dies mid-way leaves them to be tried again),
    and what this one records of them once another has taken them changes nothing
    (`record_attempts`). `now`: the outbox's clock (the database's when None)."""
    if limit <= 0:
        return []
    rows = await conn.fetch(
        "WITH clock AS (SELECT coalesce($3::timestamptz, now()) AS now)"
        " UPDATE webhook_deliveries d SET lease_until = clock.now + $2::interval,"
        " lease_token = $4 FROM webhooks w, clock"
        " WHERE w.id = d.webhook_id AND w.secret IS NOT NULL AND d.id IN ("
        " SELECT id FROM webhook_deliveries, clock WHERE status = 'pending'"
        " AND next_attempt_at <= clock.now AND (lease_until IS NULL OR lease_until < clock.now)"
        " ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE OF webhook_deliveries SKIP LOCKED)"
        " RETURNING d.id, d.webhook_id, w.url, w.secret, d.payload, d.attempts,"
        " coalesce(d.resent_at, d.created_at) AS created_at, d.lease_token AS lease,"
        " d.lease_until",
        limit,
        lease,
        now,
        uuid.uuid4(),
    )
    return rows_as(Due, rows)


async def release_webhook_deliveries(conn: Conn, due: Sequence[Due]) -> None:
    """Claimed deliveries this claim will not start on: free for the next claim at once."""
    await conn.execute(
        "UPDATE webhook_deliveries SET lease_until = NULL, lease_token = NULL"
        " WHERE id = ANY($1::bigint[]) AND lease_token = ANY($2::uuid[])",
        [d.id for d in due],
        list({d.lease for d in due}),
    )


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


async def record_attempts(conn: Conn, attempts: Sequence[Attempt], lease: uuid.UUID) -> int:
    """A batch's tries, in one transaction (the loop's cost per delivery is mostly here and
    in HTTP: one round trip per statement, not per delivery), each only while its delivery's
    lease is still `lease` (this claim's): a delivery another claim has taken since is left
    to it, its try here not recorded. Returns how many were recorded."""
    async with conn.transaction():
        # Locked first: a claim skips them until the tries are written.
        ours = set(
            await conn.fetchval(
                "SELECT coalesce(array_agg(id), '{}') FROM (SELECT id FROM webhook_deliveries"
                " WHERE id = ANY($1::bigint[]) AND lease_token = $2 FOR UPDATE) held",
                [a.delivery_id for a in attempts],
                lease,
            )
        )
        kept = [a for a in attempts if a.delivery_id in ours]
        await conn.executemany(
            "INSERT INTO delivery_attempts (delivery_id, status_code, error, duration_ms)"
            " VALUES ($1, $2, $3, $4)",
            [(a.delivery_id, a.status_code, a.error, a.duration_ms) for a in kept],
        )
        await conn.executemany(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2,"
            " next_attempt_at = coalesce($3, next_attempt_at), lease_until = NULL,"
            " lease_token = NULL, last_error = $4,"
            " delivered_at = CASE WHEN $2 = 'delivered' THEN now() END"
            " WHERE id = $1 AND lease_token = $5",
            [
                (
                    a.delivery_id,
                    a.status,
                    a.next_attempt if a.status == "pending" else None,
                    a.error,
                    lease,
                )
                for a in kept
            ],
        )
    return len(kept)


@dataclass(frozen=True)
class Try:
    """One attempt at a delivery."""

    at: str
    """As PostgreSQL's JSON writes the instant."""
    status_code: int | None
    error: str | None
    duration_ms: int | None


@dataclass(frozen=True)
class Delivery:
    """A delivery of one event to a subscription, with its attempts, oldest first."""

    id: int
    cooperation: str
    seq: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    lease_token: uuid.UUID | None
    """Held while a sender has it (`claim_webhook_deliveries`)."""
    tries: list[Try]


async def deliveries_of(conn: Conn, webhook_id: str, after: int, limit: int) -> list[Delivery]:
    rows = await conn.fetch(
        "SELECT d.id, d.cooperation_id AS cooperation, d.seq, d.event_type, d.status,"
        " d.attempts, d.next_attempt_at, d.last_error, d.delivered_at, d.lease_token,"
        " coalesce((SELECT json_agg(json_build_object("
        " 'at', a.at, 'status_code', a.status_code, 'error', a.error,"
        " 'duration_ms', a.duration_ms) ORDER BY a.id)"
        " FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]') AS tries"
        " FROM webhook_deliveries d WHERE d.webhook_id = $1 AND d.id > $2"
        " ORDER BY d.id LIMIT $3",
        webhook_id,
        after,
        limit,
    )
    return [
        Delivery(**{**dict(r), "tries": [Try(**t) for t in json.loads(r["tries"])]}) for r in rows
    ]


async def send_again(conn: Conn, webhook_id: str, delivery_id: int) -> bool:
    """A failed (or pending) delivery is tried again now; False when there is none. One that
    was given up gets a new bounded time from now."""
    done = await conn.fetchval(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(),"
        # One being sent keeps its lease: the send under way is the try asked for, not
        # another one beside it.
        " lease_until = CASE WHEN lease_until >= now() THEN lease_until END,"
        " lease_token = CASE WHEN lease_until >= now() THEN lease_token END,"
        " resent_at = CASE WHEN status = 'failed' THEN now() ELSE resent_at END"
        " WHERE id = $1 AND webhook_id = $2 AND status <> 'delivered'"
        " RETURNING 1",
        delivery_id,
        webhook_id,
    )
    if done:
        await conn.execute("NOTIFY coopflow_outbox")
    return done is not None
