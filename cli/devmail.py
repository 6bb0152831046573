"""`coopflow dev`'s mailbox: an SMTP server on 127.0.0.1 that keeps what it receives in a
folder (one .eml per message) and says it in the terminal, sign-in links included, so the web
interface's e-mailed links work on one machine with no mail server. Not for production."""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import re
import sys
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class Keeper:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        number = len(list(self.folder.glob("*.eml"))) + 1
        path = self.folder / f"{number:05d}.eml"
        path.write_bytes(envelope.content)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        links = re.findall(r"https?://\S+/signin/\S+", text)
        # Flushed: the terminal is often not a terminal (a log file), and a link is wanted now.
        print(f"[mail] to {', '.join(envelope.rcpt_tos)}: {message['subject']} ({path})")
        for link in links:
            print(f"[mail]   {link}")
        sys.stdout.flush()
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    args = parser.parse_args()
    controller = Controller(Keeper(args.folder), hostname="127.0.0.1", port=args.port)
    controller.start()
    try:
        asyncio.run(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
