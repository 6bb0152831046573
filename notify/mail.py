"""E-mail over SMTP, configured by URL: `smtp://[user:password@]host[:port]` (STARTTLS
required: a server that does not offer it gets nothing, neither password nor message),
`smtps://…` (TLS from the start), or `smtp+insecure://…` (clear text, said so: a mailbox on
the same machine). None configured: an e-mail is logged, not sent."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from runtime.logging import get_logger

log = get_logger("coopflow.mail")


_TLS = {
    # scheme: (implicit TLS, STARTTLS required); never aiosmtplib's "STARTTLS if offered",
    # which a man in the middle turns into clear text by hiding the offer.
    "smtp": (False, True),
    "smtps": (True, False),
    "smtp+insecure": (False, False),
}


@dataclass(frozen=True)
class Mailer:
    url: str | None
    sender: str
    # The longest a send may take, from connecting to the server's last answer: the outbox
    # starts one only while its lease covers that much (aiosmtplib's own timeout is per
    # command, so a server answering each one slowly would hold a send for minutes).
    timeout: float = 30.0

    async def send(self, to: list[str], subject: str, text: str, html: str) -> bool:
        """True when handed to the SMTP server; False when only logged (no server set).
        TimeoutError past `timeout`, the connection then dropped: a server that took the
        message without saying so before then may get it again with the next try."""
        if not self.url:
            # Addresses are personal data: counted in logs, never written there.
            log.info(
                "e-mail not sent: no SMTP server configured", recipients=len(to), subject=subject
            )
            return False
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        parts = urlsplit(self.url)
        if parts.scheme not in _TLS:
            raise ValueError(
                f"COOPFLOW_SMTP_URL: scheme {parts.scheme!r} is none of {', '.join(_TLS)}"
            )
        implicit, starttls = _TLS[parts.scheme]
        client = aiosmtplib.SMTP(
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit,
            start_tls=starttls,
            timeout=self.timeout,
        )
        ends = asyncio.get_running_loop().time() + self.timeout
        try:
            try:
                async with asyncio.timeout_at(ends):
                    await client.connect()
                    await client.send_message(message)
            except TimeoutError:
                raise TimeoutError(
                    f"no answer from the SMTP server within {self.timeout:g} s"
                ) from None
            # Handed over: how the goodbye goes changes nothing of that.
            with contextlib.suppress(Exception):
                async with asyncio.timeout_at(ends):
                    await client.quit()
        finally:
            client.close()
        return True
