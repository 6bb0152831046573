"""Transition requests (rule 15) as readers see them: in PostgreSQL only, projected from the
events (the reason from `TransitionRequested`), since the workflow's state keeps the open
ones without their reason and forgets the others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.events import Event, instant
from domain.lifecycle.lines import answered_by
from domain.views import RequestView
from store.db import Conn, fetch_read, row_as


async def record_requests(conn: Conn, cooperation_id: str, events: Sequence[Event]) -> None:
    """Requests made, declined and answered by `events` (whole decisions, in order).

    Idempotent and safe to run ahead of the projection (an API answer records its own
    events at once): a request is inserted once, a decline is final, and a transition
    answers only the requests of its action made before it and still open."""
    for event in events:
        if event.type == "TransitionRequested":
            await conn.execute(
                "INSERT INTO transition_requests (cooperation_id, seq, action, to_phase,"
                " reason, status, requested_at) VALUES ($1, $2, $3, $4, $5, 'open', $6)"
                " ON CONFLICT (cooperation_id, seq) DO NOTHING",
                cooperation_id,
                event.seq,
                event.data["action"],
                event.data.get("to"),
                event.data.get("reason", ""),
                event.at,
            )
        elif event.type == "TransitionRequestDeclined":
            await conn.execute(
                "UPDATE transition_requests SET status = 'declined', decided_at = $3"
                " WHERE cooperation_id = $1 AND seq = $2",
                cooperation_id,
                event.data["request"],
                event.at,
            )
    for move, action in answered_by(events):
        await conn.execute(
            "UPDATE transition_requests SET status = 'answered', decided_at = $4"
            " WHERE cooperation_id = $1 AND status = 'open' AND action = $2 AND seq < $3",
            cooperation_id,
            action,
            move.seq,
            move.at,
        )


@dataclass(frozen=True)
class StoredRequest:
    """A collective's transition request as projected (store/requests.py)."""

    cooperation_id: str
    seq: int
    action: str
    to_phase: str | None
    reason: str | None
    status: str
    requested_at: datetime
    decided_at: datetime | None
    name: str | None = None
    """The cooperation's name, where a list spans cooperations."""

    @property
    def position(self) -> tuple[datetime, str, str]:
        """Its place in a queue (store/queues.py)."""
        return (self.requested_at, self.cooperation_id, str(self.seq))

    def view(self) -> RequestView:
        """As readers see it (`GET …/transition-requests`, the queues)."""
        return RequestView(
            seq=self.seq,
            action=self.action,
            to=self.to_phase,
            reason=self.reason,
            at=instant(self.requested_at),
            status=self.status,
            decided_at=instant(self.decided_at) if self.decided_at else None,
        )


def stored_request(row: Any) -> StoredRequest:
    return row_as(StoredRequest, row)


def request_view(row: Any) -> RequestView:
    return stored_request(row).view()


def requested_view(event: Event) -> RequestView:
    """A request just made, as its own event says (before the projection has it)."""
    return RequestView(
        seq=event.seq,
        action=event.data["action"],
        to=event.data.get("to"),
        reason=event.data.get("reason"),
        at=instant(event.at),
        status="open",
    )


async def requests_of(conn: Conn, cooperation_id: str, seq: int | None = None) -> list[RequestView]:
    return await fetch_read(
        conn,
        request_view,
        "SELECT * FROM transition_requests WHERE cooperation_id = $1"
        " AND ($2::bigint IS NULL OR seq = $2) ORDER BY seq",
        cooperation_id,
        seq,
    )
