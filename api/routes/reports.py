"""Reports per funding line and period (rule 12): JSON, or Markdown or HTML by `Accept`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from api.access import SHARED, Seen, cooperation_seen, reads
from api.auth import CallerDep
from api.deps import PoolDep
from api.models import Report, ReportListed
from api.problems import PROBLEM, Problem
from domain.events import instant
from notify.reports import render_report
from store.db import Conn
from store.payees import lines_paying
from store.reports import StoredReport, report, reports_of

router = APIRouter(tags=["reports"])

JSON = "application/json"
MARKDOWN = "text/markdown"
HTML = "text/html"
SERVED = (JSON, MARKDOWN, HTML)
"""In the order preferred when the caller likes several equally: JSON first, so that no
Accept, `*/*` and `text/markdown, application/json` all get JSON."""


async def _reported_lines(conn: Conn, seen: Seen) -> frozenset[str] | None:
    """The lines whose reports the caller reads, None for all of them: a funder's own lines,
    and for a fiscal host (which reads no other shared part) the lines that pay it, as it is
    the one that accounts for their money."""
    if seen.relation == "host":
        return await lines_paying(conn, seen.id, seen.caller.subject)
    reads(seen, SHARED, "reports")
    return None if seen.all_lines else seen.own_lines


def _listed(row: StoredReport) -> dict[str, Any]:
    return {
        "id": row.id,
        "cooperation": row.cooperation_id,
        "line": row.line,
        "period": row.period,
        "from": instant(row.period_start),
        "to": instant(row.period_end),
        "final": row.final,
        "locale": row.locale,
        "href": f"/v1/reports/{row.id}",
    }


@router.get("/v1/cooperations/{cooperation_id}/reports", response_model=list[ReportListed])
async def list_reports(cooperation_id: str, caller: CallerDep, pool: PoolDep) -> list[ReportListed]:
    """The reports of the cooperation's lines (a funder's own lines only; a fiscal host's,
    the lines that pay it)."""
    async with pool.acquire() as conn:
        seen = await cooperation_seen(conn, caller, cooperation_id)
        lines = await _reported_lines(conn, seen)
        rows = await reports_of(conn, cooperation_id, lines)
    return [ReportListed.model_validate(_listed(r)) for r in rows]


@router.get(
    "/v1/reports/{report_id}",
    response_model=Report,
    responses={
        200: {
            "description": (
                "The report: as JSON (the default) its listing and its content; for people, "
                "with `Accept: text/markdown` or `Accept: text/html`, rendered in its "
                "programme's locale (the HTML prints on A4)"
            ),
            "content": {
                MARKDOWN: {"schema": {"type": "string"}},
                HTML: {"schema": {"type": "string"}},
            },
        },
        406: {
            "description": "`Accept` names none of application/json, text/markdown, text/html",
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    },
)
async def read_report(
    report_id: str, request: Request, response: Response, caller: CallerDep, pool: PoolDep
) -> Any:
    """One report: JSON, or Markdown with `Accept: text/markdown`, or HTML with
    `Accept: text/html`."""
    async with pool.acquire() as conn:
        row = await report(conn, report_id)
        if row is None:
            raise Problem(404, f"no report {report_id!r}")
        try:
            seen = await cooperation_seen(conn, caller, row.cooperation_id)
            lines = await _reported_lines(conn, seen)
        except Problem:
            raise Problem(404, f"no report {report_id!r}") from None
    if lines is not None and row.line not in lines:
        raise Problem(404, f"no report {report_id!r}")
    media_type = negotiate(request.headers.get("accept"))
    # The answer depends on Accept: caches must keep one per media type.
    vary = {"Vary": "Accept"}
    if media_type == JSON:
        response.headers.update(vary)
        return Report.model_validate({**_listed(row), "content": row.content})
    # Rendered now from the stored content, with today's templates and words.
    fmt: Literal["markdown", "html"] = "markdown" if media_type == MARKDOWN else "html"
    text = render_report(row.content or {}, row.locale, fmt)
    if media_type == MARKDOWN:
        return PlainTextResponse(text, media_type=f"{MARKDOWN}; charset=utf-8", headers=vary)
    return HTMLResponse(text, headers=vary)


def negotiate(accept: str | None) -> str:
    """The served media type the caller prefers (RFC 9110 §12.5.1): the highest `q` of the
    most specific range naming it; 406 when it accepts none of them."""
    if accept is None or not accept.strip():
        return JSON
    ranges: list[tuple[str, str, float]] = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        kind, _, subtype = media.lower().partition("/")
        if not kind or not subtype:
            continue  # not a media range: it names nothing served
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((kind, subtype, q))
    best: tuple[float, str] | None = None
    for served in SERVED:
        kind, _, subtype = served.partition("/")
        matching = [
            (2 if (k, s) == (kind, subtype) else 1 if k == kind and s == "*" else 0, q)
            for k, s, q in ranges
            if (k, s) in ((kind, subtype), (kind, "*"), ("*", "*"))
        ]
        if matching:
            q = max(matching)[1]
            if q > 0 and (best is None or q > best[0]):
                best = (q, served)
    if best is None:
        raise Problem(
            406,
            f"cannot answer {accept!r}: a report is served as {', '.join(SERVED)}",
            extra={"title": "Not acceptable", "acceptable": list(SERVED)},
        )
    return best[1]
