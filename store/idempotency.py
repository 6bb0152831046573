"""Idempotency-Key of POSTs, stored per caller (role and subject: DESIGN.md, "Roles are
namespaces"): the first answer is kept and given again for 24 hours, then the key is
forgotten, as the well-known payment APIs do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from store.db import Conn

# A request whose answer was never stored (its process died) may be tried again after this.
ABANDONED_AFTER = timedelta(minutes=5)
# How long a key and its answer are kept: a claim of an older key is a new request.
KEPT_FOR = timedelta(hours=24)
# Expired keys deleted by each claim: enough to outpace the claims, small enough to cost a
# claim nothing noticeable (an index range on created_at).
PURGE_BATCH = 100


@dataclass(frozen=True)
class Stored:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class New:
    """Go ahead. `request` is the command request id made from the key: the same for every
    attempt with the key while it is kept (a retry after a lost answer is applied once), and
    another once it has expired (a key used again a day later is another command)."""

    request: str


async def claim(
    conn: Conn, role: str, subject: str, key: str, path: str, fingerprint: str
) -> New | Literal["running", "other"] | Stored:
    """Claim `key` for a request: New (go ahead), "running" (the first is still running),
    "other" (used with another request), or the first answer."""
    # Kept to find the answers about a cooperation: text PostgreSQL takes (no NUL).
    path = path.replace("\x00", "\ufffd")
    await conn.execute(
        "DELETE FROM idempotency WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency"
        " WHERE created_at < now() - $1::interval ORDER BY created_at LIMIT $2))",
        KEPT_FOR,
        PURGE_BATCH,
    )
    fresh = f"{role}:{subject}:{key}:{uuid.uuid4().hex[:12]}"
    # A new key, or one kept past its time (not deleted yet): claimed anew, a new request.
    request = await conn.fetchval(
        "INSERT INTO idempotency (role, subject, key, path, fingerprint, request)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (role, subject, key) DO UPDATE SET path = EXCLUDED.path,"
        " fingerprint = EXCLUDED.fingerprint, request = EXCLUDED.request, status = NULL,"
        " headers = NULL, body = NULL, created_at = now(), claimed_at = now(),"
        " completed_at = NULL, released = false"
        " WHERE idempotency.created_at < now() - $7::interval"
        " RETURNING request",
        role,
        subject,
        key,
        path,
        fingerprint,
        fresh,
        KEPT_FOR,
    )
    if request is not None:
        return New(request)
    row = await conn.fetchrow(
        "SELECT fingerprint, status, headers, body, completed_at, released, request,"
        " completed_at IS NULL AND claimed_at < now() - $4::interval AS abandoned"
        " FROM idempotency WHERE role = $1 AND subject = $2 AND key = $3",
        role,
        subject,
        key,
        ABANDONED_AFTER,
    )
    if row is None:  # expired and deleted meanwhile: try once more
        return await claim(conn, role, subject, key, path, fingerprint)
    if row["released"] or (row["completed_at"] is None and row["abandoned"]):
        # The earlier request did not answer: this one runs, as the same command when it is
        # the same request (else as a command of its own). Taken in one statement, so that
        # of two retries only one goes ahead.
        taken = await conn.fetchval(
            "UPDATE idempotency SET path = $4, fingerprint = $5, claimed_at = now(),"
            " released = false,"
            " request = CASE WHEN fingerprint = $5 THEN request ELSE $7 END"
            " WHERE role = $1 AND subject = $2 AND key = $3 AND completed_at IS NULL"
            " AND (released OR claimed_at < now() - $6::interval) RETURNING request",
            role,
            subject,
            key,
            path,
            fingerprint,
            ABANDONED_AFTER,
            fresh,
        )
        if taken is not None:
            return New(taken)
        return await claim(conn, role, subject, key, path, fingerprint)
    if row["fingerprint"] != fingerprint:
        return "other"
    if row["completed_at"] is None:
        return "running"
    return Stored(row["status"], dict(row["headers"]), bytes(row["body"]))


async def complete(
    conn: Conn,
    role: str,
    subject: str,
    key: str,
    status: int,
    headers: dict[str, Any],
    body: bytes,
) -> None:
    await conn.execute(
        "UPDATE idempotency SET status = $4, headers = $5, body = $6, completed_at = now()"
        " WHERE role = $1 AND subject = $2 AND key = $3",
        role,
        subject,
        key,
        status,
        headers,
        body,
    )


async def release(conn: Conn, role: str, subject: str, key: str) -> None:
    """Let a key go after its request failed before answering: a retry runs it, with the same
    request id (the command may have been applied: the workflow answers it once)."""
    await conn.execute(
        "UPDATE idempotency SET released = true"
        " WHERE role = $1 AND subject = $2 AND key = $3 AND completed_at IS NULL",
        role,
        subject,
        key,
    )
