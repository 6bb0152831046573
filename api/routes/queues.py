"""Work waiting for someone, across the cooperations in their scope: a facilitator's review
queue and transition requests; read models in PostgreSQL, oldest first, paged by a cursor
that names the last item seen (an item leaving the queue never makes a page skip one)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from api.auth import CallerDep
from api.deps import PoolDep
from api.models import Page, QueuedRequest
from api.problems import Problem, bad_cursor
from store import queues
from store.checkins import CheckInShown
from store.queues import Position

router = APIRouter(prefix="/v1", tags=["queues"])

Cursor = Annotated[
    str | None, Query(max_length=300, description="next_cursor of the previous page")
]
Limit = Annotated[int, Query(ge=1, le=200)]


@dataclass(frozen=True)
class Paging:
    cursor: str | None
    limit: int

    def after(self) -> Position:
        """The last item seen (before the first item when none was); 400 for a cursor that
        names none, once the caller may read the queue."""
        return _decode(self.cursor)


def _paging(cursor: Cursor = None, limit: Limit = 50) -> Paging:
    return Paging(cursor, limit)


PagingDep = Annotated[Paging, Depends(_paging)]


class QueuedCheckIn(CheckInShown):
    name: str | None = None
    """The cooperation's name: the queue lists check-ins of many cooperations."""


@router.get("/check-ins", response_model=Page[QueuedCheckIn])
async def review_queue(
    caller: CallerDep,
    pool: PoolDep,
    paging: PagingDep,
    status: Literal["submitted", "accepted", "changes_requested"] = "submitted",
) -> Page[QueuedCheckIn]:
    """Check-ins across the facilitator's cooperations, oldest first (its review queue)."""
    if caller.role != "facilitator":
        raise Problem(403, "the review queue is a facilitator's")
    after = paging.after()
    async with pool.acquire() as conn:
        rows = await queues.review_queue(conn, caller.subject, status, after, paging.limit + 1)
    items = [QueuedCheckIn(**r.check_in.model_dump(), name=r.name) for r in rows]
    return _page(items, [r.position for r in rows], paging.limit)


@router.get("/transition-requests", response_model=Page[QueuedRequest])
async def transition_requests(
    caller: CallerDep,
    pool: PoolDep,
    paging: PagingDep,
    status: Literal["open", "answered", "declined"] = "open",
) -> Page[QueuedRequest]:
    """Requests of collectives across the cooperations in scope, oldest first: a
    facilitator answers them by acting or declines them; a funder reads those of the
    cooperations it funds."""
    if caller.role == "collective":
        raise Problem(403, "a collective reads its requests on its cooperation")
    after = paging.after()
    async with pool.acquire() as conn:
        rows = await queues.request_queue(
            conn, caller.role, caller.subject, status, after, paging.limit + 1
        )
    # Pages name the cooperation (`name`): its id is not what people call it.
    items = [
        QueuedRequest(cooperation=r.cooperation_id, name=r.name, **r.view().model_dump())
        for r in rows
    ]
    return _page(items, [r.position for r in rows], paging.limit)


_START = (datetime.fromisoformat("0001-01-01T00:00:00+00:00"), "", "")


def _decode(cursor: str | None) -> Position:
    if cursor is None:
        return _START
    try:
        at, cooperation, item = json.loads(base64.urlsafe_b64decode(cursor + "=="))
        return datetime.fromisoformat(at), str(cooperation), str(item)
    except (binascii.Error, ValueError, TypeError):
        raise bad_cursor() from None


def _page(items: list[Any], positions: list[Position], limit: int) -> Page[Any]:
    if len(positions) <= limit:
        return Page(items=items)
    at, cooperation, item = positions[limit - 1]
    cursor = json.dumps([at.isoformat(), cooperation, item])
    return Page(items=items[:limit], next_cursor=base64.urlsafe_b64encode(cursor.encode()).decode())
