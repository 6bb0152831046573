"""A subject's contacts: one row per address, confirmed by its owner through an e-mailed
link before it receives anything (a notification, a sign-in link). Links that confirm an
address, or confirm it and sign its subject in (an invitation), are single use, short lived
and stored hashed, like sign-in links."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from store.db import Conn, subject_alone
from store.tokens import Role, token_hash

LinkKind = Literal["confirm", "invite"]

MAX_WAITING_LINKS = 20
MAX_ADDRESSES = 20
"""Contacts a subject may keep (PUT /v1/me/contacts takes at most this many; invitations
add none past it)."""
"""Confirmation links a subject may have waiting at once (as many as it may have contacts):
putting addresses again and again sends nothing more."""


@dataclass(frozen=True)
class Address:
    email: str
    confirmed: bool


@dataclass(frozen=True)
class ContactLink:
    kind: LinkKind
    role: Role
    subject: str
    address: str
    token: str


async def addresses_of(conn: Conn, role: str, subject: str) -> list[Address]:
    rows = await conn.fetch(
        "SELECT address, confirmed_at IS NOT NULL AS confirmed FROM contact_addresses"
        " WHERE role = $1 AND subject = $2 ORDER BY position, added_at, address_key",
        role,
        subject,
    )
    return [Address(r["address"], r["confirmed"]) for r in rows]


async def confirmed_addresses(conn: Conn, role: str, subject: str) -> list[str]:
    return [a.email for a in await addresses_of(conn, role, subject) if a.confirmed]


async def replace_addresses(
    conn: Conn, role: Role, subject: str, emails: list[str], lasting: timedelta
) -> list[ContactLink]:
    """The subject's contacts become `emails` (in this order): the addresses it had keep their
    state, the others are gone (their sessions end: store.tokens.find_token), and each new one
    is unconfirmed with a confirmation link, returned for the caller to e-mail (once)."""
    async with subject_alone(conn, "contacts", role, subject):
        # In lower case as PostgreSQL says it (address_key), not as Python would.
        keys = "(SELECT lower(e) FROM unnest($3::text[]) AS e)"
        await conn.execute(
            "DELETE FROM contact_addresses WHERE role = $1 AND subject = $2"
            f" AND address_key NOT IN {keys}",
            role,
            subject,
            emails,
        )
        # Links to addresses no longer there are of no use to anyone.
        await conn.execute(
            "DELETE FROM contact_links WHERE role = $1 AND subject = $2"
            f" AND lower(address) NOT IN {keys}",
            role,
            subject,
            emails,
        )
        await conn.execute(
            "DELETE FROM signin_links WHERE role = $1 AND subject = $2 AND used_at IS NULL"
            f" AND lower(address) NOT IN {keys}",
            role,
            subject,
            emails,
        )
        links = []
        for position, email in enumerate(emails):
            added = await conn.fetchval(
                "INSERT INTO contact_addresses (role, subject, address, position)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (role, subject, address_key)"
                " DO UPDATE SET position = EXCLUDED.position RETURNING xmax = 0",
                role,
                subject,
                email,
                position,
            )
            if added:
                link = await _new_link(conn, "confirm", role, subject, email, lasting)
                if link is not None:
                    links.append(link)
        return links


async def add_confirmed(conn: Conn, role: Role, subject: str, emails: list[str]) -> None:
    """Addresses taken as confirmed, others kept: the local demo's, whose owner is the
    operator who started it."""
    for email in emails:
        await conn.execute(
            "INSERT INTO contact_addresses (role, subject, address, confirmed_at)"
            " VALUES ($1, $2, $3, now()) ON CONFLICT (role, subject, address_key)"
            " DO UPDATE SET confirmed_at = coalesce(contact_addresses.confirmed_at, now())",
            role,
            subject,
            email,
        )


async def invite(
    conn: Conn, role: Role, subject: str, email: str, lasting: timedelta
) -> ContactLink | None:
    """The address added to the subject's contacts (unconfirmed unless it was already) and an
    invitation link to it; None, with nothing added, when too many links wait already or the
    subject keeps as many addresses as it may."""
    async with subject_alone(conn, "contacts", role, subject):
        counted = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE address_key = lower($3)) AS known, count(*) AS kept"
            " FROM contact_addresses WHERE role = $1 AND subject = $2",
            role,
            subject,
            email,
        )
        assert counted is not None
        if not counted["known"] and counted["kept"] >= MAX_ADDRESSES:
            return None
        link = await _new_link(conn, "invite", role, subject, email, lasting)
        if link is not None:
            await conn.execute(
                "INSERT INTO contact_addresses (role, subject, address, position)"
                " VALUES ($1, $2, $3, (SELECT coalesce(max(position) + 1, 0)"
                " FROM contact_addresses WHERE role = $1 AND subject = $2))"
                " ON CONFLICT DO NOTHING",
                role,
                subject,
                email,
            )
        return link


async def _new_link(
    conn: Conn, kind: LinkKind, role: Role, subject: str, email: str, lasting: timedelta
) -> ContactLink | None:
    await conn.execute("DELETE FROM contact_links WHERE expires_at < now() - interval '1 day'")
    waiting = await conn.fetchval(
        "SELECT count(*) FROM contact_links WHERE role = $1 AND subject = $2"
        " AND used_at IS NULL AND expires_at > now()",
        role,
        subject,
    )
    if waiting >= MAX_WAITING_LINKS:
        return None
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO contact_links (hash, kind, role, subject, address, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, now() + $6::interval)",
        token_hash(token),
        kind,
        role,
        subject,
        email,
        lasting,
    )
    return ContactLink(kind, role, subject, email, token)


_LIVE = (
    "used_at IS NULL AND expires_at > now() AND EXISTS (SELECT 1 FROM contact_addresses a"
    " WHERE a.role = l.role AND a.subject = l.subject AND a.address_key = lower(l.address))"
)


async def link_kind(conn: Conn, token: str) -> LinkKind | None:
    """What a link waiting to be used does; None if it is used, expired or its address gone."""
    kind: LinkKind | None = await conn.fetchval(
        f"SELECT kind FROM contact_links l WHERE hash = $1 AND {_LIVE}", token_hash(token)
    )
    return kind


async def use_link(conn: Conn, token: str) -> ContactLink | None:
    """The address confirmed, once: what the link was (an invitation signs its subject in)."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"UPDATE contact_links l SET used_at = now() WHERE hash = $1 AND {_LIVE}"
            " RETURNING kind, role, subject, address",
            token_hash(token),
        )
        if row is None:
            return None
        await conn.execute(
            "UPDATE contact_addresses SET confirmed_at = now() WHERE role = $1 AND subject = $2"
            " AND address_key = lower($3) AND confirmed_at IS NULL",
            row["role"],
            row["subject"],
            row["address"],
        )
    return ContactLink(row["kind"], row["role"], row["subject"], row["address"], token)
