"""Reports as stored by the effects activity (activities/reports.py), for their readers."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.db import Conn, fetch_as

_LISTED = "id, cooperation_id, line, period, period_start, period_end, final, locale"


@dataclass(frozen=True)
class StoredReport:
    id: str
    cooperation_id: str
    line: str
    period: int
    period_start: datetime
    period_end: datetime
    final: bool
    locale: str
    content: dict[str, Any] | None = None
    """Left out of lists: only one report's reader renders it."""


async def reports_of(
    conn: Conn, cooperation_id: str, lines: Collection[str] | None
) -> list[StoredReport]:
    """The cooperation's reports, of `lines` only unless None, by period's end."""
    return await fetch_as(
        conn,
        StoredReport,
        f"SELECT {_LISTED} FROM reports WHERE cooperation_id = $1"
        " AND ($2::text[] IS NULL OR line = ANY($2::text[]))"
        " ORDER BY period_end, line, period",
        cooperation_id,
        None if lines is None else list(lines),
    )


async def report(conn: Conn, report_id: str) -> StoredReport | None:
    row = await conn.fetchrow(f"SELECT {_LISTED}, content FROM reports WHERE id = $1", report_id)
    return StoredReport(**dict(row)) if row is not None else None
