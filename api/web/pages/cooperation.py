"""The pages every role in a cooperation's scope reads (its collective, its facilitator, its
funders; what one may not read is left out): the cooperation's page with its timeline, a
check-in (with the facilitator's review form), and a report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.models import EventFeed
from api.web.client import Api, ApiProblem
from api.web.pages.common import (
    MOVES,
    SessionDep,
    guarded,
    if_in_scope,
    named_summary,
    reading,
    show_form,
    together,
)
from api.web.render import SECURITY_HEADERS, page

router = APIRouter(include_in_schema=False)


@router.get("/cooperations/{cooperation_id}")
async def cooperation(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        base = f"/v1/cooperations/{quote(cooperation_id)}"
        # Asked at once (none waits for another); what the caller may not read (a fiscal host
        # reads no check-ins) is left out.
        (summary, names), story, check_ins, reports, requests, members, schedule = await together(
            named_summary(api, base),
            _timeline(
                api,
                base,
                fresh="done" in request.query_params,
                before=_before(request.query_params.get("before")),
            ),
            if_in_scope(api.get(f"{base}/check-ins")),
            if_in_scope(api.get(f"{base}/reports")),
            # With their reasons, which the summary does not carry.
            if_in_scope(api.get(f"{base}/transition-requests")),
            # With their names, which the summary does not carry either.
            if_in_scope(api.get(f"{base}/members")),
            # The échéancier prévisionnel (api/web/templates/schedule_table.html).
            if_in_scope(api.get(f"{base}/schedule")),
        )
        return page(
            request,
            session,
            "cooperation.html",
            c=summary,
            programme_names=names,
            members=members,
            story=story,
            check_ins=sorted(check_ins, key=lambda k: k.get("submitted_at") or "", reverse=True),
            reports=reports,
            requests=requests,
            moves=MOVES,
            schedule=(schedule or {}).get("tranches", []),
        )

    return await guarded(request, session, build)


# -- the timeline ---------------------------------------------------------------------------

FRESH_EVENTS = 50
"""Events looked for beyond the log, after an action: more than one command records."""
TIMELINE_PAGE = 50
"""Events a cooperation's page tells at once, the newest first; older ones a link away."""


@dataclass(frozen=True)
class Story:
    events: list[dict[str, Any]]
    """Newest first."""
    newest: int
    """The seq of the first told (the list's numbering)."""
    older: int | None
    """`?before=` for the page of the events before these, if any."""
    paged: bool
    """Showing older events (a link back to the newest)."""


def _before(given: str | None) -> int | None:
    if given is None or not given.isdigit() or not 1 < int(given) <= 2**53:
        return None
    return int(given)


async def _timeline(api: Api, base: str, fresh: bool, before: int | None) -> Story:
    """The newest TIMELINE_PAGE events (or those before `before`), newest first, read
    through the log's paging: a cooperation's page never reads its whole log.
    `fresh`, right after an action: also the events the workflow recorded that the log does
    not hold yet (`GET …/events/{seq}` reads them from the workflow), so the story shows what
    was just done."""
    if before is None:
        upto = (await api.read(f"{base}/events", EventFeed, after=0, limit=1)).last_seq
    else:
        upto = before - 1
        fresh = False
    after = max(upto - TIMELINE_PAGE, 0)
    feed = await api.get(f"{base}/events", after=after, limit=max(upto - after, 1))
    events: list[dict[str, Any]] = [e for e in feed["items"] if e["seq"] <= upto]
    last = upto
    for _ in range(FRESH_EVENTS if fresh else 0):
        try:
            events.append(await api.get(f"{base}/events/{last + 1}"))
        except ApiProblem as problem:
            if problem.status == 404:
                break
            raise
        last += 1
    oldest = events[0]["seq"] if events else 1
    return Story(
        events=events[::-1],
        newest=events[-1]["seq"] if events else 0,
        older=oldest if oldest > 1 else None,
        paged=before is not None,
    )


# -- a check-in, a report -------------------------------------------------------------------


@router.get("/cooperations/{cooperation_id}/check-ins/{check_in_id}")
async def check_in_page(
    cooperation_id: str, check_in_id: str, request: Request, session: SessionDep
) -> Response:
    """The check-in as its collective sent it; its facilitator reviews it here (the form is
    sent to facilitator.review)."""
    read = reading(cooperation_id, k=f"/check-ins/{quote(check_in_id)}")
    return await show_form(request, session, "review.html", read)


@router.get("/cooperations/{cooperation_id}/reports/{report_id}")
async def report(
    cooperation_id: str, report_id: str, request: Request, session: SessionDep
) -> Response:
    """A report as the API renders it for people: HTML to read and print, or Markdown to
    download (`?format=markdown`)."""

    async def build(api: Api) -> Response:
        markdown = request.query_params.get("format") == "markdown"
        text = await api.text(
            f"/v1/reports/{quote(report_id)}", "text/markdown" if markdown else "text/html"
        )
        if markdown:
            return Response(
                text,
                media_type="text/markdown; charset=utf-8",
                headers={
                    **SECURITY_HEADERS,
                    "Content-Disposition": f'attachment; filename="{report_id}.md"',
                },
            )
        # The report page carries its own stylesheet in a <style> element.
        headers = dict(SECURITY_HEADERS)
        headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
            "style-src 'self'", "style-src 'self' 'unsafe-inline'"
        )
        return HTMLResponse(text, headers=headers)

    return await guarded(request, session, build)
