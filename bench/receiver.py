"""The webhook receiver of bench.notifications, in a process of its own: Starlette under
uvicorn, which verifies every signature with the Standard Webhooks reference library, answers
204 and counts what it received (first and last instants, bad signatures, duplicates)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.stack import HttpClient, process, until_ready
from runtime.localstack import free_port
from store.tokens import Role

SUBSCRIBERS: tuple[Role, ...] = ("funder", "facilitator")
RECEIVER_SECRETS = "COOPFLOW_BENCH_RECEIVER_SECRETS"


@dataclass
class Tally:
    received: int = 0
    bad: int = 0
    duplicates: int = 0
    first: float | None = None
    last: float | None = None
    seen: set[str] = field(default_factory=set)
    """Every webhook-id so far, across resets: a delivery sent twice is a duplicate."""


def receiver_app() -> Starlette:
    """`uvicorn --factory bench.receiver:receiver_app`: the subscribers' secrets by path
    name in RECEIVER_SECRETS (JSON)."""
    verifiers = {k: Webhook(v) for k, v in json.loads(os.environ[RECEIVER_SECRETS]).items()}
    tally = Tally()

    async def hook(request: Request) -> Response:
        body = await request.body()
        try:
            verifiers[request.path_params["name"]].verify(body, dict(request.headers))
        except (KeyError, WebhookVerificationError):
            # Counted rather than refused: a refusal would be retried with backoff and stall
            # the drain, where the count makes the report fail.
            tally.bad += 1
        msg_id = request.headers.get("webhook-id", "")
        if msg_id in tally.seen:
            tally.duplicates += 1
        tally.seen.add(msg_id)
        tally.received += 1
        tally.last = time.monotonic()
        tally.first = tally.first or tally.last
        return Response(status_code=204)

    async def count(request: Request) -> Response:
        return JSONResponse(
            {k: getattr(tally, k) for k in ("received", "bad", "duplicates", "first", "last")}
            | {"distinct": len(tally.seen)}
        )

    async def reset(request: Request) -> Response:
        tally.received, tally.first, tally.last = 0, None, None
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/hooks/{name}", hook, methods=["POST"]),
            Route("/count", count),
            Route("/reset", reset, methods=["POST"]),
        ]
    )


@dataclass(frozen=True)
class Receiver:
    url: str
    pid: int
    secrets: dict[Role, str]
    http: HttpClient

    async def count(self) -> dict[str, Any]:
        answer = await self.http.request("GET", "/count")
        return dict(answer.json())

    async def reset(self) -> None:
        await self.http.request("POST", "/reset")


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    keys = {
        role: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode() for role in SUBSCRIBERS
    }
    port = free_port()
    args = ["bench.receiver:receiver_app", "--factory", "--host", "127.0.0.1", "--port", str(port)]
    quiet = ["--no-access-log", "--log-level", "warning"]
    env = os.environ | {RECEIVER_SECRETS: json.dumps(keys)}
    with (
        tempfile.TemporaryDirectory(prefix="coopflow-bench-") as folder,
        process("uvicorn", env, Path(folder), [*args, *quiet]) as proc,
    ):
        http = HttpClient(f"http://127.0.0.1:{port}")
        try:
            await until_ready(http, "/count", proc, Path(folder) / "uvicorn.log")
            yield Receiver(f"http://127.0.0.1:{port}", proc.pid, keys, http)
        finally:
            http.close()
