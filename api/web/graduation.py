"""Rule 20's pages: the facilitator records a member's legal form, proposes an amendment
(avenant) to a line's allocation and ends the fiscal hosting; the line's funder accepts or
declines the amendment (from its inbox or the cooperation's page). As every page, each
action is a call of the JSON API with the session's token."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api.web.client import Api
from api.web.pages import (
    SessionDep,
    _back,
    _form,
    _given,
    _guarded,
    _reading,
    _see,
    _send_form,
    _show_form,
    _text,
)
from domain.lifecycle.graduation import LEGAL_FORMS
from notify.render import Words

router = APIRouter(include_in_schema=False)

FORMS = tuple(form for form in LEGAL_FORMS if form != "informal")
"""What a member may be formalised as (rule 20): a legal entity."""


def _coop(cooperation_id: str) -> str:
    return f"/v1/cooperations/{quote(cooperation_id)}"


# -- a member's legal form ------------------------------------------------------------------


@router.get("/cooperations/{cooperation_id}/formalise")
async def formalise_form(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    read = _reading(cooperation_id, members="/members")
    return await _show_form(request, session, "graduation_formalise.html", read, forms=FORMS)


@router.post("/cooperations/{cooperation_id}/formalise")
async def formalise(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    # The member is in the endpoint's path: chosen in the form (Starlette keeps the form
    # read, so _send_form reads it again for free).
    form = await request.form()
    member = _text(form, "member") or "-"
    return await _send_form(
        request,
        session,
        template="graduation_formalise.html",
        read=_reading(cooperation_id, members="/members"),
        endpoint=f"{_coop(cooperation_id)}/members/{quote(member)}/formalise",
        body_of=lambda form, _: (_given(form, "legal_form", "siret", "rna"), {}),
        then=f"/cooperations/{quote(cooperation_id)}/members",
        done="formalised",
        forms=FORMS,
    )


# -- amendments -----------------------------------------------------------------------------


def _candidates(context: dict[str, Any]) -> list[dict[str, str]]:
    """Who a line may pay: the fiscal host, then the members that are legal entities."""
    c = context["c"]
    found = []
    if c.get("fiscal_host"):
        found.append({"payee": c["fiscal_host"], "kind": "fiscal_host", "name": ""})
    for m in context.get("members", []):
        if not m.get("informal"):
            found.append({"payee": m["id"], "kind": "member", "name": m.get("name") or ""})
    return found


def _amend_reading(cooperation_id: str, programme: str) -> Any:
    base = _reading(cooperation_id, members="/members")

    async def read(api: Api) -> dict[str, Any]:
        context = await base(api)
        context["programme"] = programme
        context["line"] = next((x for x in context["c"]["lines"] if x["line"] == programme), None)
        context["candidates"] = _candidates(context)
        return context

    return read


@router.get("/cooperations/{cooperation_id}/lines/{programme}/amendment")
async def amendment_form(
    cooperation_id: str, programme: str, request: Request, session: SessionDep
) -> Response:
    read = _amend_reading(cooperation_id, programme)
    return await _show_form(request, session, "graduation_amend.html", read)


def _percent(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ".").replace("%", "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and 0 < value <= 100 else None


def amendment_body(form: FormData, words: Words) -> tuple[dict[str, Any], dict[str, str]]:
    """The allocation typed as percentages (`share-<payee>`), as the API takes it: shares as
    decimal fractions summing to 1 (the API says when they do not)."""
    allocation = []
    for key, value in form.multi_items():
        if not key.startswith("share-") or not isinstance(value, str) or not value.strip():
            continue
        percent = _percent(value)
        if percent is None:
            return {}, {key: words("web.graduation.share_invalid")}
        share = (percent / 100).normalize()
        allocation.append({"payee": key.removeprefix("share-"), "share": format(share, "f")})
    if not allocation:
        return {}, {"_": words("web.graduation.no_share")}
    return {"allocation": allocation}, {}


@router.post("/cooperations/{cooperation_id}/lines/{programme}/amendment")
async def propose_amendment(
    cooperation_id: str, programme: str, request: Request, session: SessionDep
) -> Response:
    return await _send_form(
        request,
        session,
        template="graduation_amend.html",
        read=_amend_reading(cooperation_id, programme),
        endpoint=f"{_coop(cooperation_id)}/funding-lines/{quote(programme)}/amendments",
        body_of=amendment_body,
        then=f"/cooperations/{quote(cooperation_id)}",
        done="amendment_proposed",
    )


@router.post("/cooperations/{cooperation_id}/lines/{programme}/amendment/decision")
async def decide_amendment(
    cooperation_id: str, programme: str, request: Request, session: SessionDep
) -> Response:
    async def build(api: Api) -> Response:
        form = await _form(request)
        accept = _text(form, "accept") == "true"
        await api.post(
            f"{_coop(cooperation_id)}/funding-lines/{quote(programme)}/amendments/decision",
            {"accept": accept},
            _text(form, "form_key"),
        )
        return _see(_back(form), "amendment_accepted" if accept else "amendment_declined")

    return await _guarded(request, session, build)


# -- the end of hosting ---------------------------------------------------------------------


@router.post("/cooperations/{cooperation_id}/hosting/end")
async def end_hosting(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        form = await _form(request)
        await api.post(f"{_coop(cooperation_id)}/hosting/end", None, _text(form, "form_key"))
        return _see(f"/cooperations/{quote(cooperation_id)}", "hosting_ended")

    return await _guarded(request, session, build)
