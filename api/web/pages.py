"""The web interface: pages for collectives, facilitators and funders, served by the API
process. Every read and every action is a call of the JSON API (api/web/client.py) with the
session's token: what a page shows and what it may do are the API's answers, rules and
refusals included. This module only turns forms into API bodies and answers into pages."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from api.public import host_is_public
from api.web import charts, mails
from api.web.client import Api, ApiProblem
from api.web.render import ENV, SECURITY_HEADERS, page
from api.web.session import (
    LANG_COOKIE,
    Session,
    base_url,
    close_session,
    csrf_ok,
    current_session,
    locale_of,
    open_session,
    settings_of,
)
from domain import commands as c
from domain.lifecycle.graduation import LEGAL_FORMS
from domain.programme import Outcome, Phase
from notify.render import LOCALES, Words
from runtime.logging import get_logger
from store import contacts
from store.signin import create_links, link_is_valid, use_link
from store.tokens import find_token

log = get_logger("coopflow.web")

router = APIRouter(include_in_schema=False)

MOVES = tuple(c.MOVES)
REASONED = {"restart", "pivot", "pause"}
"""Transitions whose command carries a reason: the web asks for it every time."""
MOVE_FIELDS = {
    action: [
        (name, field.is_required() or (name == "reason" and action in REASONED))
        for name, field in model.model_fields.items()
        if name not in ("kind", "request_id")
    ]
    for action, model in c.MOVES.items()
}
"""The fields each transition takes and whether they must be given, from the domain's
commands: the form asks for these."""


class SignInNeeded(Exception):
    """No valid session: the page sends the browser to the sign-in page, then back."""


async def _session(request: Request) -> Session:
    session = await current_session(request)
    if session is None:
        raise SignInNeeded(request.url.path)
    return session


SessionDep = Annotated[Session, Depends(_session)]


def api_of(request: Request, session: Session | None) -> Api:
    return Api(request.app, session.token if session else None)


def _see(path: str, done: str | None = None) -> RedirectResponse:
    """After a POST, the page to read (303: a reload does not send the form again)."""
    target = f"{path}?{urlencode({'done': done})}" if done else path
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


async def _form(request: Request) -> FormData:
    """The form, if it carries the CSRF token (else 403: a page of its own, web.install)."""
    form = await request.form()
    if not csrf_ok(request, _text(form, "csrf")):
        raise ApiProblem(403, Words(locale_of(request))("web.error.csrf"))
    return form


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def _back(form: FormData) -> str:
    """The page a form came from, if it is one of ours."""
    return _ours(_text(form, "back"))


def _ours(path: str | None) -> str:
    """A path of this site, never another's (`//elsewhere` included): else the home page."""
    return path if path and path.startswith("/") and not path.startswith("//") else "/"


def _problem_page(request: Request, session: Session | None, problem: ApiProblem) -> HTMLResponse:
    return page(request, session, "error.html", status=problem.status, problem=problem)


async def _guarded(
    request: Request, session: Session | None, build: Callable[[Api], Awaitable[Response]]
) -> Response:
    """A page built from API calls; an API problem (404, 403, 503…) is shown as a page."""
    async with api_of(request, session) as api:
        try:
            return await build(api)
        except ApiProblem as problem:
            return _problem_page(request, session, problem)


# -- signing in and out ---------------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    if session.role == "collective":
        return RedirectResponse(f"/cooperations/{quote(session.subject)}", status_code=303)

    async def build(api: Api) -> Response:
        if session.role == "facilitator":
            overdue = request.query_params.get("overdue") == "1"
            listed = await api.get(
                "/v1/cooperations",
                overdue="true" if overdue else None,
                cursor=request.query_params.get("cursor"),
                limit=50,
            )
            requests = await api.get("/v1/transition-requests", limit=200)
            return page(
                request,
                session,
                "facilitator_home.html",
                cooperations=listed["items"],
                next_cursor=listed["next_cursor"],
                overdue_only=overdue,
                requests=requests["items"],
            )
        programmes = await api.get("/v1/programmes", funder=session.subject, limit=200)
        return page(request, session, "funder_home.html", programmes=programmes["items"])

    return await _guarded(request, session, build)


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    return page(
        request,
        await current_session(request),
        "signin.html",
        email="",
        errors={},
        back=_next(request),
    )


