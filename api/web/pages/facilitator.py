"""The facilitator's pages: its home (the cooperations it follows and the requests awaiting
it), reviews of check-ins, moves and declined requests, funding lines proposed, the funds it
holds as a fiscal host, and the collective invited by e-mail. Members and rule 20's
graduation are in graduation.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api.models import HostedFunds, Page, QueuedRequest
from api.routes.queues import QueuedCheckIn
from api.web.client import Api, ApiProblem
from api.web.pages.common import (
    MOVE_FIELDS,
    MOVES,
    REASONED,
    CooperationForm,
    Reader,
    SessionDep,
    act,
    field_errors,
    given,
    guarded,
    move_choices,
    named_summary,
    posted_form,
    programme_names,
    reading,
    see,
    send_form,
    show_form,
    text_of,
    together,
)
from api.web.render import page
from api.web.session import Session, locale_of
from domain.programme import Phase
from domain.views import CooperationSummary
from i18n import Words

M = TypeVar("M")

router = APIRouter(include_in_schema=False)


async def facilitator_home(request: Request, session: Session, api: Api) -> Response:
    """The home page (signin.home): what it follows counted (cooperations by phase, overdue
    check-ins, open requests, the funds it holds as fiscal host), the cooperations followed
    (overdue ones alone, or one phase's, if asked), and the requests awaiting a move."""
    overdue = request.query_params.get("overdue") == "1"
    phase = request.query_params.get("phase")
    phase = phase if phase in PHASES else None
    listed, requests, counts = await together(
        api.get(
            "/v1/cooperations",
            overdue="true" if overdue else None,
            phase=phase,
            outcome="open" if phase else None,
            cursor=request.query_params.get("cursor"),
            limit=50,
        ),
        api.read("/v1/transition-requests", Page[QueuedRequest], status="open", limit=200),
        followed(api),
    )
    return page(
        request,
        session,
        "facilitator_home.html",
        cooperations=listed["items"],
        next_cursor=listed["next_cursor"],
        overdue_only=overdue,
        phase=phase,
        requests=requests.items,
        counts=counts,
    )


PHASES = tuple(p.value for p in Phase)
COUNTED_PAGES = 50
"""Pages of 200 read to count what a facilitator follows (10,000 cooperations)."""


async def _all(api: Api, path: str, item: type[M], **params: Any) -> list[M]:
    items: list[M] = []
    cursor = None
    for _ in range(COUNTED_PAGES):
        listed = await api.read(path, Page[item], cursor=cursor, limit=200, **params)  # type: ignore[valid-type]
        items += listed.items
        cursor = listed.next_cursor
        if not cursor:
            break
    return items


async def followed(api: Api) -> dict[str, Any]:
    """What the home counts, read from the API's lists: open cooperations by phase, closed
    ones by outcome, overdue ones, open requests, and the funds held as fiscal host by
    currency (paid, and ordered not yet paid)."""
    cooperations, requests, funds = await together(
        _all(api, "/v1/cooperations", CooperationSummary),
        _all(api, "/v1/transition-requests", QueuedRequest, status="open"),
        api.read("/v1/fiscal-host/funds", list[HostedFunds]),
    )
    by_phase = dict.fromkeys(PHASES, 0)
    closed: dict[str, int] = {}
    for c in cooperations:
        if c.outcome:
            closed[c.outcome] = closed.get(c.outcome, 0) + 1
        elif c.phase in by_phase:
            by_phase[c.phase] += 1
    held: dict[str, dict[str, Decimal]] = {}
    for f in funds:
        if f.currency:
            sums = held.setdefault(f.currency, {"paid": Decimal(0), "unpaid": Decimal(0)})
            sums["paid"] += f.received
            sums["unpaid"] += f.unpaid
    return {
        "by_phase": by_phase,
        "closed": closed,
        "overdue": sum(1 for c in cooperations if c.overdue and not c.outcome),
        "requests": len(requests),
        "hosted": len(funds),
        "funds": held,
    }


# -- reviews --------------------------------------------------------------------------------


@router.post("/cooperations/{cooperation_id}/check-ins/{check_in_id}")
async def review(
    cooperation_id: str, check_in_id: str, request: Request, session: SessionDep
) -> Response:
    """The review form of the check-in's page (cooperation.check_in_page)."""
    return await send_form(
        request,
        session,
        template="review.html",
        read=reading(cooperation_id, k=f"/check-ins/{quote(check_in_id)}"),
        endpoint=f"/v1/cooperations/{quote(cooperation_id)}/check-ins/{quote(check_in_id)}/review",
        body_of=lambda form, _: (given(form, "decision", "comment"), {}),
        then=f"/cooperations/{quote(cooperation_id)}",
        done="review",
    )


@router.get("/review-queue")
async def review_queue(request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        queue = await api.read("/v1/check-ins", Page[QueuedCheckIn], limit=200)
        return page(request, session, "review_queue.html", items=queue.items)

    return await guarded(request, session, build)


# -- moves, and the collective's requests ---------------------------------------------------


def _move_body(form: FormData) -> dict[str, Any]:
    action = text_of(form, "action") or ""
    body: dict[str, Any] = {"action": action}
    for name, _ in MOVE_FIELDS.get(action, []):
        if text_of(form, name):
            body[name] = text_of(form, name)
    return body


def _missing_reason(body: dict[str, Any], words: Words) -> dict[str, str]:
    if body.get("action") in REASONED and not body.get("reason"):
        return {"reason": words("web.move.reason_required")}
    return {}


@router.get("/cooperations/{cooperation_id}/move")
async def move_form(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        summary = await api.get(f"/v1/cooperations/{quote(cooperation_id)}")
        action = request.query_params.get("action")
        return page(
            request,
            session,
            "move.html",
            c=summary,
            action=action if action in MOVES else "advance",
            values={},
            errors={},
            **move_choices(),
        )

    return await guarded(request, session, build)


@router.post("/cooperations/{cooperation_id}/move")
async def move(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    """Two steps: the preview (what will happen, from the API's dry run), then the move."""

    async def build(api: Api) -> Response:
        form = await posted_form(request)
        base = f"/v1/cooperations/{quote(cooperation_id)}"
        body = _move_body(form)
        words = Words(locale_of(request))
        errors = _missing_reason(body, words)
        confirmed = text_of(form, "step") == "confirm"
        if not errors:
            try:
                if confirmed:
                    await api.post(f"{base}/transitions", body, text_of(form, "form_key"))
                    return see(f"/cooperations/{quote(cooperation_id)}", "move")
                preview = await api.post(f"{base}/transitions/preview", body)
                summary, names = await named_summary(api, base)
                return page(
                    request,
                    session,
                    "move_confirm.html",
                    c=summary,
                    body=body,
                    preview=preview,
                    programme_names=names,
                )
            except ApiProblem as problem:
                if problem.status in (403, 404):
                    raise
                errors = field_errors(problem)
        summary = await api.get(base)
        return page(
            request,
            session,
            "move.html",
            status=422,
            c=summary,
            action=body["action"] if body["action"] in MOVES else "advance",
            values=body,
            errors=errors,
            **move_choices(),
        )

    return await guarded(request, session, build)


@router.post("/cooperations/{cooperation_id}/requests/{seq}/decline")
async def decline_request(
    cooperation_id: str, seq: int, request: Request, session: SessionDep
) -> Response:
    at = quote(cooperation_id)
    endpoint = f"/v1/cooperations/{at}/transition-requests/{seq}/decline"
    return await act(request, session, endpoint, _declined, f"/cooperations/{at}")


def _declined(form: FormData) -> tuple[dict[str, Any], str]:
    return {"reason": text_of(form, "reason")}, "declined"


# -- funding lines --------------------------------------------------------------------------


PROGRAMMES = "/v1/programmes?limit=200"
"""The programmes a line may be proposed to."""


def _line_body(form: FormData, _: Words) -> tuple[dict[str, Any], dict[str, str]]:
    body = given(form, "programme")
    if text_of(form, "angle"):
        body["angle"] = {"summary": text_of(form, "angle")}
    return body, {}


LINE = CooperationForm(
    "lines.html", "/funding-lines", _line_body, "line", reads={"programmes": PROGRAMMES}
)
LINE.serve(router, "/cooperations/{cooperation_id}/lines")


# -- the fiscal host's funds ----------------------------------------------------------------


@router.get("/funds")
async def funds(request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        held = await api.get("/v1/fiscal-host/funds")
        names = await programme_names(api, (ln["line"] for f in held for ln in f["by_line"]))
        return page(request, session, "funds.html", funds=held, programme_names=names)

    return await guarded(request, session, build)


# -- the collective invited by e-mail -------------------------------------------------------


def _invite_body(form: FormData, words: Words) -> tuple[dict[str, Any], dict[str, str]]:
    email = text_of(form, "email")
    if email is None:
        return {}, {"email": words("web.form.required")}
    return {"email": email}, {}


def _invite_reading(cooperation_id: str, session: Session, words: Words) -> Reader:
    """The cooperation, to its facilitator alone (the API would refuse anyone else's
    invitation: the form is not offered to them)."""
    base = reading(cooperation_id)

    async def read(api: Api) -> dict[str, Any]:
        context = await base(api)
        if session.role != "facilitator" or session.subject != context["c"].get("facilitator"):
            raise ApiProblem(403, words("web.register.facilitator_invites"))
        return context

    return read


@router.get("/cooperations/{cooperation_id}/invitations")
async def invite_form(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    words = Words(locale_of(request))
    read = _invite_reading(cooperation_id, session, words)
    return await show_form(request, session, "invite.html", read)


@router.post("/cooperations/{cooperation_id}/invitations")
async def invite(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    """The invitation form of the cooperation's page: `POST …/invitations` of the API, asked
    on the Host this page was asked on (the API sends mail only on the public site's: a page
    on another answers with the API's 400). A refusal shows the form alone, with what was
    typed and the error at its field."""

    async def build(api: Api) -> Response:
        form = await posted_form(request)
        body, errors = _invite_body(form, Words(locale_of(request)))
        if not errors:
            try:
                sent = await api.post(
                    f"/v1/cooperations/{quote(cooperation_id)}/invitations",
                    body,
                    text_of(form, "form_key"),
                    host=request.headers.get("host"),
                )
                done = "invited" if sent.get("sent") else "invite_not_sent"
                return see(f"/cooperations/{quote(cooperation_id)}", done)
            except ApiProblem as problem:
                if problem.status in (400, 403, 404):
                    raise
                errors = field_errors(problem)
        context = await _invite_reading(cooperation_id, session, Words(locale_of(request)))(api)
        values = {"email": text_of(form, "email") or ""}
        return page(
            request, session, "invite.html", status=422, values=values, errors=errors, **context
        )

    return await guarded(request, session, build)
