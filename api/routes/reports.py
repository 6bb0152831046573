"""Reports per funding line and period (rule 12): JSON, or Markdown by `Accept`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.access import SHARED, cooperation_seen, reads
from api.auth import CallerDep
from api.deps import PoolDep
from api.problems import Problem
from domain.events import instant

router = APIRouter(tags=["reports"])

MARKDOWN = "text/markdown"


def _listed(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "cooperation": row["cooperation_id"],
        "line": row["line"],
        "period": row["period"],
        "from": instant(row["period_start"]),
        "to": instant(row["period_end"]),
        "final": row["final"],
        "locale": row["locale"],
        "href": f"/v1/reports/{row['id']}",
    }


@router.get("/v1/cooperations/{cooperation_id}/reports")
async def list_reports(
    cooperation_id: str, caller: CallerDep, pool: PoolDep
) -> list[dict[str, Any]]:
    """The reports of the cooperation's lines (a funder's own lines only)."""
    async with pool.acquire() as conn:
        seen = await cooperation_seen(conn, caller, cooperation_id)
        reads(seen, SHARED, "reports")
        rows = await conn.fetch(
            "SELECT id, cooperation_id, line, period, period_start, period_end, final, locale"
            " FROM reports WHERE cooperation_id = $1"
            " AND ($2::text[] IS NULL OR line = ANY($2::text[]))"
            " ORDER BY period_end, line, period",
            cooperation_id,
            None if seen.all_lines else list(seen.own_lines),
        )
    return [_listed(r) for r in rows]


@router.get(
    "/v1/reports/{report_id}",
    responses={200: {"content": {"application/json": {}, MARKDOWN: {}}}},
)
async def read_report(
    report_id: str, request: Request, caller: CallerDep, pool: PoolDep
) -> Response:
    """One report: JSON, or Markdown with `Accept: text/markdown`."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM reports WHERE id = $1", report_id)
        if row is None:
            raise Problem(404, f"no report {report_id!r}")
        try:
            seen = await cooperation_seen(conn, caller, row["cooperation_id"])
        except Problem:
            raise Problem(404, f"no report {report_id!r}") from None
    if seen.relation not in SHARED or not seen.sees_line(row["line"]):
        raise Problem(404, f"no report {report_id!r}")
    accept = request.headers.get("accept", "")
    if MARKDOWN in accept and "application/json" not in accept:
        return PlainTextResponse(row["markdown"], media_type=f"{MARKDOWN}; charset=utf-8")
    return JSONResponse({**_listed(row), "content": row["content"]})
