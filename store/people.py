"""Names of members live here, never in workflow history (RGPD: erasable on request)."""

from __future__ import annotations

from domain.cooperation import CooperationSpec
from store.db import Conn


async def keep_names(conn: Conn, spec: CooperationSpec) -> None:
    """Store the members' names (the workflow gets the spec `nameless`)."""
    for member in spec.members:
        await conn.execute(
            "INSERT INTO people (id, cooperation_id, name) VALUES ($1, $2, $3)"
            " ON CONFLICT (cooperation_id, id) DO UPDATE SET name = EXCLUDED.name",
            member.id,
            spec.id,
            member.name,
        )


def nameless(spec: CooperationSpec) -> CooperationSpec:
    return spec.model_copy(
        update={"members": [m.model_copy(update={"name": m.id}) for m in spec.members]}
    )


async def keep_member(conn: Conn, cooperation_id: str, member_id: str, name: str) -> None:
    await conn.execute(
        "INSERT INTO people (id, cooperation_id, name) VALUES ($1, $2, $3)"
        " ON CONFLICT (cooperation_id, id) DO UPDATE SET name = EXCLUDED.name",
        member_id,
        cooperation_id,
        name,
    )


async def erase_member(conn: Conn, cooperation_id: str, member_id: str) -> None:
    """RGPD: a member who leaves is forgotten here; events keep its id only."""
    await conn.execute(
        "DELETE FROM people WHERE cooperation_id = $1 AND id = $2", cooperation_id, member_id
    )


async def member_names(conn: Conn, cooperation_id: str) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, name FROM people WHERE cooperation_id = $1", cooperation_id)
    return {r["id"]: r["name"] for r in rows}
