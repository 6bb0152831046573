"""Real components for tests: PostgreSQL (embedded, or COOPFLOW_TEST_DATABASE_URL) and Temporal
servers started from the pip-installed binaries."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from cryptography.fernet import Fernet
from temporalio.client import Client

from runtime.config import Settings
from runtime.localstack import EmbeddedPostgres, TemporalDevServer, free_port
from runtime.temporal import SEARCH_ATTRIBUTES
from store.db import create_pool, ensure_database, migrate

# Webhook secrets are sealed with this key by every app and outbox the tests make (and the
# processes they start, which inherit it), as COOPFLOW_SECRETS_KEY does in production.
os.environ.setdefault("COOPFLOW_SECRETS_KEY", Fernet.generate_key().decode())


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server URL; tests make their own databases on it."""
    external = os.environ.get("COOPFLOW_TEST_DATABASE_URL")
    if external:
        yield external
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", free_port())
    os.environ.setdefault("COOPFLOW_PG_FAST", "1")
    try:
        yield server.start()
    finally:
        server.stop()


async def fresh_database(server_url: str) -> str:
    """A new, migrated database on the server; its URL."""
    url = await ensure_database(server_url, f"t_{uuid.uuid4().hex[:12]}")
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


@pytest_asyncio.fixture
async def database_url(postgres_server_url: str) -> str:
    """A fresh, migrated database for one test."""
    return await fresh_database(postgres_server_url)


@pytest_asyncio.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, max_size=5)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture(scope="session")
def temporal_dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    server = TemporalDevServer(
        db_file=None,
        port=free_port(),
        ui_port=None,
        search_attributes=SEARCH_ATTRIBUTES,
        log=tmp_path_factory.mktemp("temporal") / "temporal.log",
        dynamic_config={"limit.historyCount.suggestContinueAsNew": "50"},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture(scope="session")
async def temporal_client(temporal_dev_server: TemporalDevServer) -> Client:
    settings = Settings(temporal_address=temporal_dev_server.address)
    from runtime.connect import connect_temporal

    return await connect_temporal(settings, wait=30)


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return Path(__file__).resolve().parents[1].parent / "shared"
