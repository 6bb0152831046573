"""Rule 18 in the read model: the lines of a programme whose convention is awaited, read from
each cooperation's projected summary (`cooperations.state`), which says it per line."""

from __future__ import annotations

from typing import Any

from store.db import Conn


async def conventions_awaited(conn: Conn, programme: str) -> list[dict[str, Any]]:
    """`{cooperation, name, phase}` of every active line of `programme` whose programme
    requires a convention not yet recorded, by cooperation id."""
    rows = await conn.fetch(
        "SELECT c.id, c.name, c.phase FROM cooperations c"
        " JOIN lines l ON l.cooperation_id = c.id AND l.programme = $1 AND l.status = 'active'"
        " WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(c.state->'lines') x"
        " WHERE x->>'line' = l.line AND (x->>'convention_awaited')::boolean)"
        " ORDER BY c.id",
        programme,
    )
    return [{"cooperation": r["id"], "name": r["name"], "phase": r["phase"]} for r in rows]
