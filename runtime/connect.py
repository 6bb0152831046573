"""Connecting to the stack at start, with one clear line when something is missing."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import NoReturn

import asyncpg
from temporalio.client import Client

from runtime.config import Settings
from runtime.temporal import connect
from store.db import create_pool


class StartupError(RuntimeError):
    """Printed as one line by the entry points: what is down and how to fix it."""


async def connect_temporal(
    settings: Settings, *, wait: float = 10.0, metrics_address: str | None = None
) -> Client:
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            return await connect(settings, metrics_address=metrics_address)
        except Exception as exc:  # the SDK raises RuntimeError with the gRPC reason
            if asyncio.get_running_loop().time() >= deadline:
                raise StartupError(
                    f"Temporal is unreachable at {settings.temporal_address} ({_reason(exc)}): "
                    "start the stack with `make run`, or set COOPFLOW_TEMPORAL_ADDRESS"
                ) from None
            await asyncio.sleep(0.5)


async def connect_postgres(settings: Settings, *, wait: float = 10.0) -> asyncpg.Pool:
    if not settings.database_url:
        raise StartupError(
            "PostgreSQL is not configured: set COOPFLOW_DATABASE_URL, "
            "or start the whole stack with `make run` (it runs an embedded PostgreSQL)"
        )
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            return await create_pool(settings.database_url)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            if asyncio.get_running_loop().time() >= deadline:
                raise StartupError(
                    f"PostgreSQL is unreachable at {_safe_url(settings.database_url)} "
                    f"({_reason(exc)}): start it, or unset COOPFLOW_DATABASE_URL and use "
                    "`make run` for the embedded one"
                ) from None
            await asyncio.sleep(0.5)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _safe_url(url: str) -> str:
    # Never print a password.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


def exit_on_startup_error(program: str, error: StartupError) -> NoReturn:
    """Print one line and leave at once: skipping interpreter teardown avoids a native crash
    seen in the Temporal SDK's runtime when it was never connected."""
    print(f"{program}: {error}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(2)
