"""`coopflow worker` as it runs (`worker.main.run`), on the real dev server and PostgreSQL: its
health endpoint, and SIGTERM: polling stops, an activity in flight finishes within
`graceful_shutdown`, past it is cancelled and handed to another worker."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from domain import commands as c
from runtime.config import Settings
from runtime.localstack import TemporalDevServer, free_port
from tests.workflows.test_durability import start
from worker.main import build_worker, run, worker_options
from workflows.client import send
from workflows.models import CommandRequest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_options_from_the_settings() -> None:
    assert worker_options(Settings()) == {"graceful_shutdown_timeout": timedelta(seconds=30)}
    options = worker_options(Settings(graceful_shutdown=5, max_cached_workflows=200))
    assert options["graceful_shutdown_timeout"].total_seconds() == 5
    assert options["max_cached_workflows"] == 200


async def _healthy(address: str, task: asyncio.Task[None]) -> dict[str, str]:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            assert not task.done(), task.exception()
            try:
                answer = await http.get(f"http://{address}/healthz")
                if answer.status_code == 200:
                    body: dict[str, str] = answer.json()
                    return body
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the worker's /healthz never answered 200")


@asynccontextmanager
async def events_locked(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """The events table locked against writes: an apply_effects activity waits inside."""
    conn = await asyncpg.connect(database_url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
        try:
            yield conn
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def _an_activity_waits(pool: asyncpg.Pool) -> None:
    for _ in range(200):
        async with pool.acquire() as conn:
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no activity came to wait on the lock")


async def _checked_in(pool: asyncpg.Pool, coop: str) -> bool:
    async with pool.acquire() as conn:
        found = await conn.fetchval(
            "SELECT count(*) FROM events WHERE cooperation_id = $1 AND type = 'CheckInSubmitted'",
            coop,
        )
    return bool(found)


def _settings(
    temporal: TemporalDevServer, database_url: str, task_queue: str, graceful: float
) -> Settings:
    return Settings(
        temporal_address=temporal.address,
        database_url=database_url,
        task_queue=task_queue,
        health_address=f"127.0.0.1:{free_port()}",
        graceful_shutdown=graceful,
        fault_watch_every=60,
    )


async def test_sigterm_lets_the_running_activity_finish(
    temporal_dev_server: TemporalDevServer,
    temporal_client: Client,
    database_url: str,
    pool: asyncpg.Pool,
    task_queue: str,
) -> None:
    settings = _settings(temporal_dev_server, database_url, task_queue, graceful=30)
    assert settings.health_address is not None
    running = asyncio.create_task(run(settings))
    assert await _healthy(settings.health_address, running) == {
        "status": "ok",
        "temporal": "up",
        "postgres": "up",
    }
    coop, handle = await start(temporal_client, pool, task_queue)
    async with events_locked(database_url):
        await send(handle, CommandRequest(command=c.SubmitCheckIn(check_in_id="ci-1")))
        await _an_activity_waits(pool)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(1.5)
        # Draining: the worker waits for its activity rather than ending.
        assert not running.done()
    await asyncio.wait_for(running, timeout=20)
    # Carried out by this worker before it stopped: nobody else was polling.
    assert await _checked_in(pool, coop)


async def test_past_graceful_shutdown_the_activity_is_handed_back(
    temporal_dev_server: TemporalDevServer,
    temporal_client: Client,
    database_url: str,
    pool: asyncpg.Pool,
    task_queue: str,
) -> None:
    settings = _settings(temporal_dev_server, database_url, task_queue, graceful=0.5)
    assert settings.health_address is not None
    stop = asyncio.Event()
    running = asyncio.create_task(run(settings, stop=stop))
    await _healthy(settings.health_address, running)
    coop, handle = await start(temporal_client, pool, task_queue)
    async with events_locked(database_url):
        await send(handle, CommandRequest(command=c.SubmitCheckIn(check_in_id="ci-1")))
        await _an_activity_waits(pool)
        stop.set()
        # Cancelled after half a second, while the lock still holds it.
        await asyncio.wait_for(running, timeout=10)
    assert not await _checked_in(pool, coop)
    # Another worker takes it up.
    async with build_worker(temporal_client, pool, task_queue):
        for _ in range(200):
            if await _checked_in(pool, coop):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the cancelled activity was not carried out by the next worker")
