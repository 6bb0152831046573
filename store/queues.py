"""Work waiting for someone across the cooperations in their scope, oldest first, paged by the
position of the last item seen (an item leaving the queue never makes a page skip one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store.checkins import CheckInShown, shown
from store.db import Conn, fetch_read
from store.requests import StoredRequest, stored_request
from store.scope import cooperations_of
from store.tokens import Role

Position = tuple[datetime, str, str]
"""An item's place in a queue: its instant, its cooperation, its id within it."""


@dataclass(frozen=True)
class WaitingCheckIn:
    check_in: CheckInShown
    name: str | None
    """The cooperation's name: the queue lists check-ins of many cooperations."""
    position: Position


async def review_queue(
    conn: Conn, facilitator: str, status: str, after: Position, limit: int
) -> list[WaitingCheckIn]:
    """The check-ins of `status` across the cooperations `facilitator` accompanies."""
    rows = await conn.fetch(
        "SELECT k.*, c.name FROM check_ins k JOIN cooperations c ON c.id = k.cooperation_id"
        " WHERE c.facilitator = $1 AND k.status = $2"
        " AND (k.submitted_at, k.cooperation_id, k.id) > ($3, $4, $5)"
        " ORDER BY k.submitted_at, k.cooperation_id, k.id LIMIT $6",
        facilitator,
        status,
        *after,
        limit,
    )
    return [
        WaitingCheckIn(shown(r), r["name"], (r["submitted_at"], r["cooperation_id"], r["id"]))
        for r in rows
    ]


async def request_queue(
    conn: Conn, role: Role, subject: str, status: str, after: Position, limit: int
) -> list[StoredRequest]:
    """The requests of `status` across the cooperations in `role` `subject`'s scope."""
    where = cooperations_of(role, "$1")
    if role == "facilitator":
        # Requests are not a fiscal host's. Only a facilitator token can be one: a funder whose
        # id equals a cooperation's host is still that cooperation's funder.
        where += " AND (c.fiscal_host IS DISTINCT FROM $1 OR c.facilitator = $1)"
    return await fetch_read(
        conn,
        stored_request,
        "SELECT r.*, c.name FROM transition_requests r"
        " JOIN cooperations c ON c.id = r.cooperation_id"
        f" WHERE {where} AND r.status = $2"
        " AND (r.requested_at, r.cooperation_id, r.seq::text) > ($3, $4, $5)"
        " ORDER BY r.requested_at, r.cooperation_id, r.seq::text LIMIT $6",
        subject,
        status,
        *after,
        limit,
    )
