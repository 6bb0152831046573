"""The funder's set-up pages: a programme created and edited from a form (a new version each
time), imported and exported as YAML, its versions and what changed between two, its budget
raised; a loan's repayments and write-offs; the funder's contacts and webhooks. Every page
reads and writes through the JSON API (the programme form posts the spec the API checks:
its errors come back at their inputs, api/web/forms.py)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from api.web import programme_form as pf
from api.web.client import Api, ApiProblem
from api.web.forms import UNITS, cadence_key, form_errors, money_typed
from api.web.pages.common import (
    SessionDep,
    back_to,
    guarded,
    posted_form,
    see,
    text_of,
)
from api.web.render import SECURITY_HEADERS, page
from api.web.session import Session, locale_of
from domain.events import EVENT_TYPES
from i18n import Formats, Words

router = APIRouter(include_in_schema=False)

YAML_MAX = 1 << 20
"""What an uploaded spec may weigh: the API's own limit for a body (413 beyond)."""


def _programme_path(programme_id: str) -> str:
    return f"/v1/programmes/{quote(programme_id)}"


def _choices(request: Request) -> dict[str, Any]:
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
        **_choices(request),
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
    found = await api.get(f"{_programme_path(programme_id)}/versions")
    return dict(max(found, key=lambda v: v["version"]))


@router.get("/new/programme")
async def new_programme(request: Request, session: SessionDep) -> Response:
    if (refused := _funders_only(request, session)) is not None:
        return refused
    values = {
        "currency": "EUR",
        "locale": locale_of(request),
        "amounts": "fixed",
        "phases.emergence.funded": "true",
        "phases.emergence.check_in_every.n": "1",
        "phases.emergence.check_in_every.unit": "M",
    }
    return _form_page(request, session, values, {}, None)


@router.post("/new/programme")
async def create_programme(request: Request, session: SessionDep) -> Response:
    return await _send_programme(request, session, None)


@router.get("/programmes/{programme_id}/edit")
async def edit_programme(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        spec = await _current(api, programme_id)
        return _form_page(request, session, pf.values_of(spec), {}, programme_id)

    return await guarded(request, session, build)


@router.post("/programmes/{programme_id}/edit")
async def publish_programme(programme_id: str, request: Request, session: SessionDep) -> Response:
    return await _send_programme(request, session, programme_id)


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
                    shown = await api.put(_programme_path(programme_id), built.spec)
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


# -- YAML: import, export -------------------------------------------------------------------


@router.get("/programmes/{programme_id}/spec.yaml")
async def export_yaml(programme_id: str, request: Request, session: SessionDep) -> Response:
    """The current version's spec as YAML, for those who keep them in files (what the import
    and `POST /v1/programmes` take back as it is)."""

    async def build(api: Api) -> Response:
        return Response(
            _yaml_of(await _current(api, programme_id)),
            media_type="application/yaml",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="{programme_id}.yaml"',
            },
        )

    return await guarded(request, session, build)


def _yaml_of(shown: Mapping[str, Any]) -> str:
    spec = {k: v for k, v in shown.items() if k != "version"}
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, default_flow_style=False)


@router.get("/new/programme/yaml")
async def import_new(request: Request, session: SessionDep) -> Response:
    if (refused := _funders_only(request, session)) is not None:
        return refused
    return page(request, session, "programme_yaml.html", programme_id=None, text="", errors={})


@router.post("/new/programme/yaml")
async def import_new_sent(request: Request, session: SessionDep) -> Response:
    return await _import(request, session, None)


