"""What every role's pages share: the session a page needs, a page built from API calls with
its problems shown as pages, forms read (CSRF checked) and sent to one endpoint, reads made
at once, and the choices of a move. Every read and every action is a call of the JSON API
(api/web/client.py) with the session's token: what a page shows and what it may do are the
API's answers, rules and refusals included."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from api.models import ProgrammeShown
from api.public import host_is_public
from api.web.client import Api, ApiProblem
from api.web.render import SECURITY_HEADERS, page
from api.web.session import Session, csrf_ok, current_session, locale_of
from domain import commands as c
from domain.programme import Outcome, Phase
from i18n import Words

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


def public_host_only(request: Request) -> None:
    """A page that may send a mail answers only on the public site's Host (api/public.py)."""
    if not host_is_public(request):
        raise ApiProblem(400, Words(locale_of(request))("web.error.foreign_host"))


def see(path: str, done: str | None = None) -> RedirectResponse:
    """After a POST, the page to read (303: a reload does not send the form again)."""
    target = f"{path}?{urlencode({'done': done})}" if done else path
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


async def posted_form(request: Request) -> FormData:
    """The form, if it carries the CSRF token (else 403: a page of its own, web.install)."""
    form = await request.form()
    if not csrf_ok(request, text_of(form, "csrf")):
        raise ApiProblem(403, Words(locale_of(request))("web.error.csrf"))
    return form


