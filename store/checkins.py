"""Check-ins' texts (narrative, needs, review comments): in PostgreSQL only, never in workflow
history; their period and status follow the events (store/readmodel.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from domain.events import Event, instant
from store.db import Conn, fetch_read


class CheckInShown(BaseModel):
    """A check-in with its texts and its review, as readers see it."""

    id: str
    cooperation: str
    period: int | None = None
    stint: int | None = None
    phase: str | None = None
    status: str
    narrative: str | None = None
    needs: str | None = None
    indicators: dict[str, Any] = {}
    submitted_at: str | None = None
    reviewed_at: str | None = None
    comment: str | None = None
    replaced_by: str | None = None


async def keep_submission(
    conn: Conn,
    cooperation_id: str,
    check_in_id: str,
    narrative: str,
    needs: str | None,
    indicators: dict[str, Any],
) -> None:
    """The texts, before the command: a lost answer loses nothing."""
    await conn.execute(
        "INSERT INTO check_ins (cooperation_id, id, narrative, needs, indicators)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (cooperation_id, id) DO UPDATE SET narrative = EXCLUDED.narrative,"
        " needs = EXCLUDED.needs, indicators = EXCLUDED.indicators",
        cooperation_id,
        check_in_id,
        narrative,
        needs,
        indicators,
    )


async def forget_pending(conn: Conn, cooperation_id: str, check_in_id: str) -> None:
    """The rules refused the check-in: its texts go too."""
    await conn.execute(
        "DELETE FROM check_ins WHERE cooperation_id = $1 AND id = $2 AND status = 'pending'",
        cooperation_id,
        check_in_id,
    )


async def record_submitted(conn: Conn, cooperation_id: str, event: Event) -> None:
    """A `CheckInSubmitted`: the period it fills, and the check-in it replaces (one statement:
    one round trip on the API's path of every check-in)."""
    data = event.data
    await conn.execute(
        "WITH submitted AS (INSERT INTO check_ins (cooperation_id, id, indicators, stint,"
        " period, phase, status, submitted_at) VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7)"
        " ON CONFLICT (cooperation_id, id) DO UPDATE SET stint = EXCLUDED.stint,"
        " period = EXCLUDED.period, phase = EXCLUDED.phase,"
        " submitted_at = EXCLUDED.submitted_at,"
        " status = CASE WHEN check_ins.status = 'pending' THEN 'submitted'"
        " ELSE check_ins.status END)"
        " UPDATE check_ins SET replaced_by = $2, status = 'replaced'"
        " WHERE cooperation_id = $1 AND id = $8::text",
        cooperation_id,
        data["check_in"],
        data.get("indicators") or {},
        data["stint"],
        data["period"],
        data["phase"],
        event.at,
        data.get("replaces") or None,
    )


async def record_reviewed(conn: Conn, cooperation_id: str, event: Event) -> None:
    await conn.execute(
        "UPDATE check_ins SET status = $3, reviewed_at = $4 WHERE cooperation_id = $1 AND id = $2",
        cooperation_id,
        event.data["check_in"],
        event.data["decision"],
        event.at,
    )


async def keep_comment(
    conn: Conn, cooperation_id: str, reviewed: Event, comment: str | None
) -> None:
    await record_reviewed(conn, cooperation_id, reviewed)
    await conn.execute(
        "UPDATE check_ins SET comment = $3 WHERE cooperation_id = $1 AND id = $2",
        cooperation_id,
        reviewed.data["check_in"],
        comment,
    )


async def check_in_shown(
    conn: Conn, cooperation_id: str, check_in_id: str | None = None
) -> list[CheckInShown]:
    return await fetch_read(
        conn,
        shown,
        "SELECT * FROM check_ins WHERE cooperation_id = $1 AND ($2::text IS NULL OR id = $2)"
        " AND status <> 'pending' ORDER BY submitted_at, id",
        cooperation_id,
        check_in_id,
    )


def shown(row: Any) -> CheckInShown:
    return CheckInShown(
        id=row["id"],
        cooperation=row["cooperation_id"],
        period=row["period"],
        stint=row["stint"],
        phase=row["phase"],
        status=row["status"],
        narrative=row["narrative"],
        needs=row["needs"],
        indicators=row["indicators"] or {},
        submitted_at=instant(row["submitted_at"]) if row["submitted_at"] else None,
        reviewed_at=instant(row["reviewed_at"]) if row["reviewed_at"] else None,
        comment=row["comment"],
        replaced_by=row["replaced_by"],
    )
