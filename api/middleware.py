"""What every request goes through before its route: a bounded body, and for a POST with an
`Idempotency-Key` the first answer given again (DESIGN.md, "HTTP API")."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Caller, caller_of
from api.problems import PROBLEM, Problem, problem_body
from store import idempotency

MAX_BODY = 1024 * 1024
"""A body over 1 MiB is refused (413) before anything reads it."""

MAX_KEY = 200


async def _send_problem(send: Send, scope: Scope, problem: Problem) -> None:
    body = json.dumps(problem_body(problem, scope.get("path", ""))).encode()
    headers = [
        (b"content-type", PROBLEM.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in problem.headers.items()),
    ]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes) -> Receive:
    """A body already read, handed on as if it were coming (once)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class RequestGate:
    """Pure ASGI (no per-request task): bodies read once, bounded, and POSTs made idempotent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            await _send_problem(send, scope, _too_large())
            return
        try:
            body = await read_body(receive)
        except _TooLarge:
            await _send_problem(send, scope, _too_large())
            return
        request = Request(scope, replay(body))
        key = request.headers.get("idempotency-key")
        if scope["method"] != "POST" or key is None:
            await self.app(scope, replay(body), send)
            return
        if not 0 < len(key) <= MAX_KEY or not key.isprintable():
            await _send_problem(
                send,
                scope,
                Problem(400, f"Idempotency-Key must be 1 to {MAX_KEY} printable characters"),
            )
            return
        caller = await caller_of(request)
        if caller is None:  # the route answers 401
            await self.app(scope, replay(body), send)
            return
        await self._once(scope, body, send, caller, key)

    async def _once(self, scope: Scope, body: bytes, send: Send, caller: Caller, key: str) -> None:
        # The key is the caller's, role and subject: a collective whose id is a funder's is
        # not that funder, and never gets its answers (DESIGN.md, "Roles are namespaces").
        role, subject = caller.role, caller.subject
        fingerprint = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(), body])
        ).hexdigest()
        pool = scope["app"].state.pool
        async with pool.acquire() as conn:
            claimed = await idempotency.claim(conn, role, subject, key, scope["path"], fingerprint)
        if claimed == "running":
            await _send_problem(
                send, scope, Problem(409, "a request with this Idempotency-Key is still running")
            )
            return
        if claimed == "other":
            await _send_problem(
                send,
                scope,
                Problem(409, "this Idempotency-Key was used for another request (path or body)"),
            )
            return
        if isinstance(claimed, idempotency.Stored):
            replayed = [(k.encode(), v.encode()) for k, v in claimed.headers.items()]
            replayed.append((b"idempotent-replayed", b"true"))
            await send(
                {"type": "http.response.start", "status": claimed.status, "headers": replayed}
            )
            await send({"type": "http.response.body", "body": claimed.body})
            return
        # The route's command request id (api/commands.py), kept with the key.
        Request(scope).state.idempotent_request = claimed.request
        captured: dict[str, Any] = {"headers": [], "body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay(body), capture)
        finally:
            async with pool.acquire() as conn:
                status = captured.get("status")
                if status is None or status >= 500:
                    # Not answered (or a fault of ours): a retry with the key runs again.
                    await idempotency.release(conn, role, subject, key)
                else:
                    kept = {
                        k.decode(): v.decode()
                        for k, v in captured["headers"]
                        if k.lower() not in (b"content-length", b"date", b"server")
                    }
                    await idempotency.complete(
                        conn, role, subject, key, status, kept, captured["body"]
                    )


def _too_large() -> Problem:
    return Problem(413, f"the body is over {MAX_BODY // 1024} KiB")
