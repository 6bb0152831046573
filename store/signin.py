"""Sign-in links for the web interface: e-mailed to the contacts of a subject, single use,
short lived, stored hashed (a link is as good as a password until it is used)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from store.db import Conn
from store.tokens import Role, token_hash

MAX_OPEN_LINKS = 5
"""Links a subject may have waiting at once: asking again and again sends nothing more."""


@dataclass(frozen=True)
class Link:
    role: Role
    subject: str
    token: str


async def subjects_reached_at(conn: Conn, email: str) -> list[tuple[Role, str]]:
    """The (role, subject) pairs whose contacts include this address (case aside)."""
    rows = await conn.fetch(
        "SELECT role, subject FROM contacts"
        " WHERE lower($1) = ANY (SELECT lower(e) FROM unnest(emails) AS e)"
        " ORDER BY role, subject",
        email.strip(),
    )
    return [(r["role"], r["subject"]) for r in rows]


async def create_links(conn: Conn, email: str, lasting: timedelta) -> list[Link]:
    """A new link for each subject the address is a contact of, but for subjects that already
    have MAX_OPEN_LINKS waiting."""
    # Links long expired are of no use to anyone: gone, as the table would grow for ever.
    await conn.execute("DELETE FROM signin_links WHERE expires_at < now() - interval '1 day'")
    links: list[Link] = []
    for role, subject in await subjects_reached_at(conn, email):
        waiting = await conn.fetchval(
            "SELECT count(*) FROM signin_links WHERE role = $1 AND subject = $2"
            " AND used_at IS NULL AND expires_at > now()",
            role,
            subject,
        )
        if waiting >= MAX_OPEN_LINKS:
            continue
        token = secrets.token_urlsafe(32)
        await conn.execute(
            "INSERT INTO signin_links (hash, role, subject, expires_at)"
            " VALUES ($1, $2, $3, now() + $4::interval)",
            token_hash(token),
            role,
            subject,
            lasting,
        )
        links.append(Link(role, subject, token))
    return links


async def link_is_valid(conn: Conn, token: str) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM signin_links WHERE hash = $1 AND used_at IS NULL AND expires_at > now()",
        token_hash(token),
    )
    return found is not None


async def use_link(conn: Conn, token: str) -> tuple[Role, str] | None:
    """Who the link signs in, once: a second use, or a use after it expired, is None."""
    row = await conn.fetchrow(
        "UPDATE signin_links SET used_at = now()"
        " WHERE hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING role, subject",
        token_hash(token),
    )
    return (row["role"], row["subject"]) if row is not None else None
