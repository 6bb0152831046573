"""An SMTP mailbox on loopback for the tests that read what the app sends (tests/web, the
notify and security tests), and the free-port socket it and the served app listen on."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.message
import email.policy
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Mail:
    sender: str
    to: list[str]
    subject: str
    text: str
    html: str | None
    message: email.message.EmailMessage

    def links(self) -> list[str]:
        """The http(s) URLs in the text body, in order."""
        return re.findall(r"https?://[^\s<>\"')\]]+", self.text)

    def link(self, containing: str = "") -> str:
        """The first URL in the text body that contains `containing`."""
        for url in self.links():
            if containing in url:
                return url
        raise AssertionError(f"no link containing {containing!r} in:\n{self.text}")


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 in the tests' event loop, keeping every
    message: point the app at `url`, then `await mailbox.next("someone@example.org")`."""

    port: int = 0
    messages: list[Mail] = field(default_factory=list)
    _taken: set[tuple[int, str]] = field(default_factory=set)  # (message, recipient)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"smtp+insecure://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        mail = Mail(
            sender=str(envelope.mail_from),
            to=[str(rcpt) for rcpt in envelope.rcpt_tos],
            subject=str(message["subject"]),
            text=text.get_content() if text is not None else "",
            html=html.get_content() if html is not None else None,
            message=message,
        )
        async with self._arrived:
            self.messages.append(mail)
            self._arrived.notify_all()
        return "250 OK"

    async def next(self, to: str, seconds: float = 30) -> Mail:
        """The oldest message to `to` (any case) not yet taken by `next`, waiting for it."""

        address = to.lower()

        def untaken() -> int | None:
            for i, mail in enumerate(self.messages):
                if (i, address) not in self._taken and address in (r.lower() for r in mail.to):
                    return i
            return None

        async def arrival() -> int:
            async with self._arrived:
                while (i := untaken()) is None:
                    await self._arrived.wait()
                return i

        try:
            i = await asyncio.wait_for(arrival(), seconds)
        except TimeoutError:
            seen = [(m.to, m.subject) for m in self.messages]
            raise AssertionError(
                f"no e-mail to {to} within {seconds} s; the mailbox has {seen}"
            ) from None
        self._taken.add((i, address))
        return self.messages[i]


@contextlib.asynccontextmanager
async def mailbox_serving() -> AsyncIterator[Mailbox]:
    loop = asyncio.get_running_loop()
    mailbox = Mailbox()
    sock = listening_socket()
    mailbox.port = sock.getsockname()[1]
    server = await loop.create_server(
        lambda: SMTP(mailbox, hostname="mailbox.coopflow.test", loop=loop), sock=sock
    )
    try:
        yield mailbox
    finally:
        server.close()
        await server.wait_closed()


def listening_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1 (no race with another process for it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock
