"""The funder's set-up pages: a programme created and edited from a form (a new version each
time), imported and exported as YAML, its budget raised; a loan's repayments and write-offs.
Its versions and what changed are in versions.py, webhooks in webhooks.py. Every page reads
and writes through the JSON API (the programme form posts the spec the API checks: its
errors come back at their inputs, api/web/forms.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from api.models import Dashboard
from api.web import programme_form as pf
from api.web.client import Api, ApiProblem
from api.web.forms import UNITS, cadence_key, form_errors, money_typed
from api.web.pages.common import (
    SessionDep,
    act,
    guarded,
    posted_form,
    see,
    text_of,
)
from api.web.render import SECURITY_HEADERS, page
from api.web.session import Session, locale_of
from i18n import Formats, Words

router = APIRouter(include_in_schema=False)

YAML_MAX = 1 << 20
"""What an uploaded spec may weigh: the API's own limit for a body (413 beyond)."""


def programme_path(programme_id: str) -> str:
    return f"/v1/programmes/{quote(programme_id)}"


def choices(request: Request) -> dict[str, Any]:
    words, fmt = Words(locale_of(request)), Formats(locale_of(request))

    def cadence(iso: str | None) -> str:
        """A cadence said as people say it (*tous les 2 mois*)."""
        if not iso:
            return ""
        key = cadence_key(iso)
        return words(f"web.setup.{key[0]}", n=key[1]) if key else fmt.duration(iso)

    return {
        "phases": pf.PHASES,
        "purposes": pf.PURPOSES,
        "triggers": pf.TRIGGERS,
        "units": UNITS,
        "rows_of": pf.rows_of,
        "cadence": cadence,
        "phase_optional": pf.PHASE_OPTIONAL,
        "phase_has_errors": lambda errors, at: any(k.startswith(at + ".") for k in errors),
    }


# -- the programme form ---------------------------------------------------------------------


def _form_page(
    request: Request,
    session: Session,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    programme_id: str | None,
    status: int = 200,
) -> Response:
    return page(
        request,
        session,
        "programme_form.html",
        status=status,
        values=values,
        errors=errors,
        programme_id=programme_id,
        **choices(request),
    )


def _funders_only(request: Request, session: Session) -> Response | None:
    """Programmes are the funders' to create (the API refuses anyone else, 403): the form is
    not offered to others."""
    if session.role == "funder":
        return None
    problem = ApiProblem(403, Words(locale_of(request))("web.error.status_403"))
    return page(request, session, "error.html", status=403, problem=problem)


async def _current(api: Api, programme_id: str) -> dict[str, Any]:
    """The programme's current version as its funder reads it: through its versions, which
    the API shows to the programme's funder only (another reader: 403), budget included."""
    found = await api.get(f"{programme_path(programme_id)}/versions")
    return dict(max(found, key=lambda v: v["version"]))


async def _of_current(
    request: Request,
    session: Session | None,
    programme_id: str,
    show: Callable[[dict[str, Any]], Response],
) -> Response:
    """What `show` makes of the programme's current version (`_current`): its edit form, its
    YAML to download or to import again."""

    async def build(api: Api) -> Response:
        return show(await _current(api, programme_id))

    return await guarded(request, session, build)


def _programme_pages(
    new: str,
    edit: str,
    blank: Callable[[Request, Session], Response],
    filled: Callable[[Request, Session, str, dict[str, Any]], Response],
    send: Callable[[Request, Session, str | None], Awaitable[Response]],
) -> None:
    """The four pages of one way to write a programme's spec (the form, the YAML import): a
    new programme at `new`, a new version of one at `/programmes/{programme_id}/<edit>`, each
    shown (GET: `blank`, for funders only, or `filled` from the current version) and sent
    (POST: `send`, with no programme id for a new one)."""

    @router.get(new)
    async def show_new(request: Request, session: SessionDep) -> Response:
        if (refused := _funders_only(request, session)) is not None:
            return refused
        return blank(request, session)

    @router.post(new)
    async def send_new(request: Request, session: SessionDep) -> Response:
        return await send(request, session, None)

    @router.get(f"/programmes/{{programme_id}}/{edit}")
    async def show_version(programme_id: str, request: Request, session: SessionDep) -> Response:
        return await _of_current(
            request,
            session,
            programme_id,
            lambda spec: filled(request, session, programme_id, spec),
        )

    @router.post(f"/programmes/{{programme_id}}/{edit}")
    async def send_version(programme_id: str, request: Request, session: SessionDep) -> Response:
        return await send(request, session, programme_id)


