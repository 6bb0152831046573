"""Pages: Jinja templates (autoescaped) with the words and formats the reports and e-mails
use (`i18n`), and the headers every page gets."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.guard import PAGE_HEADERS
from api.web.session import Session, csrf_token, keep_csrf_cookie, locale_of
from i18n import Formats, Words, environment, event_args, event_label, event_text

ENV = environment("api.web", escape_strings=True)

# The pages' policy is the guard's, for every HTML answer (api/guard.py); a page is never
# kept by a cache.
SECURITY_HEADERS = {**PAGE_HEADERS, "Cache-Control": "no-store"}


def timeline_text(
    event: dict[str, Any],
    fmt: Formats,
    words: Words,
    programmes: Mapping[str, str] | None = None,
) -> tuple[str, list[str]]:
    """An event told in a cooperation's story, its lines by their programmes' names
    (`programmes`, by id). The e-mails' sentences speak to the one told ("it awaits your
    decision"); where the catalog has a plainer one for everyone (`web.timeline.<type>`),
    the story says that instead."""
    kind, data = event["type"], event.get("data") or {}
    sentence, details = event_text(kind, event["at"], data, fmt, words, programmes)
    plain = f"web.timeline.{kind}"
    if words.has(plain):
        # Data withheld from this reader lacks a part: the e-mail's sentence fell back already.
        with contextlib.suppress(KeyError, IndexError):
            sentence = words(plain, **event_args(data, fmt, words, programmes))
    return sentence, details


def nav(session: Session | None, words: Words) -> list[tuple[str, str]]:
    """The role's places: (href, label)."""
    if session is None:
        return []
    if session.role == "collective":
        return [
            (f"/cooperations/{session.subject}", words("web.nav.my_cooperation")),
            (f"/cooperations/{session.subject}/check-in", words("web.nav.check_in")),
            (f"/cooperations/{session.subject}/request", words("web.nav.request")),
            ("/me/contacts", words("web.contacts.nav")),
        ]
    if session.role == "facilitator":
        return [
            ("/", words("web.nav.cooperations")),
            ("/review-queue", words("web.nav.review_queue")),
            ("/funds", words("web.nav.funds")),
            ("/me/contacts", words("web.contacts.nav")),
        ]
    return [
        ("/", words("web.nav.programmes")),
        ("/webhooks", words("web.setup.hooks.title")),
        ("/me/contacts", words("web.contacts.nav")),
    ]


def page(
    request: Request,
    session: Session | None,
    template: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    locale = locale_of(request)
    words = Words(locale)
    fmt = Formats(locale)
    names: Mapping[str, str] = context.pop("programme_names", None) or {}
    html = ENV.get_template(template).render(
        t=words,
        fmt=fmt,
        lang=locale,
        session=session,
        nav=nav(session, words),
        path=request.url.path,
        csrf=csrf_token(request),
        # A form's Idempotency-Key: the same form sent twice acts once.
        form_key=uuid.uuid4().hex,
        # What the last form did (`?done=check_in` after a redirect), said once on top.
        done=request.query_params.get("done"),
        event_text=lambda e: timeline_text(e, fmt, words, names),
        # A funding line by its programme's name where the page read it; its id otherwise.
        line_name=lambda line: names.get(line) or line,
        event_label=lambda kind: event_label(kind, words),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    keep_csrf_cookie(request, response)
    return response
