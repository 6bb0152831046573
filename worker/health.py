"""The worker's health endpoint (`COOPFLOW_HEALTH_ADDRESS`): `GET /healthz` answers 200 when
PostgreSQL and Temporal answer, 503 naming the one that does not, as the API's /healthz does
(readiness); `GET /livez` answers 200 while the process serves (liveness).
A worker has no HTTP server of its own, and a probe needs only this: a few lines of asyncio
rather than a web framework in every worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from temporalio.client import Client

from runtime.connect import StartupError, stack_health
from runtime.logging import get_logger

log = get_logger("coopflow.health")

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


def split_address(address: str) -> tuple[str, int]:
    """`host:port` (`[::1]:8081` for IPv6) as a bind address; a StartupError otherwise."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise StartupError(f"COOPFLOW_HEALTH_ADDRESS must be host:port, not {address!r}")
    return host.strip("[]"), int(port)


@asynccontextmanager
async def serving(address: str, pool: asyncpg.Pool, client: Client) -> AsyncIterator[int]:
    """Serve /healthz at `address` while inside; yields the bound port (0 picks one)."""
    host, port = split_address(address)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await _answer(reader, pool, client)
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
                "Content-Type: application/json\r\n"
                "X-Content-Type-Options: nosniff\r\n"
                f"Content-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # the prober went away or sent nothing useful
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    try:
        server = await asyncio.start_server(handle, host, port)
    except OSError as exc:
        raise StartupError(
            f"COOPFLOW_HEALTH_ADDRESS: cannot listen on {address} ({exc.strerror or exc})"
        ) from None
    bound = server.sockets[0].getsockname()[1]
    log.info("health endpoint", url=f"http://{address.rpartition(':')[0]}:{bound}/healthz")
    try:
        yield bound
    finally:
        server.close()
        await server.wait_closed()


async def _answer(
    reader: asyncio.StreamReader, pool: asyncpg.Pool, client: Client
) -> tuple[int, dict[str, str]]:
    request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    parts = request.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(parts) != 3:
        return 400, {"error": "not an HTTP request"}
    method, target, _ = parts
    path = target.split("?", 1)[0]
    if path not in ("/healthz", "/livez"):
        return 404, {"error": "only /healthz and /livez are served here"}
    if method != "GET":
        return 405, {"error": f"GET {path}"}
    if path == "/livez":
        # The process answers: what a liveness probe asks. A database or Temporal outage is
        # /healthz's to report; restarting the worker would not end it.
        return 200, {"status": "alive"}
    healthy, checks = await stack_health(pool, client)
    return (200 if healthy else 503), {"status": "ok" if healthy else "degraded", **checks}
