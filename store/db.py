"""Connection pool and migrations."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from decimal import Decimal
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A connection, whether taken from a pool or opened alone.
Conn = asyncpg.Connection | PoolConnectionProxy

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
D = TypeVar("D", bound="DataclassInstance")


def rows_as(kind: type[T], rows: Iterable[asyncpg.Record]) -> list[T]:
    """Typed results from records whose columns are named as `kind`'s fields."""
    return [kind(**dict(row)) for row in rows]


def row_as(kind: type[D], row: asyncpg.Record) -> D:
    """A typed result from a row that may hold more columns than `kind` has fields (a
    `SELECT *`): the columns named as its fields; a field with a default may have none."""
    return kind(
        **{
            f.name: row[f.name]
            for f in dataclasses.fields(kind)
            if f.name in row or f.default is dataclasses.MISSING
        }
    )


async def fetch_as(conn: Conn, kind: type[T], sql: str, *args: Any) -> list[T]:
    """A query's rows as `kind`, its columns named as `kind`'s fields."""
    return rows_as(kind, await conn.fetch(sql, *args))


async def fetch_read(
    conn: Conn, read: Callable[[asyncpg.Record], T], sql: str, *args: Any
) -> list[T]:
    """A query's rows, each read by `read` (the store's row-to-model reader of that table)."""
    return [read(row) for row in await conn.fetch(sql, *args)]


@asynccontextmanager
async def subject_alone(conn: Conn, what: str, role: str, subject: str) -> AsyncIterator[None]:
    """A transaction that changes `what` of one subject (a role's) alone until it ends, so
    that two changes at once never both pass a count of it (the lock is the transaction's)."""
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2 || '/' || $3, 0))",
            what,
            role,
            subject,
        )
        yield


# Any constant works: it only keeps two processes (worker and API) from migrating at once.
_MIGRATION_LOCK = 0x636F6F70


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_dumps, decoder=json.loads, schema="pg_catalog", format="text"
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


async def _released(conn: asyncpg.Connection) -> None:
    """Nothing more to undo: asyncpg has rolled back a transaction left open."""


async def create_pool(
    url: str, *, min_size: int = 1, max_size: int = 10, reset_session: bool = True
) -> asyncpg.Pool:
    """`reset_session=False` spares each release asyncpg's reset query (advisory locks, cursors,
    LISTEN, SET: a round trip to PostgreSQL each time a connection goes back, four per API
    check-in). Only for a pool whose users leave no session state: their locks are the
    transaction's (`lock_subject`), their SETs are LOCAL, their cursors live in transactions
    and their listeners on connections of their own (notify/outbox.py); asyncpg still rolls
    back a transaction left open, and forgets listeners, on every release."""
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=None if reset_session else _released,
    )
    assert pool is not None
    return pool


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("store") / "migrations"
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return files


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; returns their names."""
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            r["name"]: r["checksum"]
            for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")
        }
        for name, sql in migration_files():
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if name in done:
                if done[name] != checksum:
                    raise RuntimeError(
                        f"migration {name} was changed after it was applied; "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                    name,
                    checksum,
                )
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied


async def ensure_database(server_url: str, name: str) -> str:
    """Create database `name` on the server if missing; return its URL."""
    conn = await asyncpg.connect(server_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"