def _next(request: Request) -> str:
    """Where a page that asked for a session sent the browser from (`?next=`), if ours."""
    return _ours(request.query_params.get("next"))


def _public_host_only(request: Request) -> None:
    """A page that may send a mail answers only on the public site's Host (api/public.py)."""
    if not host_is_public(request):
        raise ApiProblem(400, Words(locale_of(request))("web.error.foreign_host"))


@router.post("/signin")
async def signin_by_email(request: Request) -> Response:
    """A link to each subject the address is a confirmed contact of. The answer is the same
    whether the address is known or not: the page tells nobody who is a contact of what."""
    _public_host_only(request)
    form = await _form(request)
    email = _text(form, "email") or ""
    words = Words(locale_of(request))
    if "@" not in email or len(email) > 320:
        return page(
            request,
            None,
            "signin.html",
            status=422,
            email=email,
            errors={"email": words("web.signin.email_invalid")},
        )
    settings = settings_of(request)
    async with request.app.state.pool.acquire() as conn:
        links = await create_links(conn, email, timedelta(minutes=settings.web_link_minutes))
    if links:
        root = base_url(request)
        context = {
            "t": words,
            "links": [
                (words(f"web.role.{link.role}"), link.subject, f"{root}/signin/{link.token}")
                for link in links
            ],
            "minutes": int(settings.web_link_minutes),
        }
        # To the address as the contacts hold it (validated and confirmed), not as typed.
        await mails.send(
            settings,
            links[0].address,
            words("web.signin.mail_subject"),
            ENV.get_template("signin_mail.txt").render(**context),
            ENV.get_template("signin_mail.html").render(lang=words.locale, **context),
        )
    return page(request, None, "signin_sent.html", email=email)


@router.post("/signin/token")
async def signin_by_token(request: Request) -> Response:
    """An operator's API token opens a session of its own (the token itself stays out of the
    browser, and signing out does not revoke it; revoking it ends the session)."""
    form = await _form(request)
    token = _text(form, "token") or ""
    async with request.app.state.pool.acquire() as conn:
        record = await find_token(conn, token) if 0 < len(token) < 200 else None
    if record is None:
        words = Words(locale_of(request))
        return page(
            request,
            None,
            "signin.html",
            status=401,
            email="",
            errors={"token": words("web.signin.token_invalid")},
        )
    response = _see(_back(form))
    await open_session(request, response, record.role, record.subject, by_token=record)
    return response


@router.get("/signin/{link}")
async def signin_link_page(link: str, request: Request) -> Response:
    """The e-mailed link shows a button: mail scanners that open links do not use them up."""
    async with request.app.state.pool.acquire() as conn:
        valid = len(link) < 100 and await link_is_valid(conn, link)
    return page(request, None, "signin_link.html", status=200 if valid else 410, valid=valid)


@router.post("/signin/{link}")
async def signin_with_link(link: str, request: Request) -> Response:
    await _form(request)
    async with request.app.state.pool.acquire() as conn:
        used = await use_link(conn, link) if len(link) < 100 else None
    if used is None:
        return page(request, None, "signin_link.html", status=410, valid=False)
    response = _see("/")
    await open_session(request, response, used.role, used.subject, by_address=used.address)
    return response


@router.get("/contacts/{link}")
async def contact_link_page(link: str, request: Request) -> Response:
    """A new contact's confirmation, or an invitation: a button, as for sign-in links."""
    async with request.app.state.pool.acquire() as conn:
        kind = await contacts.link_kind(conn, link) if len(link) < 100 else None
    return page(
        request,
        None,
        "contact_link.html",
        status=200 if kind else 410,
        valid=kind is not None,
        confirmed=False,
        section="web.invitation" if kind == "invite" else "web.contact",
    )


@router.post("/contacts/{link}")
async def use_contact_link(link: str, request: Request) -> Response:
    """The address confirmed; an invitation also signs its collective in, for as long as the
    address stays among its contacts."""
    await _form(request)
    async with request.app.state.pool.acquire() as conn:
        used = await contacts.use_link(conn, link) if len(link) < 100 else None
    if used is None:
        return page(
            request,
            None,
            "contact_link.html",
            status=410,
            valid=False,
            confirmed=False,
            section="web.contact",
        )
    if used.kind == "invite":
        response = _see("/")
        await open_session(request, response, used.role, used.subject, by_address=used.address)
        return response
    return page(
        request,
        await current_session(request),
        "contact_link.html",
        valid=True,
        confirmed=True,
        section="web.contact",
    )


