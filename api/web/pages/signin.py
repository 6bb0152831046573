"""The way in, for everyone: the home page (each role sent to its own start), signing in by
an e-mailed link or an operator's token, a contact's or an invitation's link, signing out,
the language, and the accessibility statement."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.web import mails
from api.web.client import Api
from api.web.pages.common import (
    back_to,
    guarded,
    ours,
    posted_form,
    public_host_only,
    see,
    text_of,
)
from api.web.pages.facilitator import facilitator_home
from api.web.pages.funder import funder_home
from api.web.render import ENV, SECURITY_HEADERS, page
from api.web.session import (
    LANG_COOKIE,
    base_url,
    close_session,
    current_session,
    locale_of,
    open_session,
    settings_of,
)
from i18n import LOCALES, Words
from store import contacts
from store.signin import create_links, link_is_valid, use_link
from store.tokens import find_token

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    if session.role == "collective":
        return RedirectResponse(f"/cooperations/{quote(session.subject)}", status_code=303)

    async def build(api: Api) -> Response:
        if session.role == "facilitator":
            return await facilitator_home(request, session, api)
        return await funder_home(request, session, api)

    return await guarded(request, session, build)


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
    return ours(request.query_params.get("next"))


@router.post("/signin")
async def signin_by_email(request: Request) -> Response:
    """A link to each subject the address is a confirmed contact of. The answer is the same
    whether the address is known or not: the page tells nobody who is a contact of what."""
    public_host_only(request)
    form = await posted_form(request)
    email = text_of(form, "email") or ""
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
    form = await posted_form(request)
    token = text_of(form, "token") or ""
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
    response = see(back_to(form))
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
    await posted_form(request)
    async with request.app.state.pool.acquire() as conn:
        used = await use_link(conn, link) if len(link) < 100 else None
    if used is None:
        return page(request, None, "signin_link.html", status=410, valid=False)
    response = see("/")
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
    await posted_form(request)
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
        response = see("/")
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
    await posted_form(request)
    response = see("/signin", "signed_out")
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
