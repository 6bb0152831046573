"""`coopflow token create|list|revoke`: bearer tokens for the API, stored hashed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from cli.database import START_THE_STACK, connected
from runtime.config import database_url_or_local, get_settings
from runtime.connect import StartupError
from store import tokens
from store.db import Conn

app = typer.Typer(no_args_is_help=True, help="Bearer tokens of the API (stored hashed).")

T = TypeVar("T")


def _run(work: Callable[[Conn], Awaitable[T]]) -> T:
    url = database_url_or_local(get_settings())

    async def go() -> T:
        async with connected(url, START_THE_STACK) as conn:
            return await work(conn)

    try:
        return asyncio.run(go())
    except StartupError as exc:
        print(f"coopflow token: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None


@app.command()
def create(
    role: str = typer.Option(..., help="funder, facilitator or collective"),
    subject: str = typer.Option(
        ..., help="the funder id, facilitator id (or fiscal host's), or cooperation id"
    ),
) -> None:
    """Create a token and print it alone (it is not shown again)."""
    if role not in tokens.ROLES:
        print(f"coopflow token: --role must be one of {', '.join(tokens.ROLES)}", file=sys.stderr)
        raise typer.Exit(2)
    if not subject.strip() or len(subject) > 100:
        print("coopflow token: --subject must be an id (1 to 100 characters)", file=sys.stderr)
        raise typer.Exit(2)
    _, token = _run(lambda conn: tokens.create_token(conn, role, subject))
    print(token)


@app.command("list")
def list_(subject: str | None = typer.Option(None, help="only this subject's")) -> None:
    """Each token's id, role, subject and creation date (never the token)."""
    for t in _run(lambda conn: tokens.list_tokens(conn, subject)):
        revoked = f"  revoked {t.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if t.revoked_at else ""
        print(f"{t.id}\t{t.role}\t{t.subject}\t{t.created_at:%Y-%m-%dT%H:%M:%SZ}{revoked}")


@app.command()
def revoke(
    token_id: str | None = typer.Argument(None, help="the token's id (from `list`)"),
    subject: str | None = typer.Option(
        None, help="end every token and web session of this subject, and its waiting links"
    ),
    role: str | None = typer.Option(None, help="with --subject: this role only (else all)"),
) -> None:
    """End a token at once, or (--subject) everything that lets a subject in: its tokens, the
    web sessions they or its contacts' links opened, its sign-in links and invitations."""
    if (token_id is None) == (subject is None):
        print("coopflow token revoke: give a TOKEN_ID or --subject ID", file=sys.stderr)
        raise typer.Exit(2)
    if role is not None and (subject is None or role not in tokens.ROLES):
        print(
            f"coopflow token revoke: --role goes with --subject, one of {', '.join(tokens.ROLES)}",
            file=sys.stderr,
        )
        raise typer.Exit(2)
    if subject is not None:
        chosen: tokens.Role | None = role
        ended = _run(lambda conn: tokens.revoke_subject(conn, subject, chosen))
        for t in ended.tokens:
            kind = "session" if t.expires_at is not None else "token"
            print(f"revoked {kind} {t.id}\t{t.role}\t{t.subject}")
        print(
            f"ended {len(ended.tokens)} token(s) and session(s), {ended.links} waiting link(s)"
            f" of {subject}"
        )
        return
    assert token_id is not None
    if not _run(lambda conn: tokens.revoke_token(conn, token_id)):
        print(f"coopflow token: no live token {token_id!r}", file=sys.stderr)
        raise typer.Exit(2)
    print(f"revoked {token_id}")
