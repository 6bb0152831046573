"""Bearer tokens: created once (shown once), stored hashed, revoked at once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from store.db import Conn, fetch_as, row_as

Role = Literal["funder", "facilitator", "collective"]
ROLES: tuple[Role, ...] = ("funder", "facilitator", "collective")
PREFIX = "cf_"


@dataclass(frozen=True)
class Token:
    id: str
    role: Role
    subject: str
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    opened_by: str | None = None
    """A session's: the id of the token that opened it (a session opened by an e-mailed link
    has its address's digest in `opened_by_contact` instead, never shown)."""


def token_hash(token: str) -> str:
    # Tokens are 256 random bits: a plain digest is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


# What a session keeps of the contact address whose link opened it: a digest of the address
# in lower case (PostgreSQL's lower(), as contacts' address_key), never the address itself.
_DIGEST = "encode(sha256(convert_to(lower({}), 'UTF8')), 'hex')"

_COLUMNS = "id, role, subject, created_at, revoked_at, expires_at, opened_by"


async def create_token(
    conn: Conn,
    role: Role,
    subject: str,
    token: str | None = None,
    expires_in: timedelta | None = None,
    opened_by: str | None = None,
    opened_by_address: str | None = None,
    opened_by_contact: str | None = None,
) -> tuple[Token, str]:
    """A new token for `role` and `subject`: its record, and the token itself (never stored).
    `token` is given only to re-create a known one (the local demo); `expires_in` bounds a web
    session's token, `opened_by` (a token's id) or `opened_by_address` (a contact's) says what
    opened it (or `opened_by_contact`, the digest another session keeps of one): the session
    lives no longer than that (find_token)."""
    token = token or PREFIX + secrets.token_urlsafe(32)
    row = await conn.fetchrow(
        "INSERT INTO tokens (id, role, subject, hash, expires_at, opened_by, opened_by_contact)"
        " VALUES ($1, $2, $3, $4, now() + $5::interval, $6,"
        f" coalesce($8, {_DIGEST.format('$7::text')}))"
        " ON CONFLICT (hash) DO UPDATE SET revoked_at = NULL"
        f" RETURNING {_COLUMNS}",
        "tok_" + secrets.token_hex(6),
        role,
        subject,
        token_hash(token),
        expires_in,
        opened_by,
        opened_by_address,
        opened_by_contact,
    )
    assert row is not None
    return Token(**dict(row)), token


_LIVE = "{t}.revoked_at IS NULL AND ({t}.expires_at IS NULL OR {t}.expires_at > now())"
_FOUND = ", ".join(f"t.{c.strip()}" for c in _COLUMNS.split(","))


LIVE_TOKEN = (
    f"SELECT {_FOUND} FROM tokens t LEFT JOIN tokens o ON o.id = t.opened_by"
    f" WHERE t.hash = $1 AND {_LIVE.format(t='t')}"
    f" AND (t.opened_by IS NULL OR {_LIVE.format(t='o')})"
    " AND (t.opened_by_contact IS NULL OR EXISTS (SELECT 1 FROM contact_addresses a"
    " WHERE a.role = t.role AND a.subject = t.subject"
    f" AND {_DIGEST.format('a.address_key')} = t.opened_by_contact"
    " AND a.confirmed_at <= t.created_at))"
)
"""The live token whose hash is $1 (find_token says when a token is live), its columns
named as `Token`'s fields: the one statement of it, also read with a cooperation's parties
(store.scope.token_and_involved)."""


async def find_token(conn: Conn, token: str) -> Token | None:
    """The live token a bearer presents, if any. A session is live only while what opened it
    is: its opener token (not revoked, not expired, not deleted: the foreign key cascades), or
    the contact address whose link opened it, still confirmed since before the session began
    (removed and added again is another contact)."""
    row = await conn.fetchrow(LIVE_TOKEN, token_hash(token))
    return token_of(row) if row is not None else None


def token_of(row: asyncpg.Record) -> Token:
    return row_as(Token, row)


async def contact_opening(conn: Conn, token_id: str) -> str | None:
    """The digest of the contact address whose link opened a session (None for any other
    token): a session opened by pasting that one in lives no longer than the address."""
    contact: str | None = await conn.fetchval(
        "SELECT opened_by_contact FROM tokens WHERE id = $1", token_id
    )
    return contact


async def list_tokens(conn: Conn, subject: str | None = None) -> list[Token]:
    return await fetch_as(
        conn,
        Token,
        f"SELECT {_COLUMNS} FROM tokens"
        " WHERE $1::text IS NULL OR subject = $1 ORDER BY created_at, id",
        subject,
    )


async def revoke_token(conn: Conn, token_id: str) -> bool:
    done = await conn.fetchval(
        "UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING 1",
        token_id,
    )
    return done is not None


@dataclass(frozen=True)
class Ended:
    tokens: list[Token]
    """Tokens and sessions revoked (a session has `expires_at`)."""
    links: int
    """Sign-in links and invitations that were waiting, now of no use."""


async def revoke_subject(conn: Conn, subject: str, role: Role | None = None) -> Ended:
    """Every live token and session of a subject (in every role unless `role` says which) and
    its waiting sign-in links, ended at once."""
    async with conn.transaction():
        rows = await conn.fetch(
            "UPDATE tokens SET revoked_at = now() WHERE subject = $1"
            " AND ($2::text IS NULL OR role = $2) AND revoked_at IS NULL"
            " AND (expires_at IS NULL OR expires_at > now())"
            f" RETURNING {_COLUMNS}",
            subject,
            role,
        )
        signin = await conn.fetchval(
            "WITH used AS (UPDATE signin_links SET used_at = now() WHERE subject = $1"
            " AND ($2::text IS NULL OR role = $2) AND used_at IS NULL AND expires_at > now()"
            " RETURNING 1) SELECT count(*) FROM used",
            subject,
            role,
        )
        invitations = await conn.fetchval(
            "WITH used AS (UPDATE contact_links SET used_at = now() WHERE subject = $1"
            " AND ($2::text IS NULL OR role = $2) AND kind = 'invite' AND used_at IS NULL"
            " AND expires_at > now() RETURNING 1) SELECT count(*) FROM used",
            subject,
            role,
        )
    ended = sorted((Token(**dict(r)) for r in rows), key=lambda t: (t.created_at, t.id))
    return Ended(ended, signin + invitations)


async def forget_expired_tokens(conn: Conn) -> None:
    """Sessions' tokens expired a day ago and more: nobody can present them any more."""
    await conn.execute("DELETE FROM tokens WHERE expires_at < now() - interval '1 day'")
