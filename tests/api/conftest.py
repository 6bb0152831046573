"""The API on the real stack: PostgreSQL, the Temporal dev server, a worker, and the app in
process (ASGI), with a token per role and subject made as `coopflow token create` does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.client import Client

from api.app import create_app
from examples import sample_phase, sample_programme, sample_tranche
from runtime.config import Settings
from store.db import create_pool
from store.tokens import create_token
from tests.conftest import fresh_database
from worker.main import build_worker

Auth = Callable[[str, str], Awaitable[dict[str, str]]]


@asynccontextmanager
async def served(
    pool: asyncpg.Pool, client: Client, task_queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process with a worker on its task queue, and an HTTP client to it. Webhooks
    may go to loopback here (tests' receivers: tests/notify), as the operator's
    COOPFLOW_WEBHOOK_ALLOW_NETWORKS allows; tests/security checks what the default refuses."""
    settings = Settings(
        task_queue=task_queue, public_url="http://t", webhook_allow_networks="127.0.0.0/8"
    )
    app = create_app(settings, pool=pool, client=client)
    async with (
        build_worker(client, pool, task_queue),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        yield http


def tokens(pool: asyncpg.Pool) -> Auth:
    """`await auth(role, subject)`: the headers of a new token for them (one per pair)."""
    made: dict[tuple[str, str], dict[str, str]] = {}

    async def headers(role: str, subject: str) -> dict[str, str]:
        if (role, subject) not in made:
            async with pool.acquire() as conn:
                _, token = await create_token(conn, role, subject)  # type: ignore[arg-type]
            made[role, subject] = {"Authorization": f"Bearer {token}"}
        return made[role, subject]

    return headers


@pytest_asyncio.fixture
async def http(
    pool: asyncpg.Pool, temporal_client: Client, task_queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with served(pool, temporal_client, task_queue) as client:
        yield client


@pytest_asyncio.fixture
async def auth(pool: asyncpg.Pool) -> Auth:
    return tokens(pool)


# The same, once per module: a test file that shares one world builds it once (the world's
# workflows and rows are set up in a few seconds, then read by many tests).


@pytest_asyncio.fixture(scope="module")
async def module_database_url(postgres_server_url: str) -> str:
    return await fresh_database(postgres_server_url)


@pytest_asyncio.fixture(scope="module")
async def module_pool(module_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(module_database_url, max_size=5)
    try:
        yield p
    finally:
        await p.close()


@pytest_asyncio.fixture(scope="module")
async def module_http(
    module_pool: asyncpg.Pool, temporal_client: Client
) -> AsyncIterator[httpx.AsyncClient]:
    async with served(module_pool, temporal_client, f"tq-{uuid.uuid4().hex[:8]}") as client:
        yield client


@pytest_asyncio.fixture(scope="module")
async def module_auth(module_pool: asyncpg.Pool) -> Auth:
    return tokens(module_pool)


def programme(pid: str, funder: str, **changes: Any) -> dict[str, Any]:
    """The sample programme made shorter for tests: checked in monthly with no grace, no
    reminder and no limit in emergence, its second tranche after one accepted check-in, a
    tranche on the funder's approval, one tranche in experimentation."""
    return (
        sample_programme(
            drop={"requires_lead"},
            id=pid,
            name=f"Programme {pid}",
            funder=funder,
            phases={
                "emergence": sample_phase(
                    "emergence",
                    drop={"check_in_grace", "reminder_before", "max_duration"},
                    tranches=[
                        sample_tranche("amorcage"),
                        sample_tranche("emergence-2", when={"accepted_check_ins": 1}),
                        {
                            "id": "feu-vert",
                            "amount": "1000.00",
                            "purpose": "operating",
                            "when": "approval",
                        },
                    ],
                ),
                "experimentation": sample_phase(
                    "experimentation", tranches=[sample_tranche("experimentation-1")]
                ),
            },
        )
        | changes
    )


def cooperation(coop_id: str, lines: list[Any], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": coop_id,
        "name": "Ressourcerie du Bourg",
        "kind": "non_modelled",
        "economic_model": "hybrid",
        "members": [
            {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
            {"id": "repair-cafe", "name": "Repair café", "legal_form": "informal"},
        ],
        "fiscal_host": "pole-107",
        "funding_lines": lines,
    }
    body.update(changes)
    return body
