"""Sign-in links for the web interface: e-mailed to the confirmed contacts of a subject,
single use, short lived, stored hashed (a link is as good as a password until it is used).
A link remembers the address it went to: the session it opens lives as long as that contact
(store.tokens.find_token)."""

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
    address: str


async def subjects_reached_at(conn: Conn, email: str) -> list[tuple[Role, str, str]]:
    """The (role, subject, address as the contact keeps it) of the confirmed contacts this
    address is (case aside): mail goes to the address its owner confirmed, not as typed."""
    rows = await conn.fetch(
        "SELECT role, subject, address FROM contact_addresses"
        " WHERE address_key = lower($1) AND confirmed_at IS NOT NULL ORDER BY role, subject",
        email.strip(),
    )
    return [(r["role"], r["subject"], r["address"]) for r in rows]


async def create_links(conn: Conn, email: str, lasting: timedelta) -> list[Link]:
    """A new link for each subject the address is a contact of, but for subjects that already
    have MAX_OPEN_LINKS waiting."""
    # Links long expired are of no use to anyone: gone, as the table would grow for ever.
    await conn.execute("DELETE FROM signin_links WHERE expires_at < now() - interval '1 day'")
    links: list[Link] = []
    for role, subject, address in await subjects_reached_at(conn, email):
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
            "INSERT INTO signin_links (hash, role, subject, expires_at, address)"
            " VALUES ($1, $2, $3, now() + $4::interval, $5)",
            token_hash(token),
            role,
            subject,
            lasting,
            address,
        )
        links.append(Link(role, subject, token, address))
    return links


# Waiting, and its address still a confirmed contact of the subject (links made before
# addresses were remembered have none, and are of no use).
_LIVE = (
    "used_at IS NULL AND expires_at > now() AND EXISTS (SELECT 1 FROM contact_addresses a"
    " WHERE a.role = l.role AND a.subject = l.subject AND a.address_key = lower(l.address)"
    " AND a.confirmed_at IS NOT NULL)"
)


async def link_is_valid(conn: Conn, token: str) -> bool:
    found = await conn.fetchval(
        f"SELECT 1 FROM signin_links l WHERE hash = $1 AND {_LIVE}", token_hash(token)
    )
    return found is not None


async def use_link(conn: Conn, token: str) -> Link | None:
    """Who the link signs in, once: a second use, a use after it expired or after its address
    left the subject's contacts, is None."""
    row = await conn.fetchrow(
        f"UPDATE signin_links l SET used_at = now() WHERE hash = $1 AND {_LIVE}"
        " RETURNING role, subject, address",
        token_hash(token),
    )
    if row is None:
        return None
    return Link(row["role"], row["subject"], token, row["address"])