def _blank_form(request: Request, session: Session) -> Response:
    values = {
        "currency": "EUR",
        "locale": locale_of(request),
        "amounts": "fixed",
        "phases.emergence.funded": "true",
        "phases.emergence.check_in_every.n": "1",
        "phases.emergence.check_in_every.unit": "M",
    }
    return _form_page(request, session, values, {}, None)


def _filled_form(
    request: Request, session: Session, programme_id: str, spec: dict[str, Any]
) -> Response:
    return _form_page(request, session, pf.values_of(spec), {}, programme_id)


async def _send_programme(request: Request, session: Session, programme_id: str | None) -> Response:
    """The form as a spec: created (POST) or a new version (PUT). "Add a tranche" shows the
    form again with one more row for its phase, nothing sent; a refusal shows it again with
    everything typed and each error at its input."""

    async def build(api: Api) -> Response:
        form = await posted_form(request)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        adding = text_of(form, "add")
        if adding in pf.PHASES:
            values[f"phases.{adding}.rows"] = str(pf.rows_of(values, adding) + 1)
            values[f"phases.{adding}.funded"] = "true"
            return _form_page(request, session, values, {}, programme_id)
        words = Words(locale_of(request))
        built = pf.spec_of(values, session.subject, words("web.setup.whole_number"))
        if not built.errors:
            try:
                if programme_id is None:
                    shown = await api.post("/v1/programmes", built.spec, text_of(form, "form_key"))
                else:
                    shown = await api.put(programme_path(programme_id), built.spec)
            except ApiProblem as problem:
                if problem.status == 404:
                    raise
                typed = [(built.form_path(p), m, t) for p, m, t in problem.typed]
                built.errors = form_errors(typed, pf.inputs(values), problem.detail)
            else:
                done = "programme_created" if programme_id is None else "programme_published"
                return see(f"/programmes/{quote(shown['id'])}/versions", done)
        return _form_page(request, session, values, built.errors, programme_id, status=422)

    return await guarded(request, session, build)


_programme_pages("/new/programme", "edit", _blank_form, _filled_form, _send_programme)


# -- YAML: import, export -------------------------------------------------------------------


@router.get("/programmes/{programme_id}/spec.yaml")
async def export_yaml(programme_id: str, request: Request, session: SessionDep) -> Response:
    """The current version's spec as YAML, for those who keep them in files (what the import
    and `POST /v1/programmes` take back as it is)."""

    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{programme_id}.yaml"',
    }
    return await _of_current(
        request,
        session,
        programme_id,
        lambda spec: Response(_yaml_of(spec), media_type="application/yaml", headers=headers),
    )


def _yaml_of(shown: Mapping[str, Any]) -> str:
    spec = {k: v for k, v in shown.items() if k != "version"}
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, default_flow_style=False)


def _blank_yaml(request: Request, session: Session) -> Response:
    return page(request, session, "programme_yaml.html", programme_id=None, text="", errors={})


def _filled_yaml(
    request: Request, session: Session, programme_id: str, spec: dict[str, Any]
) -> Response:
    return page(
        request,
        session,
        "programme_yaml.html",
        programme_id=programme_id,
        text=_yaml_of(spec),
        errors={},
    )


