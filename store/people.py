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
