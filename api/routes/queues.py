"""Work waiting for someone, across the cooperations in their scope: a facilitator's review
queue and transition requests; read models in PostgreSQL, oldest first, paged by a cursor
that names the last item seen (an item leaving the queue never makes a page skip one)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.access import scope_condition
from api.auth import CallerDep
from api.deps import PoolDep
from api.models import Page, QueuedRequest
from api.problems import Problem, bad_cursor
from domain.events import instant
from store.checkins import CheckInShown, shown

router = APIRouter(prefix="/v1", tags=["queues"])

Cursor = Annotated[
    str | None, Query(max_length=300, description="next_cursor of the previous page")
]
Limit = Annotated[int, Query(ge=1, le=200)]


class QueuedCheckIn(CheckInShown):
    name: str | None = None
    """The cooperation's name: the queue lists check-ins of many cooperations."""


@router.get("/check-ins", response_model=Page[QueuedCheckIn])
async def review_queue(
    caller: CallerDep,
    pool: PoolDep,
    status: Literal["submitted", "accepted", "changes_requested"] = "submitted",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[QueuedCheckIn]:
    """Check-ins across the facilitator's cooperations, oldest first (its review queue)."""
    if caller.role != "facilitator":
        raise Problem(403, "the review queue is a facilitator's")
    after = _decode(cursor)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT k.*, c.name FROM check_ins k JOIN cooperations c ON c.id = k.cooperation_id"
            " WHERE c.facilitator = $1 AND k.status = $2"
            " AND (k.submitted_at, k.cooperation_id, k.id) > ($3, $4, $5)"
            " ORDER BY k.submitted_at, k.cooperation_id, k.id LIMIT $6",
            caller.subject,
            status,
            *after,
            limit + 1,
        )
    items = [QueuedCheckIn(**shown(r).model_dump(), name=r["name"]) for r in rows]
    return _page(items, rows, limit, "submitted_at", "id")


@router.get("/transition-requests", response_model=Page[QueuedRequest])
async def transition_requests(
    caller: CallerDep,
    pool: PoolDep,
    status: Literal["open", "answered", "declined"] = "open",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[QueuedRequest]:
    """Requests of collectives across the cooperations in scope, oldest first: a
    facilitator answers them by acting or declines them; a funder reads those of the
    cooperations it funds."""
    if caller.role == "collective":
        raise Problem(403, "a collective reads its requests on its cooperation")
    where, params = scope_condition(caller, 1)
    if caller.role == "facilitator":
        # Requests are not a fiscal host's. Only a facilitator token can be one: a funder whose
        # id equals a cooperation's host is still that cooperation's funder.
        where += " AND (c.fiscal_host IS DISTINCT FROM $1 OR c.facilitator = $1)"
    after = _decode(cursor)
    n = len(params)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT r.*, c.name FROM transition_requests r"
            " JOIN cooperations c ON c.id = r.cooperation_id"
            f" WHERE {where}"
            f" AND r.status = ${n + 1}"
            f" AND (r.requested_at, r.cooperation_id, r.seq::text) > (${n + 2}, ${n + 3}, ${n + 4})"
            f" ORDER BY r.requested_at, r.cooperation_id, r.seq::text LIMIT ${n + 5}",
            *params,
            status,
            *after,
            limit + 1,
        )
    # Pages name the cooperation (`name`): its id is not what people call it.
    items = [
        QueuedRequest.model_validate(
            {**r, "cooperation": r["cooperation_id"], "to": r["to_phase"]}
            | {
                "at": instant(r["requested_at"]),
                "decided_at": r["decided_at"] and instant(r["decided_at"]),
            }
        )
        for r in rows
    ]
    return _page(items, rows, limit, "requested_at", "seq")


_START = (datetime.fromisoformat("0001-01-01T00:00:00+00:00"), "", "")


def _decode(cursor: str | None) -> tuple[datetime, str, str]:
    if cursor is None:
        return _START
    try:
        at, cooperation, item = json.loads(base64.urlsafe_b64decode(cursor + "=="))
        return datetime.fromisoformat(at), str(cooperation), str(item)
    except (binascii.Error, ValueError, TypeError):
        raise bad_cursor() from None


def _page(items: list[Any], rows: list[Any], limit: int, at: str, item: str) -> Page[Any]:
    if len(rows) <= limit:
        return Page(items=items)
    last = rows[limit - 1]
    cursor = json.dumps([last[at].isoformat(), last["cooperation_id"], str(last[item])])
    return Page(items=items[:limit], next_cursor=base64.urlsafe_b64encode(cursor.encode()).decode())
