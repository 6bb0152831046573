"""The database as the commands reach it: unreachable, one line that names the host (never the
password) and what to do, the same from every command."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar

import asyncpg

from runtime.connect import StartupError

T = TypeVar("T")

START_THE_STACK = ": start the stack (make run) or set COOPFLOW_DATABASE_URL"
"""What to do when the stack's database is unreachable (`hint`)."""


async def reached(connecting: Awaitable[T], url: str, hint: str = "") -> T:
    """What `connecting` gives (a connection, a pool); else a StartupError saying where the
    database was looked for, why it did not answer, and `hint`."""
    try:
        return await connecting
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise StartupError(
            f"PostgreSQL is unreachable at {url.split('@')[-1]} ({exc}){hint}"
        ) from None


@asynccontextmanager
async def connected(url: str, hint: str = "") -> AsyncIterator[asyncpg.Connection]:
    """One connection to `url` for the time of a command, closed after."""
    conn = await reached(asyncpg.connect(url, timeout=10), url, hint)
    try:
        yield conn
    finally:
        await conn.close()