async def _import(request: Request, session: Session, programme_id: str | None) -> Response:
    """A YAML spec pasted or uploaded, sent as `application/yaml` as it was written: the API
    reads it as it reads a file sent with curl. Its errors are listed by the field's path."""

    async def build(api: Api) -> Response:
        form = await posted_form(request)
        text = await _document(form)
        errors: dict[str, str] = {}
        if not text.strip():
            errors["document"] = Words(locale_of(request))("web.form.required")
        else:
            try:
                if programme_id is None:
                    shown = await api.send(
                        "POST", "/v1/programmes", text.encode(), "application/yaml"
                    )
                else:
                    shown = await api.send(
                        "PUT", programme_path(programme_id), text.encode(), "application/yaml"
                    )
                return see(f"/programmes/{quote(shown['id'])}/versions", "programme_imported")
            except ApiProblem as problem:
                if problem.status == 404:
                    raise
                errors = {p or "_": m for p, m in problem.errors.items()} or {"_": problem.detail}
        return page(
            request,
            session,
            "programme_yaml.html",
            status=422,
            programme_id=programme_id,
            text=text,
            errors=errors,
        )

    return await guarded(request, session, build)


async def _document(form: FormData) -> str:
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(YAML_MAX + 1)
        return raw.decode("utf-8", errors="replace")
    pasted = form.get("document")
    return pasted if isinstance(pasted, str) else ""


_programme_pages("/new/programme/yaml", "yaml", _blank_yaml, _filled_yaml, _import)


# -- the budget -----------------------------------------------------------------------------


@router.get("/programmes/{programme_id}/budget")
async def budget_form(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        d = await api.read(f"{programme_path(programme_id)}/dashboard", Dashboard)
        return page(
            request, session, "budget.html", programme_id=programme_id, d=d, values={}, errors={}
        )

    return await guarded(request, session, build)


@router.post("/programmes/{programme_id}/budget")
async def raise_budget(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        form = await posted_form(request)
        amount = money_typed(text_of(form, "amount") or "")
        try:
            await api.post(
                f"{programme_path(programme_id)}/budget",
                {"amount": amount},
                text_of(form, "form_key"),
            )
        except ApiProblem as problem:
            if problem.status in (403, 404):
                raise
            d = await api.read(f"{programme_path(programme_id)}/dashboard", Dashboard)
            return page(
                request,
                session,
                "budget.html",
                status=422,
                programme_id=programme_id,
                d=d,
                values={"amount": text_of(form, "amount") or ""},
                errors=form_errors(problem.typed, {"amount"}, problem.detail),
            )
        return see(f"/programmes/{quote(programme_id)}", "budget_raised")

    return await guarded(request, session, build)


# -- a loan's repayments and write-offs -----------------------------------------------------


@router.post("/cooperations/{cooperation_id}/repayments")
async def record_repayment(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    return await _loan_action(request, session, cooperation_id, "repayments")


@router.post("/cooperations/{cooperation_id}/write-offs")
async def record_write_off(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    return await _loan_action(request, session, cooperation_id, "write-offs")


async def _loan_action(
    request: Request, session: Session, cooperation_id: str, what: str
) -> Response:
    """Rule 11: the funder records a repayment (`{line, tranche, amount, date?}`) or writes
    off what is left of a loan (`{line, tranche, reason}`); a refusal (beyond what is owed,
    a settled loan) is a page saying why, the way back on it."""

    def act_of(form: FormData) -> tuple[dict[str, Any], str]:
        body: dict[str, Any] = {"line": text_of(form, "line"), "tranche": text_of(form, "tranche")}
        if what == "repayments":
            body["amount"] = money_typed(text_of(form, "amount") or "")
            if text_of(form, "date"):
                body["date"] = text_of(form, "date")
        else:
            body["reason"] = text_of(form, "reason")
        return body, "repaid" if what == "repayments" else "written_off"

    return await act(request, session, f"/v1/cooperations/{quote(cooperation_id)}/{what}", act_of)
