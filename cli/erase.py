"""`coopflow erase --member COOPERATION/MEMBER | --cooperation ID`: personal data erased on
request (DESIGN.md, "Personal data can be erased"; store/erasure.py says what goes)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import typer

from cli.database import START_THE_STACK, reached
from runtime.config import database_url_or_local, get_settings
from runtime.connect import StartupError
from store import erasure
from store.db import create_pool


def _render(content: dict[str, Any], locale: str) -> str:
    from notify.render import render_report

    return render_report(content, locale, "markdown")


def _fail(message: str) -> typer.Exit:
    print(f"coopflow erase: {message}", file=sys.stderr)
    return typer.Exit(2)


def run(member: str | None, cooperation: str | None) -> None:
    if (member is None) == (cooperation is None):
        raise _fail("give one of --member COOPERATION/MEMBER or --cooperation ID")
    if member is not None:
        cooperation_id, slash, member_id = member.partition("/")
        if not slash or not cooperation_id or not member_id or len(member) > 201:
            raise _fail(f"--member must be COOPERATION/MEMBER, not {member!r}")
    else:
        assert cooperation is not None
        cooperation_id, member_id = cooperation, ""
        if not cooperation_id.strip() or len(cooperation_id) > 100:
            raise _fail("--cooperation must be a cooperation id (1 to 100 characters)")
    if "\x00" in cooperation_id + member_id:
        raise _fail("ids hold no NUL character")
    url = database_url_or_local(get_settings())

    async def go() -> erasure.Erased:
        try:
            pool = await reached(create_pool(url, min_size=1, max_size=1), url, START_THE_STACK)
        except StartupError as exc:
            raise _fail(str(exc)) from None
        try:
            async with pool.acquire() as conn:
                if member is not None:
                    return await erasure.erase_member(conn, cooperation_id, member_id)
                return await erasure.erase_cooperation(conn, cooperation_id, _render)
        except erasure.UnknownCooperation:
            raise _fail(f"no cooperation {cooperation_id!r}") from None
        except erasure.UnknownMember:
            raise _fail(f"no member {member_id!r} in cooperation {cooperation_id!r}") from None
        finally:
            await pool.close()

    done = asyncio.run(go())
    if member is not None:
        print(
            f"erased member {member_id} of {cooperation_id}: name and contacts"
            f" ({done.people} record(s)), its name in {done.answers} kept answer(s)"
        )
    else:
        print(
            f"erased cooperation {cooperation_id}: {done.people} member name(s),"
            f" {done.contacts} contact list(s), free texts of {done.check_ins} check-in(s),"
            f" {done.requests} request(s), {done.events} event(s), {done.reports} report(s),"
            f" {done.deliveries} webhook delivery(ies), {done.answers} kept answer(s)"
        )
