"""Idempotency-Key of POSTs, stored per subject: the first answer is kept and given again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from store.db import Conn

# A request whose answer was never stored (its process died) may be tried again after this.
ABANDONED_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Stored:
    status: int
    headers: dict[str, str]
    body: bytes


async def claim(
    conn: Conn, subject: str, key: str, fingerprint: str
) -> Literal["new", "running", "other"] | Stored:
    """Claim `key` for a request: "new" (go ahead), "running" (the first is still running),
    "other" (used with another request), or the first answer."""
    inserted = await conn.fetchval(
        "INSERT INTO idempotency (subject, key, fingerprint) VALUES ($1, $2, $3)"
        " ON CONFLICT (subject, key) DO NOTHING RETURNING 1",
        subject,
        key,
        fingerprint,
    )
    if inserted:
        return "new"
    row = await conn.fetchrow(
        "SELECT fingerprint, status, headers, body, completed_at,"
        " completed_at IS NULL AND created_at < now() - $3::interval AS abandoned"
        " FROM idempotency WHERE subject = $1 AND key = $2",
        subject,
        key,
        ABANDONED_AFTER,
    )
    if row is None:  # released meanwhile: try once more
        return await claim(conn, subject, key, fingerprint)
    if row["fingerprint"] != fingerprint:
        return "other"
    if row["completed_at"] is None:
        if row["abandoned"]:
            await conn.execute(
                "UPDATE idempotency SET created_at = now() WHERE subject = $1 AND key = $2",
                subject,
                key,
            )
            return "new"
        return "running"
    return Stored(row["status"], dict(row["headers"]), bytes(row["body"]))


async def complete(
    conn: Conn, subject: str, key: str, status: int, headers: dict[str, Any], body: bytes
) -> None:
    await conn.execute(
        "UPDATE idempotency SET status = $3, headers = $4, body = $5, completed_at = now()"
        " WHERE subject = $1 AND key = $2",
        subject,
        key,
        status,
        headers,
        body,
    )


async def release(conn: Conn, subject: str, key: str) -> None:
    """Forget a claim whose request failed before answering (a retry may run it)."""
    await conn.execute(
        "DELETE FROM idempotency WHERE subject = $1 AND key = $2 AND completed_at IS NULL",
        subject,
        key,
    )
