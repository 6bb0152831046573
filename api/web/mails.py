"""The e-mails the web interface and the API send at once, outside the outbox: a sign-in
link's, a new contact's confirmation, an invitation. Links are on the public site only."""

from __future__ import annotations

import aiosmtplib
from fastapi import Request

from api.public import public_base
from api.web.render import ENV
from api.web.session import LANG_COOKIE
from i18n import Words, supported_locale
from notify.mail import Mailer
from runtime.config import Settings
from runtime.logging import get_logger
from store.contacts import ContactLink

log = get_logger("coopflow.web")


def locale_for(request: Request) -> str:
    """The language the person chose on the web (its cookie), else the first of the request's
    Accept-Language, else French."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen:
        return supported_locale(chosen)
    first = request.headers.get("accept-language", "").split(",", 1)[0].split(";", 1)[0]
    return supported_locale(first)


async def send(settings: Settings, to: str, subject: str, text: str, html: str) -> bool:
    """Sent, or logged as not sent (why, never to whom): the caller's answer does not change,
    as it would tell who is a contact of what."""
    try:
        await Mailer(settings.smtp_url, settings.mail_from).send([to], subject, text, html)
    except (OSError, aiosmtplib.SMTPException, ValueError) as error:
        log.error("e-mail not sent", error=str(error), subject=subject)
        return False
    return True


async def send_contact_link(
    settings: Settings, link: ContactLink, locale: str, subject_name: str | None = None
) -> bool:
    """A new contact's confirmation, or an invitation: one e-mail, its link on the public site.
    `subject_name` (a cooperation's) is what the e-mail calls its subject, rather than its id."""
    words = Words(locale)
    section = "web.contact" if link.kind == "confirm" else "web.invitation"
    context = {
        "t": words,
        "section": section,
        "url": f"{public_base(settings)}/contacts/{link.token}",
        "role": words(f"web.role.{link.role}"),
        "subject": subject_name or link.subject,
        "minutes": int(settings.web_link_minutes),
    }
    return await send(
        settings,
        link.address,
        words(f"{section}.mail_subject"),
        ENV.get_template("contact_mail.txt").render(**context),
        ENV.get_template("contact_mail.html").render(lang=words.locale, **context),
    )
