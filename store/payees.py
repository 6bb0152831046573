"""Who each funding line pays, from the event log: the summary the read model keeps has no
allocation, the line's `FundingLineProposed` and `FundingLineAttached` events carry it (the
latest one is the line's proposal in force: a declined line proposed again has a new one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.payees import Parties
from store.db import Conn

# An accepted amendment (rule 20) puts its allocation in force.
_ALLOCATING = ["FundingLineProposed", "FundingLineAttached", "LineAmended"]

_IN_FORCE = (
    "SELECT DISTINCT ON (e.data->>'line') e.data->>'line' AS line,"
    " e.data->'allocation' AS allocation"
    " FROM events e WHERE e.cooperation_id = $1 AND e.type = ANY($2::text[])"
    " ORDER BY e.data->>'line', e.seq DESC"
)


async def lines_paying(conn: Conn, cooperation_id: str, payee: str) -> frozenset[str]:
    """The cooperation's lines whose allocation in force names `payee`."""
    rows = await conn.fetch(
        f"SELECT a.line FROM ({_IN_FORCE}) a WHERE EXISTS (SELECT 1 FROM"
        " jsonb_array_elements(a.allocation) p WHERE p->>'payee' = $3)",
        cooperation_id,
        _ALLOCATING,
        payee,
    )
    return frozenset(r["line"] for r in rows)


async def proposed_allocations(conn: Conn, programme_id: str) -> dict[str, list[dict[str, Any]]]:
    """The allocation of each line proposed to the programme and not yet decided, by
    cooperation id."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (l.cooperation_id) l.cooperation_id, e.data->'allocation' AS allocation"
        " FROM lines l JOIN events e ON e.cooperation_id = l.cooperation_id"
        " AND e.type = 'FundingLineProposed' AND e.data->>'line' = l.line"
        " WHERE l.programme = $1 AND l.status = 'proposed'"
        " ORDER BY l.cooperation_id, e.seq DESC",
        programme_id,
    )
    return {r["cooperation_id"]: list(r["allocation"] or []) for r in rows}


async def organisation_names(
    conn: Conn, cooperation_ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Names of the members that are legal entities, by cooperation: the organisations a
    line may pay. An informal member's name (a person's, often) is never among them."""
    rows = await conn.fetch(
        "SELECT p.cooperation_id, p.id, p.name FROM people p"
        " JOIN cooperations c ON c.id = p.cooperation_id"
        " WHERE p.cooperation_id = ANY($1::text[]) AND p.name IS NOT NULL"
        " AND EXISTS (SELECT 1 FROM jsonb_array_elements(c.state->'members') m"
        " WHERE m->>'id' = p.id AND NOT coalesce((m->>'informal')::boolean, true))",
        list(cooperation_ids),
    )
    names: dict[str, dict[str, str]] = {}
    for r in rows:
        names.setdefault(r["cooperation_id"], {})[r["id"]] = r["name"]
    return names


async def parties(conn: Conn, cooperation_id: str) -> Parties:
    row = await conn.fetchrow(
        "SELECT facilitator, fiscal_host FROM cooperations WHERE id = $1", cooperation_id
    )
    if row is None:
        return Parties()
    names = await organisation_names(conn, [cooperation_id])
    return Parties(row["facilitator"], row["fiscal_host"], names.get(cooperation_id, {}))
