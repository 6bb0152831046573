"""The append-only event log and the cooperations read model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from store.db import Conn


async def append_events(conn: Conn, cooperation_id: str, events: Sequence[dict[str, Any]]) -> int:
    """Insert events once each (a retried activity re-sends them); returns how many were new."""
    if not events:
        return 0
    rows = [
        (cooperation_id, e["seq"], e["type"], _aware(e["at"]), e.get("data") or {}) for e in events
    ]
    async with conn.transaction():
        # One statement for the whole decision; a retried activity's rows are skipped.
        inserted: int = await conn.fetchval(
            "WITH new AS (INSERT INTO events (cooperation_id, seq, type, at, data)"
            " SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::timestamptz[], $5::jsonb[])"
            " ON CONFLICT (cooperation_id, seq) DO NOTHING RETURNING 1)"
            " SELECT count(*) FROM new",
            cooperation_id,
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
            [r[4] for r in rows],
        )
        await conn.execute(
            "UPDATE cooperations SET last_seq = greatest(last_seq, $2), updated_at = now()"
            " WHERE id = $1",
            cooperation_id,
            max(r[1] for r in rows),
        )
    return inserted


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


async def list_events(
    conn: Conn, cooperation_id: str, after: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT seq, type, at, data FROM events WHERE cooperation_id = $1 AND seq > $2"
        " ORDER BY seq LIMIT $3",
        cooperation_id,
        after,
        limit,
    )
    return [dict(r) for r in rows]
