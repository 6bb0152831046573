"""One webhook attempt (`notify.webhooks.Sender`) against receivers on loopback: the host is
checked and the connection goes only to the addresses checked (the URL's name kept for the
Host header), and every failure is recorded in plain words, never an exception's text."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from notify import webhooks
from notify.addresses import Guard, parse_networks
from notify.sealing import SecretBox, generate_key
from runtime.localstack import free_port

SECRET = "whsec_" + "A" * 32


def policy(allow: str = "127.0.0.0/8, ::1/128") -> webhooks.Policy:
    return webhooks.Policy(Guard(parse_networks(allow)), SecretBox(generate_key()))


@contextlib.asynccontextmanager
async def receiver(seen: list[dict[str, Any]]) -> AsyncIterator[int]:
    async def handle(request: Request) -> Response:
        seen.append({"path": request.url.path, "host": request.headers["host"]})
        return Response(status_code=503 if request.url.path == "/busy" else 204)

    port = free_port()
    app = Starlette(routes=[Route("/{path}", handle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done()
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def silent() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


async def test_a_name_is_sent_to_its_checked_address_with_its_own_host_header() -> None:
    seen: list[dict[str, Any]] = []
    rules = policy()
    async with receiver(seen) as port, webhooks.Sender(rules) as sender:
        sent = await sender.send(
            f"http://localhost:{port}/ok", rules.box.seal(SECRET), "msg_1", {"type": "Paused"}
        )
        busy = await sender.send(
            f"http://127.0.0.1:{port}/busy", rules.box.seal(SECRET), "msg_2", {}
        )
        # Secrets stored before they were encrypted still sign (until the worker seals them).
        legacy = await sender.send(f"http://127.0.0.1:{port}/ok", SECRET, "msg_3", {})
    assert sent.ok and sent.status_code == 204 and sent.error is None
    assert seen[0] == {"path": "/ok", "host": f"localhost:{port}"}
    assert not busy.ok and busy.status_code == 503 and busy.error == "answered 503"
    assert legacy.ok


async def test_the_transport_connects_nowhere_unchecked() -> None:
    seen: list[dict[str, Any]] = []
    async with (
        receiver(seen) as port,
        httpx.AsyncClient(transport=webhooks.PinnedTransport(), trust_env=False) as client,
    ):
        # Straight through the senders' transport, past the check: the network backend refuses.
        with pytest.raises(webhooks.UncheckedHost):
            await client.post(f"http://127.0.0.1:{port}/ok")
    assert seen == []


async def test_failures_are_said_in_plain_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT", 0.5)
    seen: list[dict[str, Any]] = []
    rules = policy()
    sealed = rules.box.seal(SECRET)
    async with receiver(seen) as port, webhooks.Sender(rules) as sender:
        tls = await sender.send(f"https://127.0.0.1:{port}/ok", sealed, "m", {})
        closed = await sender.send(f"http://127.0.0.1:{free_port()}/", sealed, "m", {})
        with silent() as quiet:
            timed_out = await sender.send(f"http://127.0.0.1:{quiet}/", sealed, "m", {})
        async with webhooks.Sender(policy("")) as strict:
            inside = await strict.send(f"http://127.0.0.1:{port}/ok", sealed, "m", {})
        metadata = await sender.send("http://169.254.169.254/latest/", sealed, "m", {})
        unknown = await sender.send("http://nothing.invalid/", sealed, "m", {})
        async with webhooks.Sender(policy()) as other_key:
            wrong_key = await other_key.send(f"http://127.0.0.1:{port}/ok", sealed, "m", {})
    assert [x.error for x in (tls, closed, timed_out, inside, metadata, unknown, wrong_key)] == [
        "TLS error",
        "connection refused",
        "timed out",
        "refused: loopback address",
        "refused: link-local address",
        "name not resolved",
        "secret unreadable",
    ]
    assert seen == []  # none of them reached the receiver
