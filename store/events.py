"""The append-only event log: each (cooperation, seq) written once, never rewritten."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.events import Event
from store.db import Conn

ERASED = "erased"
"""The key an event's data gets when its free texts are erased: the instant of the erasure."""


class EventConflict(Exception):
    """An event arrived for a (cooperation, seq) already recorded with other content: the
    workflow decided a past instant differently than it did then (a rule changed without a
    rules version). Never skipped: both versions travel with the error."""

    def __init__(self, cooperation_id: str, seq: int, recorded: Any, incoming: Any) -> None:
        super().__init__(
            f"event {seq} of cooperation {cooperation_id!r} is already recorded with other "
            f"content: recorded {_canonical(recorded)}, now {_canonical(incoming)}"
        )
        self.cooperation_id = cooperation_id
        self.seq = seq
        self.recorded = recorded
        self.incoming = incoming


@dataclass(frozen=True)
class Along:
    """Writes that go with a batch of events, in their one statement (`append_events`):
    `ctes(n)` gives its WITH items, named apart, whose parameters begin at $n (the
    cooperation is $1), and `params` are theirs. Each is a table of its own: one statement
    may change a row once only."""

    ctes: Callable[[int], str]
    params: Sequence[Any]


async def append_events(
    conn: Conn,
    cooperation_id: str,
    events: Sequence[dict[str, Any]],
    *,
    full_state: str | None = None,
    along: Sequence[Along] = (),
) -> int:
    """Insert events once each; returns how many were new. A retried activity re-sends the
    same events (skipped); an event that differs from the one recorded raises
    EventConflict, and nothing of the batch stays written. Inside a transaction (the
    effects activity's), that transaction is the one that rolls back.

    In the same statement, what goes with the events: the cooperation's last seq, its whole
    state when given (`store.readmodel.project_state`), and the writes `along` (the
    commands they answer, what the outbox sends of them). With no events, none of these is
    written."""
    if not events:
        return 0
    rows = [
        {"seq": e["seq"], "type": e["type"], "at": _aware(e["at"]), "data": e.get("data") or {}}
        for e in events
    ]
    if conn.is_in_transaction():
        return await _append(conn, cooperation_id, rows, full_state, along)
    async with conn.transaction():
        return await _append(conn, cooperation_id, rows, full_state, along)


async def _append(
    conn: Conn,
    cooperation_id: str,
    rows: list[dict[str, Any]],
    full_state: str | None,
    along: Sequence[Along],
) -> int:
    seqs = [r["seq"] for r in rows]
    params: list[Any] = [
        cooperation_id,
        seqs,
        [r["type"] for r in rows],
        [r["at"] for r in rows],
        [r["data"] for r in rows],
        max(seqs),
        full_state,
    ]
    parts = ""
    for part in along:
        parts += f", {part.ctes(len(params) + 1)}"
        params.extend(part.params)
    # One statement (one round trip) inserts the new, moves the cooperation's last seq, and
    # reads back what was already there: its reading sees the log as it was before the
    # statement, so exactly the events this batch brings again.
    found = await conn.fetch(
        "WITH new AS (INSERT INTO events (cooperation_id, seq, type, at, data)"
        " SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::timestamptz[], $5::jsonb[])"
        " ON CONFLICT (cooperation_id, seq) DO NOTHING RETURNING seq),"
        " moved AS (UPDATE cooperations SET last_seq = greatest(last_seq, $6),"
        " full_state = coalesce($7, full_state), updated_at = now() WHERE id = $1)"
        f"{parts}"
        " SELECT seq, true AS new, NULL::text AS type, NULL::timestamptz AS at,"
        " NULL::jsonb AS data FROM new"
        " UNION ALL SELECT seq, false, type, at, data FROM events"
        " WHERE cooperation_id = $1 AND seq = ANY($2::bigint[])",
        *params,
    )
    inserted = {r["seq"] for r in found if r["new"]}
    recorded = {r["seq"]: dict(r) for r in found if not r["new"]}
    missing = [s for s in seqs if s not in inserted and s not in recorded]
    if missing:
        # Written by another transaction that committed while this statement waited on it:
        # invisible to the statement's reading, compared all the same.
        for r in await conn.fetch(
            "SELECT seq, type, at, data FROM events"
            " WHERE cooperation_id = $1 AND seq = ANY($2::bigint[])",
            cooperation_id,
            missing,
        ):
            recorded[r["seq"]] = dict(r)
    for row in rows:
        if row["seq"] in inserted:
            continue
        was = recorded[row["seq"]]
        if ERASED in (was["data"] or {}):
            # Its free texts were erased (store/erasure.py): the workflow re-sends them, the
            # log keeps them blank.
            continue
        if _canonical(was) != _canonical(row):
            theirs = {"seq": was["seq"], "type": was["type"], "at": was["at"], "data": was["data"]}
            raise EventConflict(cooperation_id, row["seq"], theirs, row)
    return len(inserted)


def _canonical(event: Any) -> str:
    at = event["at"]
    if isinstance(at, datetime):
        at = at.astimezone(UTC).isoformat()
    # Through JSON as PostgreSQL's jsonb gives it back: key order is not content.
    data = json.loads(json.dumps(event.get("data") or {}, default=str))
    return json.dumps(
        {"type": event["type"], "at": at, "data": data}, sort_keys=True, ensure_ascii=False
    )


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


async def list_events(
    conn: Conn, cooperation_id: str, after: int = 0, limit: int = 100
) -> list[Event]:
    """At most `limit` of the cooperation's events after seq `after`, in order."""
    rows = await conn.fetch(
        "SELECT seq, type, at, data FROM events WHERE cooperation_id = $1 AND seq > $2"
        " ORDER BY seq LIMIT $3",
        cooperation_id,
        after,
        limit,
    )
    return [Event.model_validate(dict(r)) for r in rows]


async def last_seq(conn: Conn, cooperation_id: str) -> int:
    """The latest seq the log holds for the cooperation (0 when none): where its newest
    events start, without reading the others."""
    # The primary key's index answers max() from its end.
    found = await conn.fetchval(
        "SELECT max(seq) FROM events WHERE cooperation_id = $1", cooperation_id
    )
    return int(found or 0)
