"""Bearer tokens: created once (shown once), stored hashed, revoked at once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from store.db import Conn

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


def token_hash(token: str) -> str:
    # Tokens are 256 random bits: a plain digest is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


_COLUMNS = "id, role, subject, created_at, revoked_at, expires_at"


async def create_token(
    conn: Conn,
    role: Role,
    subject: str,
    token: str | None = None,
    expires_in: timedelta | None = None,
) -> tuple[Token, str]:
    """A new token for `role` and `subject`: its record, and the token itself (never stored).
    `token` is given only to re-create a known one (the local demo); `expires_in` bounds a web
    session's token."""
    token = token or PREFIX + secrets.token_urlsafe(32)
    row = await conn.fetchrow(
        "INSERT INTO tokens (id, role, subject, hash, expires_at)"
        " VALUES ($1, $2, $3, $4, now() + $5::interval)"
        " ON CONFLICT (hash) DO UPDATE SET revoked_at = NULL"
        f" RETURNING {_COLUMNS}",
        "tok_" + secrets.token_hex(6),
        role,
        subject,
        token_hash(token),
        expires_in,
    )
    assert row is not None
    return Token(**dict(row)), token


async def find_token(conn: Conn, token: str) -> Token | None:
    """The live token a bearer presents, if any."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM tokens"
        " WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
        token_hash(token),
    )
    return Token(**dict(row)) if row is not None else None


async def list_tokens(conn: Conn, subject: str | None = None) -> list[Token]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM tokens"
        " WHERE $1::text IS NULL OR subject = $1 ORDER BY created_at, id",
        subject,
    )
    return [Token(**dict(r)) for r in rows]


async def revoke_token(conn: Conn, token_id: str) -> bool:
    done = await conn.fetchval(
        "UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING 1",
        token_id,
    )
    return done is not None


async def forget_expired_tokens(conn: Conn) -> None:
    """Sessions' tokens expired a day ago and more: nobody can present them any more."""
    await conn.execute("DELETE FROM tokens WHERE expires_at < now() - interval '1 day'")
