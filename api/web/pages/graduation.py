"""The facilitator's pages for a cooperation's members and rule 20's graduation: members and
their legal forms, a member formalised as a legal entity, an amendment (avenant) to a line's
allocation proposed, and the end of the fiscal hosting."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api.web.client import Api
from api.web.pages.common import (
    Reader,
    SessionDep,
    given,
    guarded,
    posted_form,
    reading,
    see,
    send_form,
    show_form,
    text_of,
)
from domain.lifecycle.graduation import LEGAL_FORMS
from notify.render import Words

router = APIRouter(include_in_schema=False)


# -- members --------------------------------------------------------------------------------


@router.get("/cooperations/{cooperation_id}/members")
async def members_page(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    read = reading(cooperation_id, members="/members")
    return await show_form(request, session, "members.html", read, legal_forms=LEGAL_FORMS)


@router.post("/cooperations/{cooperation_id}/members")
async def add_member(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    return await send_form(
        request,
        session,
        template="members.html",
        read=reading(cooperation_id, members="/members"),
        endpoint=f"/v1/cooperations/{quote(cooperation_id)}/members",
        body_of=lambda form, _: (given(form, "id", "name", "legal_form"), {}),
        then=f"/cooperations/{quote(cooperation_id)}/members",
        done="member_added",
        legal_forms=LEGAL_FORMS,
    )


@router.post("/cooperations/{cooperation_id}/members/{member}/leave")
async def remove_member(
    cooperation_id: str, member: str, request: Request, session: SessionDep
) -> Response:
    async def build(api: Api) -> Response:
        await posted_form(request)
        await api.delete(f"/v1/cooperations/{quote(cooperation_id)}/members/{quote(member)}")
        return see(f"/cooperations/{quote(cooperation_id)}/members", "member_left")

    return await guarded(request, session, build)


# -- graduation (rule 20): a member's legal form --------------------------------------------

FORMS = tuple(form for form in LEGAL_FORMS if form != "informal")
"""What a member may be formalised as (rule 20): a legal entity."""


def _coop(cooperation_id: str) -> str:
    return f"/v1/cooperations/{quote(cooperation_id)}"


@router.get("/cooperations/{cooperation_id}/formalise")
async def formalise_form(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    read = reading(cooperation_id, members="/members")
    return await show_form(request, session, "graduation_formalise.html", read, forms=FORMS)


@router.post("/cooperations/{cooperation_id}/formalise")
async def formalise(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    # The member is in the endpoint's path: chosen in the form (Starlette keeps the form
    # read, so send_form reads it again for free).
    form = await request.form()
    member = text_of(form, "member") or "-"
    return await send_form(
        request,
        session,
        template="graduation_formalise.html",
        read=reading(cooperation_id, members="/members"),
        endpoint=f"{_coop(cooperation_id)}/members/{quote(member)}/formalise",
        body_of=lambda form, _: (given(form, "legal_form", "siret", "rna"), {}),
        then=f"/cooperations/{quote(cooperation_id)}/members",
        done="formalised",
        forms=FORMS,
    )


# -- graduation: an amendment (avenant), the end of hosting ---------------------------------


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


def _amend_reading(cooperation_id: str, programme: str) -> Reader:
    base = reading(cooperation_id, members="/members")

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
    return await show_form(request, session, "graduation_amend.html", read)


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
    return await send_form(
        request,
        session,
        template="graduation_amend.html",
        read=_amend_reading(cooperation_id, programme),
        endpoint=f"{_coop(cooperation_id)}/funding-lines/{quote(programme)}/amendments",
        body_of=amendment_body,
        then=f"/cooperations/{quote(cooperation_id)}",
        done="amendment_proposed",
    )


@router.post("/cooperations/{cooperation_id}/hosting/end")
async def end_hosting(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        form = await posted_form(request)
        await api.post(f"{_coop(cooperation_id)}/hosting/end", None, text_of(form, "form_key"))
        return see(f"/cooperations/{quote(cooperation_id)}", "hosting_ended")

    return await guarded(request, session, build)
