"""A subject's own contact addresses on the web (the collective's, reached from its menu; any
signed-in subject's alike): read and managed through `GET/PUT /v1/me/contacts`, so a new
address gets the API's confirmation e-mail and receives nothing until its link is used.

The échéancier prévisionnel is on the cooperation's page (templates/schedule_table.html),
from `GET /v1/cooperations/{id}/schedule`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.models import ContactAddress, ContactsShown
from api.web.client import Api, ApiProblem
from api.web.pages.common import (
    SessionDep,
    guarded,
    posted_form,
    public_host_only,
    see,
    text_of,
)
from api.web.render import page
from api.web.session import Session, locale_of
from i18n import Words
from store.contacts import MAX_ADDRESSES

router = APIRouter(include_in_schema=False)

CONTACTS = "/me/contacts"
"""Not under /contacts/, where the e-mailed links of confirmation are."""


def _mailing(request: Request, session: Session) -> Api:
    """The API as the person's request reaches it: a PUT of contacts sends a mail, which the
    API builds only for the public site, in the person's language."""
    return Api(
        request.app,
        session.token,
        forwarded={
            "host": request.headers.get("host", ""),
            "accept-language": locale_of(request),
        },
    )


def _shown(
    request: Request,
    session: Session,
    addresses: list[ContactAddress],
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        session,
        "contacts.html",
        status=status,
        addresses=addresses,
        full=len(addresses) >= MAX_ADDRESSES,
        values=values or {},
        errors=errors or {},
    )


@router.get(CONTACTS)
async def contacts_page(request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        shown = await api.read("/v1/me/contacts", ContactsShown)
        return _shown(request, session, shown.addresses)

    return await guarded(request, session, build)


@router.post(CONTACTS)
async def add_contact(request: Request, session: SessionDep) -> Response:
    """One more address, the others kept as they are (PUT replaces the whole list)."""
    public_host_only(request)
    form = await posted_form(request)
    email = text_of(form, "email")
    words = Words(locale_of(request))

    async def build(api: Api) -> Response:
        addresses = (await api.read("/v1/me/contacts", ContactsShown)).addresses
        if email is None:
            errors = {"email": words("web.contacts.required")}
        elif email.lower() in {a.email.lower() for a in addresses}:
            errors = {"email": words("web.contacts.already")}
        elif len(addresses) >= MAX_ADDRESSES:
            errors = {"email": words("web.contacts.too_many")}
        else:
            try:
                await api.put("/v1/me/contacts", {"emails": [a.email for a in addresses] + [email]})
                return see(CONTACTS, "added")
            except ApiProblem as problem:
                if problem.status != 422:
                    raise
                # Only the typed address can be wrong (the others were taken before): the
                # API's refusal, which names the list's item, said at the form's one field.
                errors = {"email": words("web.contacts.invalid")}
        return _shown(request, session, addresses, 422, {"email": email or ""}, errors)

    return await _sent(request, session, build)


@router.post(f"{CONTACTS}/remove")
async def remove_contact(request: Request, session: SessionDep) -> Response:
    """The address gone from the list; a session it opened ends at the next request."""
    public_host_only(request)
    form = await posted_form(request)
    gone = (text_of(form, "email") or "").lower()

    async def build(api: Api) -> Response:
        addresses = (await api.read("/v1/me/contacts", ContactsShown)).addresses
        kept = [a.email for a in addresses if a.email.lower() != gone]
        await api.put("/v1/me/contacts", {"emails": kept})
        return see(CONTACTS, "removed")

    return await _sent(request, session, build)


async def _sent(
    request: Request, session: Session, build: Callable[[Api], Awaitable[Response]]
) -> Response:
    """A refusal that is not about the address typed is a page of its own."""
    async with _mailing(request, session) as api:
        try:
            return await build(api)
        except ApiProblem as problem:
            return page(request, session, "error.html", status=problem.status, problem=problem)
