"""Connecting to the stack at start, with one clear line when something is missing."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import asyncpg
from temporalio.client import Client
from temporalio.service import TLSConfig

from runtime.config import Settings
from runtime.logging import get_logger
from runtime.temporal import connect
from store.db import create_pool

log = get_logger("coopflow.health")

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider


class StartupError(RuntimeError):
    """Printed as one line by the entry points: what is down and how to fix it."""


@dataclass(frozen=True)
class TemporalSecurity:
    """How to reach a secured cluster: `Client.connect`'s `tls` and `api_key`."""

    tls: bool | TLSConfig
    api_key: str | None


def temporal_security(settings: Settings) -> TemporalSecurity:
    """The settings' TLS and API key as connection arguments, the PEM files read. A file
    that cannot be read is a StartupError naming its setting; so is half a client pair."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if (cert is None) != (key is None):
        given, missing = ("CERT", "KEY") if key is None else ("KEY", "CERT")
        raise StartupError(
            f"COOPFLOW_TEMPORAL_TLS_{given} is set without COOPFLOW_TEMPORAL_TLS_{missing}: "
            "mTLS needs the client certificate and its private key"
        )
    files = (cert, key, settings.temporal_tls_ca)
    if not any(files):
        # A Temporal Cloud API key travels only over TLS.
        return TemporalSecurity(tls=settings.temporal_tls or api_key is not None, api_key=api_key)
    return TemporalSecurity(
        tls=TLSConfig(
            client_cert=_pem(cert, "COOPFLOW_TEMPORAL_TLS_CERT"),
            client_private_key=_pem(key, "COOPFLOW_TEMPORAL_TLS_KEY"),
            server_root_ca_cert=_pem(settings.temporal_tls_ca, "COOPFLOW_TEMPORAL_TLS_CA"),
        ),
        api_key=api_key,
    )


def _pem(path: Path | None, setting: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StartupError(f"{setting}: cannot read {path} ({exc.strerror or exc})") from None


async def connect_temporal(
    settings: Settings,
    *,
    wait: float = 10.0,
    metrics_address: str | None = None,
    tracing: TracerProvider | None = None,
) -> Client:
    security = temporal_security(settings)  # a bad file is said at once, not retried
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            return await connect(
                settings,
                metrics_address=metrics_address,
                tls=security.tls,
                api_key=security.api_key,
                tracing=tracing,
            )
        except Exception as exc:  # the SDK raises RuntimeError with the gRPC reason
            if asyncio.get_running_loop().time() >= deadline:
                raise StartupError(
                    f"Temporal is unreachable at {settings.temporal_address} ({_reason(exc)}): "
                    "start the stack with `make run`, or set COOPFLOW_TEMPORAL_ADDRESS"
                ) from None
            await asyncio.sleep(0.5)


async def connect_postgres(
    settings: Settings, *, wait: float = 10.0, reset_session: bool = True, max_size: int = 10
) -> asyncpg.Pool:
    if not settings.database_url:
        raise StartupError(
            "PostgreSQL is not configured: set COOPFLOW_DATABASE_URL, "
            "or start the whole stack with `make run` (it runs an embedded PostgreSQL)"
        )
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            return await create_pool(
                settings.database_url, max_size=max_size, reset_session=reset_session
            )
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            if asyncio.get_running_loop().time() >= deadline:
                raise StartupError(
                    f"PostgreSQL is unreachable at {_safe_url(settings.database_url)} "
                    f"({_reason(exc)}): start it, or unset COOPFLOW_DATABASE_URL and use "
                    "`make run` for the embedded one"
                ) from None
            await asyncio.sleep(0.5)


async def stack_health(pool: asyncpg.Pool, client: Client) -> tuple[bool, dict[str, str]]:
    """Whether Temporal and PostgreSQL answer now: (healthy, component → "up" or "down: why",
    why being one of DOWN's plain words). Anyone may read it, so an error's own text (hosts,
    ports, users, queries) goes to the log, never into the answer. The worker's /healthz; the
    API's answers the same (api/routes/health.py)."""

    async def postgres() -> str:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
        return "up"

    async def temporal() -> str:
        ok = await client.service_client.check_health(timeout=timedelta(seconds=2))
        return "up" if ok else f"down: {DOWN['unhealthy']}"

    checks: dict[str, str] = {}
    for name, probe in (("temporal", temporal), ("postgres", postgres)):
        try:
            checks[name] = await asyncio.wait_for(probe(), timeout=3)
        except Exception as exc:  # any failure means down; the log says why in full
            why = _kind_of(exc)
            log.warning("component down", component=name, why=why, error=_reason(exc))
            checks[name] = f"down: {DOWN[why]}"
    return all(v == "up" for v in checks.values()), checks


DOWN = {
    "timeout": "no answer in time",
    "unreachable": "unreachable",
    "unhealthy": "not serving",
    "failing": "failing",
}
"""What /healthz says of a component down: these words only."""


def _kind_of(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, OSError):
        return "unreachable"
    return "failing"


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
