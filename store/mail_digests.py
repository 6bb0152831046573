"""The e-mails held for an address (store/mails.py: one e-mail an hour per cooperation and
event type) go out together in a digest per address and cooperation once their hour is over:
formed, claimed under a lease as notifications are, and recorded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from store.db import Conn
from store.mails import DueNotification, hours_begin


async def form_digests(conn: Conn, now: datetime, hour: timedelta, limit: int) -> int:
    """Puts the held e-mails whose hour is over into their address's digest for their
    cooperation (made when none waits), to be sent at once; returns how many were put. A
    digest being sent (leased) is left alone: what comes due meanwhile goes in the next."""
    rows = await conn.fetch(
        "SELECT m.notification_key, m.address, lower(m.address) AS mailbox, m.cooperation_id"
        " FROM notification_mails m"
        " LEFT JOIN mail_windows w ON lower(w.address) = lower(m.address)"
        " AND w.cooperation_id = m.cooperation_id AND w.about = m.about"
        " WHERE m.status = 'held' AND m.digest_id IS NULL"
        " AND (w.last_sent_at IS NULL OR w.last_sent_at <= $1::timestamptz - $2::interval)"
        " AND NOT EXISTS (SELECT 1 FROM notification_mails p WHERE p.status = 'pending'"
        " AND lower(p.address) = lower(m.address) AND p.cooperation_id = m.cooperation_id"
        " AND p.about = m.about)"
        " ORDER BY m.created_at LIMIT $3",
        now,
        hour,
        limit,
    )
    groups: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for r in rows:
        _, keys = groups.setdefault((r["mailbox"], r["cooperation_id"]), (r["address"], []))
        keys.append(r["notification_key"])
    put = 0
    for (mailbox, cooperation_id), (address, keys) in groups.items():
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO mail_digests (address, cooperation_id, next_attempt_at, created_at)"
                " VALUES ($1, $2, $3, $3) ON CONFLICT ((lower(address)), cooperation_id)"
                " WHERE status = 'pending' DO NOTHING",
                address,
                cooperation_id,
                now,
            )
            # Locked: a process claiming it waits, and one sending it is seen by its lease.
            digest = await conn.fetchrow(
                "SELECT id, lease_until FROM mail_digests WHERE lower(address) = $1"
                " AND cooperation_id = $2 AND status = 'pending' FOR UPDATE",
                mailbox,
                cooperation_id,
            )
            if digest is None or (digest["lease_until"] and digest["lease_until"] >= now):
                continue
            done = await conn.execute(
                "UPDATE notification_mails SET digest_id = $1"
                " WHERE notification_key = ANY($2::text[]) AND lower(address) = $3"
                " AND status = 'held' AND digest_id IS NULL",
                digest["id"],
                keys,
                mailbox,
            )
            put += int(done.split()[-1])
    return put


@dataclass(frozen=True)
class DueDigest:
    id: int
    address: str
    cooperation_id: str
    attempts: int
    created_at: datetime
    # The claim's token and the lease's end, as a notification's.
    lease: uuid.UUID
    lease_until: datetime
    items: list[DueNotification]


async def claim_digests(conn: Conn, limit: int, lease: timedelta, now: datetime) -> list[DueDigest]:
    """Due digests with what they hold, leased to this process under a token of this claim
    as notifications are."""
    if limit <= 0:
        return []
    rows = await conn.fetch(
        "UPDATE mail_digests SET lease_until = $3::timestamptz + $2::interval, lease_token = $4"
        " WHERE id IN ("
        " SELECT id FROM mail_digests WHERE status = 'pending' AND next_attempt_at <= $3"
        " AND (lease_until IS NULL OR lease_until < $3)"
        " ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, address, cooperation_id, attempts, created_at, lease_token AS lease,"
        " lease_until",
        limit,
        lease,
        now,
        uuid.uuid4(),
    )
    if not rows:
        return []
    items = await conn.fetch(
        "SELECT m.digest_id, n.key, n.cooperation_id, n.to_role, n.to_subject, n.about, n.seq,"
        " n.attempts, n.created_at FROM notification_mails m"
        " JOIN notifications n ON n.key = m.notification_key"
        " WHERE m.digest_id = ANY($1::bigint[]) AND m.status = 'held' ORDER BY n.seq, n.key",
        [r["id"] for r in rows],
    )
    held: dict[int, list[DueNotification]] = {r["id"]: [] for r in rows}
    for item in items:
        fields = dict(item)
        held[fields.pop("digest_id")].append(DueNotification(**fields))
    return [DueDigest(**dict(r), items=held[r["id"]]) for r in rows]


async def release_digests(conn: Conn, digests: Sequence[DueDigest]) -> None:
    """Claimed digests this claim will not start on: free for the next claim at once (and
    for what comes due meanwhile to join them)."""
    await conn.execute(
        "UPDATE mail_digests SET lease_until = NULL, lease_token = NULL"
        " WHERE id = ANY($1::bigint[]) AND lease_token = ANY($2::uuid[])",
        [d.id for d in digests],
        list({d.lease for d in digests}),
    )


async def record_digest(
    conn: Conn,
    digest: DueDigest,
    status: str,
    told: Sequence[DueNotification],
    dropped: Sequence[DueNotification],
    error: str | None,
    next_attempt: datetime | None,
    now: datetime,
) -> bool:
    """A digest's try: `sent` or `logged` (what it `told` is sent, and each of their types
    starts a new hour), `pending` (tried again at `next_attempt`), `failed` (given up, and
    what it held with it) or `dropped` (nothing left to tell). Held e-mails that it did not
    carry (put in while it was being sent) wait for the next digest; those `dropped` were
    for an address that is no longer a contact. Under the digest's lease: False, and
    nothing changed, once the lease is not this claim's."""
    went = status in ("sent", "logged")
    async with conn.transaction():
        done = await conn.execute(
            "UPDATE mail_digests SET status = $2, last_error = $3, attempts = attempts + 1,"
            " next_attempt_at = coalesce($4, next_attempt_at), lease_until = NULL,"
            " lease_token = NULL, sent_at = CASE WHEN $5 THEN $6::timestamptz END"
            " WHERE id = $1 AND lease_token = $7",
            digest.id,
            status,
            error,
            next_attempt,
            went,
            now,
            digest.lease,
        )
        if done == "UPDATE 0":
            return False
        mine = "digest_id = $1 AND status = 'held'"
        await conn.execute(
            f"UPDATE notification_mails SET status = 'dropped' WHERE {mine}"
            " AND notification_key = ANY($2::text[])",
            digest.id,
            [n.key for n in dropped],
        )
        if went:
            await conn.execute(
                f"UPDATE notification_mails SET status = $3, sent_at = $4, attempts = attempts + 1"
                f" WHERE {mine} AND notification_key = ANY($2::text[])",
                digest.id,
                [n.key for n in told],
                status,
                now,
            )
            await hours_begin(
                conn, digest.address, digest.cooperation_id, sorted({n.about for n in told}), now
            )
        elif status == "failed":
            await conn.execute(
                f"UPDATE notification_mails SET status = 'failed', last_error = $2,"
                f" attempts = attempts + 1 WHERE {mine}",
                digest.id,
                error,
            )
        else:
            await conn.execute(
                f"UPDATE notification_mails SET attempts = attempts + 1, last_error = $2"
                f" WHERE {mine} AND notification_key = ANY($3::text[])",
                digest.id,
                error,
                [n.key for n in told],
            )
        if status != "pending":
            await conn.execute(
                f"UPDATE notification_mails SET digest_id = NULL WHERE {mine}", digest.id
            )
    return True