@router.get("/programmes/{programme_id}/yaml")
async def import_version(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        text = _yaml_of(await _current(api, programme_id))
        return page(
            request, session, "programme_yaml.html", programme_id=programme_id, text=text, errors={}
        )

    return await guarded(request, session, build)


@router.post("/programmes/{programme_id}/yaml")
async def import_version_sent(programme_id: str, request: Request, session: SessionDep) -> Response:
    return await _import(request, session, programme_id)


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
                        "PUT", _programme_path(programme_id), text.encode(), "application/yaml"
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


# -- versions and what changed --------------------------------------------------------------


@router.get("/programmes/{programme_id}/versions")
async def versions(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        found = await api.get(f"{_programme_path(programme_id)}/versions")
        by_number = {v["version"]: v for v in found}
        numbers = sorted(by_number)
        later = _number(request.query_params.get("to"), numbers[-1] if numbers else 0)
        earlier = _number(request.query_params.get("from"), later - 1)
        diff = None
        if earlier in by_number and later in by_number and earlier != later:
            diff = _said(
                pf.changes(by_number[earlier], by_number[later]), Words(locale_of(request))
            )
        return page(
            request,
            session,
            "programme_versions.html",
            programme_id=programme_id,
            versions=[by_number[n] for n in reversed(numbers)],
            earlier=earlier,
            later=later,
            diff=diff,
            shown=_shown_value(request, found[-1]["currency"] if found else "EUR"),
            **_choices(request),
        )

    return await guarded(request, session, build)


def _shown_value(request: Request, currency: str) -> Any:
    """A spec's value as the diff says it: money in the locale's way, durations in words,
    yes or no."""
    words, fmt = Words(locale_of(request)), Formats(locale_of(request))

    def shown(change: Mapping[str, Any], value: Any) -> str:
        if isinstance(value, bool):
            return words("web.setup.yes" if value else "web.setup.no")
        if change["kind"] == "tranche":
            return _tranche_words(value, words, fmt, currency)
        if change["kind"] == "phase":
            return words(
                "web.setup.diff.phase",
                cadence=_cadence_words(words, fmt, value.get("check_in_every")),
                n=len(value.get("tranches") or []),
            )
        if change["kind"] == "money":
            return fmt.money(value, currency)
        if change["kind"] == "duration":
            return fmt.duration(str(value))
        if isinstance(value, list) and not value:
            return "—"
        return str(value)

    return shown


def _cadence_words(words: Words, fmt: Formats, iso: str | None) -> str:
    key = cadence_key(iso) if iso else None
    return words(f"web.setup.{key[0]}", n=key[1]) if key else fmt.duration(iso or "")


def _tranche_words(t: Mapping[str, Any], words: Words, fmt: Formats, currency: str) -> str:
    """A tranche in a few words: what it pays, for what, when (`8 000,00 €, animation, à
    l'entrée dans la phase`)."""
    said = []
    if t.get("amount") is not None:
        said.append(fmt.money(t["amount"], currency))
    elif t.get("share") is not None:
        said.append(words("web.setup.diff.share", share=fmt.percent(t["share"])))
    said.append(words.word("purpose", t.get("purpose")))
    when = t.get("when")
    if isinstance(when, Mapping) and "accepted_check_ins" in when:
        said.append(words("web.setup.diff.after_check_ins", n=when["accepted_check_ins"]))
    elif isinstance(when, Mapping) and "elapsed" in when:
        said.append(words("web.setup.diff.after", duration=fmt.duration(when["elapsed"])))
    else:
        said.append(words.word("web.setup.trigger", when))
    repeat = t.get("repeat")
    if repeat:
        said.append(
            words(
                "web.setup.diff.repeat",
                cadence=_cadence_words(words, fmt, repeat.get("every")),
                n=repeat.get("times"),
            )
        )
    if isinstance(t.get("instrument"), Mapping):
        said.append(words("web.setup.instrument.loan"))
    return ", ".join(said)


def _number(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default


_MONEY = {"budget", "cap_per_cooperation", "amount", "min", "max"}
_DURATIONS = {
    "check_in_every",
    "check_in_grace",
    "reminder_before",
    "report_every",
    "max_duration",
    "payment_within",
    "elapsed",
    "every",
    "grace",
    "term",
    "installment_every",
    "expected_duration",
}


def _said(found: list[tuple[str, Any, Any]], words: Words) -> list[dict[str, Any]]:
    """Each change as the page says it: where (phase, tranche, field in words) and the
    values before and after with their kind (money, duration or plain)."""
    out = []
    for path, before, after in found:
        parts = path.split(".")
        where: list[str] = []
        if parts[0] == "phases" and len(parts) > 1:
            where.append(words.word("phase", parts[1]))
            parts = parts[2:]
            if parts[:1] == ["tranches"] and len(parts) > 1:
                where.append(words("web.setup.diff.tranche", id=parts[1]))
                parts = parts[2:]
        if not parts:
            # A phase or a tranche added or dropped whole: said in a few words.
            kind = "tranche" if len(where) > 1 else "phase"
            out.append({"where": " · ".join(where), "before": before, "after": after, "kind": kind})
            continue
        field = parts[-1]
        key = f"web.setup.field.{field}"
        where.append(words(key) if words.has(key) else ".".join(parts))
        kind = "money" if field in _MONEY else "duration" if field in _DURATIONS else "plain"
        out.append({"where": " · ".join(where), "before": before, "after": after, "kind": kind})
    return out


# -- the budget -----------------------------------------------------------------------------


@router.get("/programmes/{programme_id}/budget")
async def budget_form(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        d = await api.get(f"{_programme_path(programme_id)}/dashboard")
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
                f"{_programme_path(programme_id)}/budget",
                {"amount": amount},
                text_of(form, "form_key"),
            )
        except ApiProblem as problem:
            if problem.status in (403, 404):
                raise
            d = await api.get(f"{_programme_path(programme_id)}/dashboard")
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

    async def build(api: Api) -> Response:
        form = await posted_form(request)
        body: dict[str, Any] = {"line": text_of(form, "line"), "tranche": text_of(form, "tranche")}
        if what == "repayments":
            body["amount"] = money_typed(text_of(form, "amount") or "")
            if text_of(form, "date"):
                body["date"] = text_of(form, "date")
        else:
            body["reason"] = text_of(form, "reason")
        await api.post(
            f"/v1/cooperations/{quote(cooperation_id)}/{what}", body, text_of(form, "form_key")
        )
        return see(back_to(form), "repaid" if what == "repayments" else "written_off")

    return await guarded(request, session, build)


# -- webhooks -------------------------------------------------------------------------------


def _new_secret() -> str:
    """A secret as the API takes it (`whsec_` and 32 random bytes in base64): offered on the
    form, to be kept by the receiver; the API never shows it again."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def _webhooks_page(
    request: Request,
    session: Session,
    api: Api,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    hooks = await api.get("/v1/webhooks")
    return page(
        request,
        session,
        "webhooks.html",
        status=status,
        hooks=hooks,
        event_types=EVENT_TYPES,
        values=values or {"secret": _new_secret()},
        errors=errors or {},
    )


@router.get("/webhooks")
async def webhooks(request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        return await _webhooks_page(request, session, api)

    return await guarded(request, session, build)


@router.post("/webhooks")
async def subscribe(request: Request, session: SessionDep) -> Response:
    """A subscription: its URL (public Internet only: the API checks it), the events it takes
    (all when none is ticked) and its secret."""

    async def build(api: Api) -> Response:
        form = await posted_form(request)
        chosen = [e for e in form.getlist("events") if isinstance(e, str)]
        body: dict[str, Any] = {"url": text_of(form, "url"), "secret": text_of(form, "secret")}
        if chosen:
            body["events"] = chosen
        try:
            await api.post("/v1/webhooks", body, text_of(form, "form_key"))
        except ApiProblem as problem:
            if problem.status in (403, 404):
                raise
            values: dict[str, Any] = {
                "url": text_of(form, "url"),
                "secret": text_of(form, "secret") or "",
                "events": chosen,
            }
            errors = form_errors(problem.typed, {"url", "secret", "events"}, problem.detail)
            return await _webhooks_page(request, session, api, values, errors, 422)
        return see("/webhooks", "webhook_created")

    return await guarded(request, session, build)


@router.get("/webhooks/{webhook_id}")
async def webhook(webhook_id: str, request: Request, session: SessionDep) -> Response:
    """A subscription's deliveries, each with its attempts; one failed or waiting may be sent
    again."""

    async def build(api: Api) -> Response:
        base = f"/v1/webhooks/{quote(webhook_id)}"
        hook = await api.get(base)
        after = _number(request.query_params.get("after"), 0)
        found = await api.get(f"{base}/deliveries", after=after, limit=50)
        return page(
            request,
            session,
            "webhook.html",
            hook=hook,
            deliveries=found["items"],
            next_after=found["next_after"] if len(found["items"]) == 50 else None,
        )

    return await guarded(request, session, build)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry")
async def send_again(
    webhook_id: str, delivery_id: int, request: Request, session: SessionDep
) -> Response:
    async def build(api: Api) -> Response:
        form = await posted_form(request)
        await api.post(
            f"/v1/webhooks/{quote(webhook_id)}/deliveries/{delivery_id}/retry",
            {},
            text_of(form, "form_key"),
        )
        return see(f"/webhooks/{quote(webhook_id)}", "delivery_again")

    return await guarded(request, session, build)


@router.post("/webhooks/{webhook_id}/delete")
async def unsubscribe(webhook_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        await posted_form(request)
        await api.delete(f"/v1/webhooks/{quote(webhook_id)}")
        return see("/webhooks", "webhook_deleted")

    return await guarded(request, session, build)
