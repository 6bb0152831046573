"""Rule 18 in the read model: the lines of a programme whose convention is awaited, read from
each cooperation's projected summary (`cooperations.state`), which says it per line."""

from __future__ import annotations

from dataclasses import dataclass

from store.db import Conn, fetch_as


@dataclass(frozen=True)
class AwaitedConvention:
    """An active line of the programme whose convention is not yet recorded."""

    cooperation: str
    name: str
    phase: str


async def conventions_awaited(conn: Conn, programme: str) -> list[AwaitedConvention]:
    """Every active line of `programme` whose programme requires a convention not yet
    recorded, by cooperation id."""
    return await fetch_as(
        conn,
        AwaitedConvention,
        "SELECT c.id AS cooperation, c.name, c.phase FROM cooperations c"
        " JOIN lines l ON l.cooperation_id = c.id AND l.programme = $1 AND l.status = 'active'"
        " WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(c.state->'lines') x"
        " WHERE x->>'line' = l.line AND (x->>'convention_awaited')::boolean)"
        " ORDER BY c.id",
        programme,
    )
