"""Names of members live here, never in workflow history (RGPD: erasable on request)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.cooperation import CooperationSpec
from domain.events import Event
from store.db import Conn
from store.erasure import forget_in_answers


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


async def forget_departed(conn: Conn, cooperation_id: str, events: Sequence[Event]) -> None:
    """RGPD: a member who leaves is forgotten here as its `MemberLeft` is projected, in the
    projection's transaction, so no lost answer leaves the name behind; events keep its id.
    A departure projected again (a retried activity) spares a member who has joined again
    since under the same id."""
    for event in events:
        if event.type != "MemberLeft":
            continue
        gone = await conn.fetch(
            "DELETE FROM people WHERE cooperation_id = $1 AND id = $2 AND NOT EXISTS ("
            " SELECT 1 FROM events WHERE cooperation_id = $1 AND type = 'MemberJoined'"
            " AND data->>'id' = $2 AND seq > $3) RETURNING name",
            cooperation_id,
            event.data["member"],
            event.seq,
        )
        names = [r["name"] for r in gone if r["name"]]
        if names:
            # Nor in the answer kept for the key that added it.
            await forget_in_answers(conn, cooperation_id, event.data["member"], names)


async def member_names(conn: Conn, cooperation_id: str) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, name FROM people WHERE cooperation_id = $1", cooperation_id)
    return {r["id"]: r["name"] for r in rows}