@router.post("/signout")
async def signout(request: Request) -> Response:
    session = await current_session(request)
    await _form(request)
    response = _see("/signin", "signed_out")
    await close_session(request, response, session)
    return response


@router.get("/language/{locale}")
async def choose_language(locale: str, request: Request) -> Response:
    response = RedirectResponse(_next(request), status_code=303, headers=SECURITY_HEADERS)
    if locale in LOCALES:
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.get("/accessibility")
async def accessibility(request: Request) -> Response:
    return page(request, await current_session(request), "accessibility.html")


# -- a cooperation --------------------------------------------------------------------------


@router.get("/cooperations/{cooperation_id}")
async def cooperation(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        base = f"/v1/cooperations/{quote(cooperation_id)}"
        # Asked at once (none waits for another); what the caller may not read (a fiscal host
        # reads no check-ins) is left out.
        (summary, names), story, check_ins, reports, requests, members = await _together(
            _named_summary(api, base),
            _timeline(
                api,
                base,
                fresh="done" in request.query_params,
                before=_before(request.query_params.get("before")),
            ),
            _if_in_scope(api.get(f"{base}/check-ins")),
            _if_in_scope(api.get(f"{base}/reports")),
            # With their reasons, which the summary does not carry.
            _if_in_scope(api.get(f"{base}/transition-requests")),
            # With their names, which the summary does not carry either.
            _if_in_scope(api.get(f"{base}/members")),
        )
        return page(
            request,
            session,
            "cooperation.html",
            c=summary,
            programme_names=names,
            members=members,
            timeline=story.events,
            timeline_newest=story.newest,
            timeline_older=story.older,
            timeline_paged=story.paged,
            check_ins=sorted(check_ins, key=lambda k: k.get("submitted_at") or "", reverse=True),
            reports=reports,
            requests=requests,
            moves=MOVES,
        )

    return await _guarded(request, session, build)


async def programme_names(api: Api, programme_ids: Iterable[str]) -> dict[str, str]:
    """Programmes' names by id, read at once: a funding line is named by its programme's id,
    and pages call it by the programme's name (a programme no longer readable keeps its id)."""
    ids = sorted(set(programme_ids))
    found = await _together(*(_if_in_scope(api.get(f"/v1/programmes/{quote(i)}")) for i in ids))
    return {i: p["name"] for i, p in zip(ids, found, strict=True) if p and p.get("name")}


async def _named_summary(api: Api, base: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A cooperation's summary, and the names of the programmes of the lines it shows."""
    summary = await api.get(base)
    return summary, await programme_names(api, (line["programme"] for line in summary["lines"]))


async def _together(*reads: Awaitable[Any]) -> list[Any]:
    """API reads made at once, none waiting for another; the first problem stops the others
    and is the page's."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(read)) for read in reads]
    except* ApiProblem as problems:
        raise problems.exceptions[0] from None
    return [task.result() for task in tasks]


async def _awaited(read: Awaitable[Any]) -> Any:
    return await read


async def _if_in_scope(reading: Awaitable[Any]) -> Any:
    try:
        return await reading
    except ApiProblem as problem:
        if problem.status in (403, 404):
            return []
        raise


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
        latest = (await api.get(f"{base}/events", after=0, limit=1))["last_seq"]
        upto = latest
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


# check-in (the collective)


# -- forms: a page read from the API beside the form, the form sent to one endpoint ---------

Reader = Callable[[Api], Awaitable[dict[str, Any]]]
"""What a form's page shows beside the form, read from the API."""
BodyOf = Callable[[FormData, Words], tuple[dict[str, Any], dict[str, str]]]
"""A form turned into the API's body, and what is wrong with it before sending (by field)."""


def _reading(cooperation_id: str, **more: str) -> Reader:
    """The cooperation (`c`), and more API reads by name (paths under the cooperation's)."""
    base = f"/v1/cooperations/{quote(cooperation_id)}"

    async def read(api: Api) -> dict[str, Any]:
        context = {"c": await api.get(base)}
        for name, path in more.items():
            context[name] = await api.get(path if path.startswith("/v1/") else base + path)
        return context

    return read


async def _show_form(
    request: Request, session: Session, template: str, read: Reader, **choices: Any
) -> Response:
    async def build(api: Api) -> Response:
        context = await read(api)
        return page(request, session, template, values={}, errors={}, **choices, **context)

    return await _guarded(request, session, build)


async def _send_form(
    request: Request,
    session: Session,
    *,
    template: str,
    read: Reader,
    endpoint: str,
    body_of: BodyOf,
    then: str,
    done: str,
    fields: dict[str, str] | None = None,
    **choices: Any,
) -> Response:
    """The form sent to `endpoint`; then the page `then` saying `done`. A refusal shows the
    form again with everything typed and each error by its field (`fields` maps the API's
    names to the form's); forbidden or out of scope is a page of its own."""

    async def build(api: Api) -> Response:
        form = await _form(request)
        body, errors = body_of(form, Words(locale_of(request)))
        if not errors:
            try:
                await api.post(endpoint, body, _text(form, "form_key"))
                return _see(then, done)
            except ApiProblem as problem:
                if problem.status in (403, 404):
                    raise
                errors = _field_errors(problem, fields)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        context = await read(api)
        return page(
            request,
            session,
            template,
            status=422,
            values=values,
            errors=errors,
            **choices,
            **context,
        )

    return await _guarded(request, session, build)


def _given(form: FormData, *names: str) -> dict[str, Any]:
    return {name: _text(form, name) for name in names if _text(form, name) is not None}


def _field_errors(problem: ApiProblem, fields: dict[str, str] | None = None) -> dict[str, str]:
    """The API's bad fields by the form's field names; what names no field goes on top."""
    errors: dict[str, str] = {}
    for path, message in problem.errors.items():
        top = path.split(".")[0].split("[")[0]
        errors[(fields or {}).get(top, top)] = message
    errors.setdefault("_", problem.detail)
    return errors


# check-in (the collective) and review (the facilitator)


@router.get("/cooperations/{cooperation_id}/check-in")
async def check_in_form(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    return await _show_form(request, session, "check_in.html", _reading(cooperation_id))


@router.post("/cooperations/{cooperation_id}/check-in")
async def submit_check_in(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    return await _send_form(
        request,
        session,
        template="check_in.html",
        read=_reading(cooperation_id),
        endpoint=f"/v1/cooperations/{quote(cooperation_id)}/check-ins",
        body_of=_check_in,
        then=f"/cooperations/{quote(cooperation_id)}",
        done="check_in",
        fields={"indicators": "indicator_name_0"},
    )


def _check_in(form: FormData, words: Words) -> tuple[dict[str, Any], dict[str, str]]:
    indicators, bad = indicators_of(form)
    errors = {field: words(key) for field, key in bad.items()}
    body = {**_given(form, "narrative", "needs"), "indicators": indicators}
    if "narrative" not in body:
        errors["narrative"] = words("web.form.required")
    return body, errors


INDICATOR_ROWS = 6


def indicators_of(form: FormData) -> tuple[dict[str, int | float | str], dict[str, str]]:
    """The indicator rows (name, value) as the API takes them: numbers where they read as
    numbers (a French decimal comma too), text otherwise; a value without a name, or a name
    without a value, is an error named by its row (a catalog key)."""
    indicators: dict[str, int | float | str] = {}
    errors: dict[str, str] = {}
    for i in range(INDICATOR_ROWS):
        name, value = _text(form, f"indicator_name_{i}"), _text(form, f"indicator_value_{i}")
        if name is None and value is None:
            continue
        if name is None:
            errors[f"indicator_name_{i}"] = "web.check_in.indicator_unnamed"
        elif value is None:
            errors[f"indicator_value_{i}"] = "web.check_in.indicator_empty"
        else:
            indicators[name] = _number(value)
    return indicators, errors


def _number(text: str) -> int | float | str:
    compact = text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
    try:
        return int(compact)
    except ValueError:
        pass
    try:
        number = float(compact.replace(",", "."))
    except ValueError:
        return text
    # "nan" and "inf" read as floats: what someone typed, kept as text.
    return number if math.isfinite(number) else text


@router.get("/cooperations/{cooperation_id}/check-ins/{check_in_id}")
async def check_in_page(
    cooperation_id: str, check_in_id: str, request: Request, session: SessionDep
) -> Response:
    read = _reading(cooperation_id, k=f"/check-ins/{quote(check_in_id)}")
    return await _show_form(request, session, "review.html", read)


@router.post("/cooperations/{cooperation_id}/check-ins/{check_in_id}")
async def review(
    cooperation_id: str, check_in_id: str, request: Request, session: SessionDep
) -> Response:
    return await _send_form(
        request,
        session,
        template="review.html",
        read=_reading(cooperation_id, k=f"/check-ins/{quote(check_in_id)}"),
        endpoint=f"/v1/cooperations/{quote(cooperation_id)}/check-ins/{quote(check_in_id)}/review",
        body_of=lambda form, _: (_given(form, "decision", "comment"), {}),
        then=f"/cooperations/{quote(cooperation_id)}",
        done="review",
    )


@router.get("/review-queue")
async def review_queue(request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        queue = await api.get("/v1/check-ins", limit=200)
        return page(request, session, "review_queue.html", items=queue["items"])

    return await _guarded(request, session, build)


# transitions (the facilitator) and requests (the collective)


def _move_body(form: FormData) -> dict[str, Any]:
    action = _text(form, "action") or ""
    body: dict[str, Any] = {"action": action}
    for name, _ in MOVE_FIELDS.get(action, []):
        if _text(form, name):
            body[name] = _text(form, name)
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
            **_move_choices(),
        )

    return await _guarded(request, session, build)


def _move_choices() -> dict[str, Any]:
    return {
        "moves": MOVES,
        "move_fields": MOVE_FIELDS,
        "phases": [p.value for p in Phase],
        "outcomes": [o.value for o in Outcome],
    }


@router.post("/cooperations/{cooperation_id}/move")
async def move(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    """Two steps: the preview (what will happen, from the API's dry run), then the move."""

    async def build(api: Api) -> Response:
        form = await _form(request)
        base = f"/v1/cooperations/{quote(cooperation_id)}"
        body = _move_body(form)
        words = Words(locale_of(request))
        errors = _missing_reason(body, words)
        confirmed = _text(form, "step") == "confirm"
        if not errors:
            try:
                if confirmed:
                    await api.post(f"{base}/transitions", body, _text(form, "form_key"))
                    return _see(f"/cooperations/{quote(cooperation_id)}", "move")
                preview = await api.post(f"{base}/transitions/preview", body)
                summary, names = await _named_summary(api, base)
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
                errors = _field_errors(problem)
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
            **_move_choices(),
        )

    return await _guarded(request, session, build)


@router.get("/cooperations/{cooperation_id}/request")
async def request_form(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    return await _show_form(
        request, session, "request.html", _reading(cooperation_id), **_move_choices()
    )


@router.post("/cooperations/{cooperation_id}/request")
async def ask_transition(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    def body_of(form: FormData, _: Words) -> tuple[dict[str, Any], dict[str, str]]:
        body = _given(form, "action", "reason", "to")
        if body.get("action") != "restart":
            body.pop("to", None)  # the phase is asked of a restart only
        return body, {}

    return await _send_form(
        request,
        session,
        template="request.html",
        read=_reading(cooperation_id),
        endpoint=f"/v1/cooperations/{quote(cooperation_id)}/transition-requests",
        body_of=body_of,
        then=f"/cooperations/{quote(cooperation_id)}",
        done="request",
        **_move_choices(),
    )


@router.post("/cooperations/{cooperation_id}/requests/{seq}/decline")
async def decline_request(
    cooperation_id: str, seq: int, request: Request, session: SessionDep
) -> Response:
    async def build(api: Api) -> Response:
        form = await _form(request)
        base = f"/v1/cooperations/{quote(cooperation_id)}"
        await api.post(
            f"{base}/transition-requests/{seq}/decline",
            {"reason": _text(form, "reason")},
            _text(form, "form_key"),
        )
        return _see(f"/cooperations/{quote(cooperation_id)}", "declined")

    return await _guarded(request, session, build)


# funding lines, approvals, members


@router.get("/cooperations/{cooperation_id}/lines")
async def line_form(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    read = _reading(cooperation_id, programmes="/v1/programmes?limit=200")
    return await _show_form(request, session, "lines.html", read)


@router.post("/cooperations/{cooperation_id}/lines")
async def propose_line(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    def body_of(form: FormData, _: Words) -> tuple[dict[str, Any], dict[str, str]]:
        body = _given(form, "programme")
        if _text(form, "angle"):
            body["angle"] = {"summary": _text(form, "angle")}
        return body, {}

    return await _send_form(
        request,
        session,
        template="lines.html",
        read=_reading(cooperation_id, programmes="/v1/programmes?limit=200"),
        endpoint=f"/v1/cooperations/{quote(cooperation_id)}/funding-lines",
        body_of=body_of,
        then=f"/cooperations/{quote(cooperation_id)}",
        done="line",
    )


@router.post("/cooperations/{cooperation_id}/lines/{programme}/decision")
async def decide_line(
    cooperation_id: str, programme: str, request: Request, session: SessionDep
) -> Response:
    async def build(api: Api) -> Response:
        form = await _form(request)
        accept = _text(form, "accept") == "true"
        body: dict[str, Any] = {"accept": accept}
        # Rule 17: a granted programme's line is accepted with the amount its funder grants.
        if accept and _text(form, "amount") is not None:
            body["amount"] = _money_typed(_text(form, "amount") or "")
        try:
            await api.post(
                f"/v1/cooperations/{quote(cooperation_id)}/funding-lines/{quote(programme)}"
                "/decision",
                body,
                _text(form, "form_key"),
            )
        except ApiProblem as problem:
            if problem.status in (403, 404) or not accept:
                raise
            # Refused (an amount missing or out of bounds, a budget too short): the inbox
            # again, the error by the line and its field, the amount as typed.
            errors = _field_errors(problem)
            return await _programme_page(
                request,
                session,
                api,
                programme,
                status=problem.status,
                decision={
                    "cooperation": cooperation_id,
                    "errors": errors,
                    "amount": _text(form, "amount") or "",
                },
            )
        return _see(_back(form), "accepted" if accept else "declined")

    return await _guarded(request, session, build)


def _money_typed(text: str) -> str:
    """An amount as people type it (`33 333,33`, `33333.33 €`) as the API reads money."""
    compact = "".join(ch for ch in text if ch not in " \u202f\u00a0€")
    if "," in compact and "." not in compact:
        compact = compact.replace(",", ".")
    return compact


@router.post("/cooperations/{cooperation_id}/approvals")
async def approve(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        form = await _form(request)
        await api.post(
            f"/v1/cooperations/{quote(cooperation_id)}/approvals",
            {"line": _text(form, "line"), "tranche": _text(form, "tranche")},
            _text(form, "form_key"),
        )
        return _see(_back(form), "approved")

    return await _guarded(request, session, build)


@router.get("/cooperations/{cooperation_id}/lines/{programme}/convention")
async def convention_form(
    cooperation_id: str, programme: str, request: Request, session: SessionDep
) -> Response:
    """Rule 18: the line's funder records its convention (also from its inbox)."""
    return await _show_form(
        request, session, "convention.html", _reading(cooperation_id), programme=programme
    )


@router.post("/cooperations/{cooperation_id}/lines/{programme}/convention")
async def record_convention(
    cooperation_id: str, programme: str, request: Request, session: SessionDep
) -> Response:
    return await _send_form(
        request,
        session,
        template="convention.html",
        read=_reading(cooperation_id),
        endpoint=(
            f"/v1/cooperations/{quote(cooperation_id)}/funding-lines/{quote(programme)}/convention"
        ),
        body_of=lambda form, _: (_given(form, "reference", "signed_on", "ends_on"), {}),
        then=f"/programmes/{quote(programme)}",
        done="convention",
        programme=programme,
    )


@router.post("/cooperations/{cooperation_id}/payments")
async def record_paid(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    """Rule 19: the funder records the day a versement was paid (its inbox's form)."""

    async def build(api: Api) -> Response:
        form = await _form(request)
        body: dict[str, Any] = _given(form, "line", "tranche", "payee", "paid_on")
        occurrence = _text(form, "occurrence")
        if occurrence is not None:
            body["occurrence"] = int(occurrence) if occurrence.isdigit() else occurrence
        await api.post(
            f"/v1/cooperations/{quote(cooperation_id)}/payments", body, _text(form, "form_key")
        )
        return _see(_back(form), "versement.paid")

    return await _guarded(request, session, build)


@router.get("/cooperations/{cooperation_id}/members")
async def members_page(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    read = _reading(cooperation_id, members="/members")
    return await _show_form(request, session, "members.html", read, legal_forms=LEGAL_FORMS)


@router.post("/cooperations/{cooperation_id}/members")
async def add_member(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    return await _send_form(
        request,
        session,
        template="members.html",
        read=_reading(cooperation_id, members="/members"),
        endpoint=f"/v1/cooperations/{quote(cooperation_id)}/members",
        body_of=lambda form, _: (_given(form, "id", "name", "legal_form"), {}),
        then=f"/cooperations/{quote(cooperation_id)}/members",
        done="member_added",
        legal_forms=LEGAL_FORMS,
    )


@router.post("/cooperations/{cooperation_id}/members/{member}/leave")
async def remove_member(
    cooperation_id: str, member: str, request: Request, session: SessionDep
) -> Response:
    async def build(api: Api) -> Response:
        await _form(request)
        await api.delete(f"/v1/cooperations/{quote(cooperation_id)}/members/{quote(member)}")
        return _see(f"/cooperations/{quote(cooperation_id)}/members", "member_left")

    return await _guarded(request, session, build)


# -- the fiscal host, the funder ------------------------------------------------------------


@router.get("/funds")
async def funds(request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        held = await api.get("/v1/fiscal-host/funds")
        names = await programme_names(api, (ln["line"] for f in held for ln in f["by_line"]))
        return page(request, session, "funds.html", funds=held, programme_names=names)

    return await _guarded(request, session, build)


@router.get("/programmes/{programme_id}")
async def programme(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        return await _programme_page(request, session, api, programme_id)

    return await _guarded(request, session, build)


def _forecast_years(forecast: dict[str, Any]) -> list[tuple[int, Decimal, Decimal, Decimal]]:
    """(year, accepted lines' releases, proposed lines' releases, repayments) of a forecast."""

    def total(year: dict[str, Any]) -> Decimal:
        return sum((Decimal(v) for v in year["releases"].values()), Decimal("0.00"))

    return [
        (y["year"], total(a), total(q), Decimal(y["repayments"]))
        for y, a, q in zip(
            forecast["years"],
            forecast["accepted"]["years"],
            forecast["proposed"]["years"],
            strict=True,
        )
    ]


async def _programme_page(
    request: Request,
    session: Session,
    api: Api,
    programme_id: str,
    status: int = 200,
    decision: dict[str, Any] | None = None,
) -> Response:
    """The funder's programme: dashboard, inbox and plots; `decision` is a refused decision
    on one proposed line (its cooperation, its errors by field, the amount as typed)."""
    base = f"/v1/programmes/{quote(programme_id)}"
    dashboard, inbox, funded, names, forecast = await _together(
        api.get(f"{base}/dashboard"),
        api.get(f"{base}/inbox"),
        api.get("/v1/cooperations", programme=programme_id, limit=200),
        programme_names(api, [programme_id]),
        api.get(f"{base}/forecast"),
    )
    words = Words(locale_of(request))
    return page(
        request,
        session,
        "programme.html",
        status=status,
        programme_id=programme_id,
        programme_names=names,
        d=dashboard,
        inbox=inbox,
        plots=charts.dashboard_charts(dashboard, words),
        forecast=forecast,
        forecast_plot=charts.forecast_releases(forecast, words),
        forecast_years=_forecast_years(forecast),
        cooperations=funded["items"],
        # The inbox's requests by their cooperations' names.
        cooperation_names={c["id"]: c.get("name") for c in funded["items"]},
        decision=decision,
        back=f"/programmes/{quote(programme_id)}",
    )


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

    return await _guarded(request, session, build)
