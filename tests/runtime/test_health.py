"""The worker's /healthz against the real PostgreSQL and Temporal: 200 while both answer,
503 naming PostgreSQL when it does not."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from runtime.connect import DOWN, StartupError
from runtime.localstack import free_port
from store.db import create_pool
from worker import health


async def test_healthy_when_postgres_and_temporal_answer(
    pool: asyncpg.Pool, temporal_client: Client
) -> None:
    async with (
        health.serving("127.0.0.1:0", pool, temporal_client) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        answer = await http.get("/healthz")
        elsewhere = await http.get("/metrics")
        posted = await http.post("/healthz")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.json() == {"status": "ok", "temporal": "up", "postgres": "up"}
    assert elsewhere.status_code == 404
    assert posted.status_code == 405


async def test_postgres_down_is_503_naming_it(database_url: str, temporal_client: Client) -> None:
    closed = await create_pool(database_url, max_size=1)
    await closed.close()
    async with (
        health.serving("127.0.0.1:0", closed, temporal_client) as port,
        httpx.AsyncClient() as http,
    ):
        answer = await http.get(f"http://127.0.0.1:{port}/healthz")
        # Alive all the same: a liveness probe must not restart a worker for an outage.
        alive = await http.get(f"http://127.0.0.1:{port}/livez")
    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "degraded"
    assert body["temporal"] == "up"
    assert body["postgres"].startswith("down: ")
    # Plain words, never the error's own text (DESIGN: /healthz names what is down).
    assert body["postgres"] in {f"down: {why}" for why in DOWN.values()}


async def test_postgres_unreachable_is_503_naming_it(temporal_client: Client) -> None:
    # A pool whose server went away: every connection it opens is refused.
    nowhere_port = free_port()
    nowhere = await asyncpg.create_pool(
        f"postgresql://postgres@127.0.0.1:{nowhere_port}/x", min_size=0, max_size=1
    )
    try:
        async with (
            health.serving("127.0.0.1:0", nowhere, temporal_client) as port,
            httpx.AsyncClient() as http,
        ):
            answer = await http.get(f"http://127.0.0.1:{port}/healthz")
    finally:
        await nowhere.close()
    assert answer.status_code == 503
    assert answer.json()["postgres"] == "down: unreachable"
    assert str(nowhere_port) not in answer.text
    assert answer.json()["temporal"] == "up"


async def test_an_address_in_use_is_a_startup_error(
    pool: asyncpg.Pool, temporal_client: Client
) -> None:
    async with health.serving("127.0.0.1:0", pool, temporal_client) as port:
        with pytest.raises(StartupError, match=r"^COOPFLOW_HEALTH_ADDRESS: cannot listen"):
            async with health.serving(f"127.0.0.1:{port}", pool, temporal_client):
                pass
    with pytest.raises(StartupError, match="must be host:port"):
        async with health.serving("8081", pool, temporal_client):
            pass
