"""What waits for a programme's funder: lines proposed, approvals awaited, amendments to
confirm, the collectives' open requests (the API's inbox, from the read models)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from store.db import Conn, fetch_as, fetch_read
from store.requests import StoredRequest, stored_request


@dataclass(frozen=True)
class Proposed:
    """A line proposed to the programme, with its cooperation."""

    cooperation: str
    name: str
    phase: str
    facilitator: str | None
    fiscal_host: str | None
    version: int
    """The programme's version the line keeps."""
    committed: Decimal
    currency: str
    updated_at: datetime


@dataclass(frozen=True)
class Awaiting:
    """An active line's tranches released on the funder's approval."""

    cooperation: str
    name: str
    phase: str
    tranches: list[str]


@dataclass(frozen=True)
class Amending:
    """Rule 20: an amendment open on one of the programme's lines."""

    cooperation: str
    name: str
    phase: str
    fiscal_host: str | None
    amendment: dict[str, Any]
    """As the summary has it: `seq`, `proposed_at`, `allocation`."""
    allocation: list[dict[str, Any]] | None
    """The line's allocation in force."""


async def proposed(conn: Conn, programme_id: str) -> list[Proposed]:
    """Oldest news first."""
    return await fetch_as(
        conn,
        Proposed,
        "SELECT l.cooperation_id AS cooperation, c.name, c.phase, c.facilitator, c.fiscal_host,"
        " l.version,"
        " l.committed, l.currency, c.updated_at"
        " FROM lines l JOIN cooperations c ON c.id = l.cooperation_id"
        " WHERE l.programme = $1 AND l.status = 'proposed' ORDER BY c.updated_at, c.id",
        programme_id,
    )


async def awaiting(conn: Conn, programme_id: str) -> list[Awaiting]:
    rows = await conn.fetch(
        "SELECT l.cooperation_id AS cooperation, c.name, c.phase,"
        " l.awaiting_approval AS tranches"
        " FROM lines l JOIN cooperations c ON c.id = l.cooperation_id"
        " WHERE l.programme = $1 AND l.status = 'active' AND l.awaiting_approval <> '{}'"
        " ORDER BY c.id",
        programme_id,
    )
    return [Awaiting(**{**dict(r), "tranches": list(r["tranches"])}) for r in rows]


async def amending(conn: Conn, programme_id: str) -> list[Amending]:
    """The amendments open on the programme's lines, oldest first, each with the line's
    allocation in force and the one proposed (from the read model's summaries)."""
    return await fetch_as(
        conn,
        Amending,
        "SELECT c.id AS cooperation, c.name, c.phase, c.fiscal_host,"
        " l->'amendment' AS amendment, l->'allocation' AS allocation"
        " FROM cooperations c CROSS JOIN LATERAL jsonb_array_elements(c.state->'lines') l"
        " WHERE l->>'programme' = $1 AND jsonb_typeof(l->'amendment') = 'object'"
        " ORDER BY l->'amendment'->>'proposed_at', c.id",
        programme_id,
    )


async def requests(conn: Conn, programme_id: str) -> list[StoredRequest]:
    """The open requests on the cooperations the programme's lines (proposed or active)
    fund, oldest first."""
    return await fetch_read(
        conn,
        stored_request,
        "SELECT r.* FROM transition_requests r JOIN lines l"
        " ON l.cooperation_id = r.cooperation_id AND l.programme = $1"
        " AND l.status IN ('proposed', 'active')"
        " WHERE r.status = 'open' ORDER BY r.requested_at",
        programme_id,
    )
