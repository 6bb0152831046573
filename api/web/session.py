"""Who is using the web interface: a session is a bearer token of its own (store/tokens.py,
expiring), kept in an HttpOnly cookie and handed to the API on each call; forms carry a
double-submit CSRF token; the language is a cookie too (French unless chosen otherwise)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import Request, Response

from api.public import public_base
from i18n import supported_locale
from runtime.config import Settings
from store.tokens import (
    Role,
    Token,
    contact_opening,
    create_token,
    find_token,
    forget_expired_tokens,
    revoke_token,
)

SESSION_COOKIE = "coopflow_session"
CSRF_COOKIE = "coopflow_csrf"
LANG_COOKIE = "coopflow_lang"


@dataclass(frozen=True)
class Session:
    token: str
    """The session's bearer token (the cookie's value); never shown in a page."""
    record: Token

    @property
    def role(self) -> Role:
        return self.record.role

    @property
    def subject(self) -> str:
        return self.record.subject


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def current_session(request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    async with request.app.state.pool.acquire() as conn:
        record = await find_token(conn, token)
    return Session(token, record) if record is not None else None


async def open_session(
    request: Request,
    response: Response,
    role: Role,
    subject: str,
    *,
    by_token: Token | None = None,
    by_address: str | None = None,
) -> None:
    """A new session for `role` and `subject`, its token in the cookie. It lives no longer than
    what opened it: the token pasted in (`by_token`; a session pasted in counts as what opened
    it), or the contact address whose link was used (`by_address`)."""
    settings = settings_of(request)
    lasting = timedelta(hours=settings.web_session_hours)
    opened_by = by_token.opened_by or by_token.id if by_token is not None else None
    async with request.app.state.pool.acquire() as conn:
        contact = None
        if by_token is not None:
            contact = await contact_opening(conn, by_token.id)
        _, token = await create_token(
            conn,
            role,
            subject,
            expires_in=lasting,
            opened_by=opened_by,
            opened_by_address=by_address,
            opened_by_contact=contact,
        )
        await forget_expired_tokens(conn)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lasting.total_seconds()),
        httponly=True,
        secure=settings.web_secure_cookies,
        samesite="lax",
    )


async def close_session(request: Request, response: Response, session: Session | None) -> None:
    """Signed out: the token is revoked at once, so a copied cookie is worth nothing."""
    if session is not None:
        async with request.app.state.pool.acquire() as conn:
            await revoke_token(conn, session.record.id)
    response.delete_cookie(SESSION_COOKIE)


def csrf_token(request: Request) -> str:
    """The token forms carry: the CSRF cookie's value, made now if the browser has none."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


def keep_csrf_cookie(request: Request, response: Response) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            secure=settings_of(request).web_secure_cookies,
            samesite="strict",
        )


def csrf_ok(request: Request, sent: str | None) -> bool:
    """A form is ours when it sends back the cookie's token (which another site can neither
    read nor set) and, when the browser says where it comes from, comes from here."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null":
        # The public site's only: the request's own Host is whatever its sender wrote.
        public = urlsplit(public_base(settings_of(request)))
        return origin.lower() == f"{public.scheme}://{public.netloc}".lower()
    return True


def locale_of(request: Request) -> str:
    return supported_locale(request.cookies.get(LANG_COOKIE) or "fr")


def base_url(request: Request) -> str:
    """Where e-mailed links point: the public site, never the request's Host."""
    return public_base(settings_of(request))
