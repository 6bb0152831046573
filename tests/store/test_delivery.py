"""What the outbox must send is queued with the events, once each, and wakes the outbox at the
commit only when something new waits: a retried activity queues nothing twice and wakes
nobody."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from domain.events import Event
from store.db import Conn
from store.delivery import Mail, queue, queued
from store.events import append_events

pytestmark = pytest.mark.integration

Write = Callable[[Conn], Awaitable[None]]

AT = datetime(2027, 3, 1, tzinfo=UTC)
EVENT = Event(seq=1, type="CheckInSubmitted", at=AT, data={"check_in": "ci-1"})
MAIL = Mail(key="ruche:1:facilitator:", to_role="facilitator", to_subject=None, about="x", seq=1)


async def _wakes(database_url: str, pool: asyncpg.Pool, write: Write) -> int:
    """How many wake-ups the outbox's channel gets from one committed transaction."""
    listener = await asyncpg.connect(database_url)
    woken: list[object] = []
    await listener.add_listener("coopflow_outbox", lambda *args: woken.append(args))
    try:
        async with pool.acquire() as conn, conn.transaction():
            await write(conn)
        await asyncio.sleep(0.3)
    finally:
        await listener.close()
    return len(woken)


async def test_an_e_mail_is_queued_once_and_wakes_the_outbox_once(
    database_url: str, pool: asyncpg.Pool
) -> None:
    counts: list[tuple[int, int]] = []

    async def write(conn: Conn) -> None:
        counts.append(await queue(conn, "ruche", [], [MAIL, MAIL]))

    assert await _wakes(database_url, pool, write) == 1
    # The same e-mail again (a retried activity): nothing new, nobody woken.
    assert await _wakes(database_url, pool, write) == 0
    assert counts == [(0, 1), (0, 0)]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM notifications") == 1


async def test_the_e_mails_go_with_the_events_statement_and_only_new_ones_wake(
    database_url: str, pool: asyncpg.Pool
) -> None:
    async def write(conn: Conn) -> None:
        await append_events(
            conn,
            "ruche",
            [EVENT.model_dump()],
            along=[queued("ruche", [EVENT], [MAIL])],
        )

    assert await _wakes(database_url, pool, write) == 1
    assert await _wakes(database_url, pool, write) == 0
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM events") == 1
        assert await conn.fetchval("SELECT about FROM notifications") == "x"


async def test_nothing_to_send_wakes_nobody(database_url: str, pool: asyncpg.Pool) -> None:
    async def write(conn: Conn) -> None:
        # No subscription covers the event, and no e-mail goes with it.
        await append_events(
            conn, "ruche", [EVENT.model_dump()], along=[queued("ruche", [EVENT], [])]
        )

    assert await _wakes(database_url, pool, write) == 0
