"""What the forecast of a programme reads: the whole state of every cooperation with a line
of it, in one query (`full_state`, kept by the projection: store.readmodel.project_state)."""

from __future__ import annotations

from decimal import Decimal

from store.db import Conn


async def programme_state_texts(conn: Conn, programme_id: str) -> tuple[list[str], list[str]]:
    """The states of the cooperations with a line of the programme as PostgreSQL keeps them
    (JSON text, read where they are forecast: `runtime.forecast_pool`), and the ids of those
    whose state was never kept (projected before it was: kept again at their next decision)."""
    rows = await conn.fetch(
        "SELECT c.id, c.full_state FROM cooperations c"
        " WHERE EXISTS (SELECT 1 FROM lines l WHERE l.cooperation_id = c.id"
        " AND l.programme = $1 AND l.status <> 'declined') ORDER BY c.id",
        programme_id,
    )
    texts = [r["full_state"] for r in rows if r["full_state"] is not None]
    return texts, [r["id"] for r in rows if r["full_state"] is None]


async def released_so_far(conn: Conn, programme_id: str) -> Decimal:
    total = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM releases WHERE programme = $1", programme_id
    )
    return Decimal(total)
