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
    BodyOf,
    CooperationForm,
    Reader,
    SessionDep,
    act,
    given,
    guarded,
    only,
    posted_form,
    reading,
    see,
    text_of,
)
from domain.lifecycle.graduation import LEGAL_FORMS
from i18n import Words

router = APIRouter(include_in_schema=False)


# -- members --------------------------------------------------------------------------------


def _members_form(
    template: str, endpoint: str, body_of: BodyOf, done: str, **more: Any
) -> CooperationForm:
    """A form about the members: shown with them, and back to their page once sent."""
    members = "/cooperations/{cooperation_id}/members"
    return CooperationForm(
        template, endpoint, body_of, done, then=members, reads={"members": "/members"}, **more
    )


def _new_member(form: FormData, _: Words) -> tuple[dict[str, Any], dict[str, str]]:
    return given(form, "id", "name", "legal_form"), {}


MEMBERS = _members_form(
    "members.html", "/members", _new_member, "member_added", choices={"legal_forms": LEGAL_FORMS}
)
MEMBERS.serve(router, "/cooperations/{cooperation_id}/members")


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


FORMALISE = _members_form(
    "graduation_formalise.html",
    "/members/{member}/formalise",
    lambda form, _: (given(form, "legal_form", "siret", "rna"), {}),
    "formalised",
    choices={"forms": FORMS},
    # The member is in the endpoint's path: chosen in the form.
    names=lambda form: {"member": text_of(form, "member") or "-"},
)
FORMALISE.serve(router, "/cooperations/{cooperation_id}/formalise")


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


AMENDMENT = CooperationForm(
    "graduation_amend.html",
    "/funding-lines/{programme}/amendments",
    amendment_body,
    "amendment_proposed",
    reader=lambda names: _amend_reading(names["cooperation_id"], names["programme"]),
)
AMENDMENT.serve(router, "/cooperations/{cooperation_id}/lines/{programme}/amendment")


@router.post("/cooperations/{cooperation_id}/hosting/end")
async def end_hosting(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    endpoint, then = (
        f"{_coop(cooperation_id)}/hosting/end",
        f"/cooperations/{quote(cooperation_id)}",
    )
    return await act(request, session, endpoint, only("hosting_ended"), then)