def text_of(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def number(text: str | None, default: int) -> int:
    """A whole number asked in a query (`?after=50`), or the default when it is none."""
    return int(text) if text and text.isdigit() else default


def back_to(form: FormData) -> str:
    """The page a form came from, if it is one of ours."""
    return ours(text_of(form, "back"))


def ours(path: str | None) -> str:
    """A path of this site, never another's (`//elsewhere` included): else the home page."""
    return path if path and path.startswith("/") and not path.startswith("//") else "/"


def _problem_page(request: Request, session: Session | None, problem: ApiProblem) -> HTMLResponse:
    return page(request, session, "error.html", status=problem.status, problem=problem)


async def guarded(
    request: Request, session: Session | None, build: Callable[[Api], Awaitable[Response]]
) -> Response:
    """A page built from API calls; an API problem (404, 403, 503…) is shown as a page."""
    async with api_of(request, session) as api:
        try:
            return await build(api)
        except ApiProblem as problem:
            return _problem_page(request, session, problem)


# -- reads made at once ---------------------------------------------------------------------


async def programme_names(api: Api, programme_ids: Iterable[str]) -> dict[str, str]:
    """Programmes' names by id, read at once: a funding line is named by its programme's id,
    and pages call it by the programme's name (a programme no longer readable keeps its id)."""
    ids = sorted(set(programme_ids))
    found = await together(
        *(if_in_scope(api.read(f"/v1/programmes/{quote(i)}", ProgrammeShown)) for i in ids)
    )
    return {i: p.name for i, p in zip(ids, found, strict=True) if p and p.name}


async def named_summary(api: Api, base: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A cooperation's summary, and the names of the programmes of the lines it shows."""
    summary = await api.get(base)
    return summary, await programme_names(api, (line["programme"] for line in summary["lines"]))


async def together(*reads: Awaitable[Any]) -> list[Any]:
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


async def if_in_scope(reading: Awaitable[Any]) -> Any:
    try:
        return await reading
    except ApiProblem as problem:
        if problem.status in (403, 404):
            return []
        raise


# -- forms: a page read from the API beside the form, the form sent to one endpoint ---------

Reader = Callable[[Api], Awaitable[dict[str, Any]]]
"""What a form's page shows beside the form, read from the API."""
BodyOf = Callable[[FormData, Words], tuple[dict[str, Any], dict[str, str]]]
"""A form turned into the API's body, and what is wrong with it before sending (by field)."""


def reading(cooperation_id: str, **more: str) -> Reader:
    """The cooperation (`c`), and more API reads by name (paths under the cooperation's)."""
    base = f"/v1/cooperations/{quote(cooperation_id)}"

    async def read(api: Api) -> dict[str, Any]:
        context = {"c": await api.get(base)}
        for name, path in more.items():
            context[name] = await api.get(path if path.startswith("/v1/") else base + path)
        return context

    return read


async def show_form(
    request: Request, session: Session, template: str, read: Reader, **choices: Any
) -> Response:
    async def build(api: Api) -> Response:
        context = await read(api)
        return page(request, session, template, values={}, errors={}, **choices, **context)

    return await guarded(request, session, build)


async def send_form(
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
        form = await posted_form(request)
        body, errors = body_of(form, Words(locale_of(request)))
        if not errors:
            try:
                await api.post(endpoint, body, text_of(form, "form_key"))
                return see(then, done)
            except ApiProblem as problem:
                if problem.status in (403, 404):
                    raise
                errors = field_errors(problem, fields)
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

    return await guarded(request, session, build)


@dataclass(frozen=True)
class CooperationForm:
    """A form on a cooperation, declared once for its page (GET) and its sending (POST) at one
    path: the template, what is read beside the cooperation (`reads`, as `reading` takes them;
    or `reader`'s) and the choices offered; the body made by `body_of`, sent to the API's
    `endpoint` under the cooperation's; then the cooperation's page (or `then`) saying `done`.
    `{names}` in `reads`, `endpoint` and `then` are the route's (quoted), or the form's
    (`names`); `shown` are route names the template is given too."""

    template: str
    endpoint: str
    body_of: BodyOf
    done: str
    then: str = ""
    reads: Mapping[str, str] = field(default_factory=dict)
    reader: Callable[[Mapping[str, str]], Reader] | None = None
    choices: Mapping[str, Any] = field(default_factory=dict)
    shown: tuple[str, ...] = ()
    fields: Mapping[str, str] | None = None
    names: Callable[[FormData], Mapping[str, str]] | None = None

    def serve(self, router: APIRouter, path: str) -> None:
        """The form's two routes at `path` (a cooperation's, `{cooperation_id}` in it)."""

        async def show(request: Request, session: SessionDep) -> Response:
            names = request.path_params
            return await show_form(
                request, session, self.template, self._read(names), **self._choices(names)
            )

        async def send(request: Request, session: SessionDep) -> Response:
            names = dict(request.path_params)
            if self.names:
                # Starlette keeps the form read: send_form reads it again for free, and
                # checks its CSRF token before anything is sent.
                names.update(self.names(await request.form()))
            at = {k: quote(v) for k, v in names.items()}
            return await send_form(
                request,
                session,
                template=self.template,
                read=self._read(names),
                endpoint=f"/v1/cooperations/{at['cooperation_id']}{self.endpoint.format_map(at)}",
                body_of=self.body_of,
                then=(self.then or "/cooperations/{cooperation_id}").format_map(at),
                done=self.done,
                fields=dict(self.fields) if self.fields else None,
                **self._choices(names),
            )

        router.add_api_route(path, show, methods=["GET"], include_in_schema=False)
        router.add_api_route(path, send, methods=["POST"], include_in_schema=False)

    def _read(self, names: Mapping[str, str]) -> Reader:
        if self.reader:
            return self.reader(names)
        at = {k: quote(v) for k, v in names.items()}
        reads = {k: path.format_map(at) for k, path in self.reads.items()}
        return reading(names["cooperation_id"], **reads)

    def _choices(self, names: Mapping[str, str]) -> dict[str, Any]:
        return {**self.choices, **{name: names[name] for name in self.shown}}


ActOf = Callable[[FormData], tuple[Any, str]]
"""A button's form turned into the API's body, and what it did (`done`)."""


async def act(
    request: Request, session: Session, endpoint: str, act_of: ActOf, then: str | None = None
) -> Response:
    """A button's form (no page of its own) posted to `endpoint`; then `then`, or the page it
    came from, saying what it did. A refusal is a page saying why, the way back on it."""

    async def build(api: Api) -> Response:
        form = await posted_form(request)
        body, done = act_of(form)
        await api.post(endpoint, body, text_of(form, "form_key"))
        return see(then or back_to(form), done)

    return await guarded(request, session, build)


def only(done: str, body: Any = None) -> ActOf:
    """A button whose form carries nothing but itself: `body` sent, `done` said."""
    return lambda _: (body, done)


def given(form: FormData, *names: str) -> dict[str, Any]:
    return {name: text_of(form, name) for name in names if text_of(form, name) is not None}


def field_errors(problem: ApiProblem, fields: dict[str, str] | None = None) -> dict[str, str]:
    """The API's bad fields by the form's field names; what names no field goes on top."""
    errors: dict[str, str] = {}
    for path, message in problem.errors.items():
        top = path.split(".")[0].split("[")[0]
        errors[(fields or {}).get(top, top)] = message
    errors.setdefault("_", problem.detail)
    return errors


def move_choices() -> dict[str, Any]:
    """What a move's form, or a request's, offers to choose from."""
    return {
        "moves": MOVES,
        "move_fields": MOVE_FIELDS,
        "phases": [p.value for p in Phase],
        "outcomes": [o.value for o in Outcome],
    }
