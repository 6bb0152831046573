"""Webhooks as a probe of the internal network, on the live stack: a subscriber chooses the
URL and reads every attempt's outcome, so a URL reaching inside (loopback, private ranges,
the cloud's metadata service) must be refused in every spelling, checked again at each
delivery, and a failed attempt must tell nothing of the worker's network. Subscriptions are
bounded per subject; secrets are encrypted at rest and wiped with their subscription.

Registration cases never send anything; deliveries go to receivers on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import uvicorn
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.client import Client

from api.app import create_app
from runtime.config import Settings
from runtime.localstack import free_port
from tests.api.conftest import cooperation
from tests.web.browser import Live, live
from tests.web.smtp_mailbox import Mailbox

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COOPFLOW = Path(sys.executable).with_name("coopflow")

INSIDE = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f.0.0.1/hook",
    "http://017700000001/hook",
    "http://0x7f000001/hook",
    "http://127.0.0.1./hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[::1]:8000/hook",
    "http://localhost:8000/hook",
    "http://LOCALHOST./hook",
    "https://hooks.localhost/hook",
    "http://0.0.0.0:8000/hook",
    "http://0/hook",
    "http://[::]/hook",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[fe80::1%25eth0]/hook",
    "http://10.0.0.1/hook",
    "http://012.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://[fc00::1]/hook",
    "http://224.0.0.1/hook",
    "http://[ff02::1]/hook",
    "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "http://[2002:c0a8:101::1]/hook",  # 6to4 of 192.168.1.1
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "http://[::7f00:1]/hook",  # IPv4-compatible 127.0.0.1
    "http://240.0.0.1/hook",
]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def _subscribe(live: Live, headers: dict[str, str], url: str, **more: Any) -> httpx.Response:
    body = {"url": url, "secret": new_secret(), **more}
    return await live.http.post("/v1/webhooks", json=body, headers=headers)


@pytest.mark.parametrize("url", INSIDE)
async def test_a_url_reaching_inside_is_refused_in_every_spelling(
    module_live_server: Live, url: str
) -> None:
    live = module_live_server
    assert live.settings.webhook_allow_networks == ""  # the default: nothing inside allowed
    sonde = await live.auth("facilitator", "sonde")
    answer = await _subscribe(live, sonde, url)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [e["path"] for e in answer.json()["errors"]] == ["url"]
    # Spellings httpx itself cannot send (`012.0.0.1`) are refused as not a URL.
    message = answer.json()["errors"][0]["message"]
    assert "public Internet" in message or "http or https URL" in message
    assert (await live.http.get("/v1/webhooks", headers=sonde)).json() == []


async def test_a_name_that_does_not_resolve_is_refused_as_one_resolving_inside(
    module_live_server: Live,
) -> None:
    live = module_live_server
    sonde = await live.auth("funder", "sonde")
    # Were these answered differently, the API would say which internal names exist.
    unknown = await _subscribe(live, sonde, "https://nothing-here.invalid/hook")
    local = await _subscribe(live, sonde, "https://coopflow.localhost/hook")
    assert unknown.status_code == local.status_code == 422
    messages = [a.json()["errors"][0]["message"] for a in (unknown, local)]
    assert messages[0].replace("nothing-here.invalid", "X") == messages[1].replace(
        "coopflow.localhost", "X"
    )
    # Credentials in the URL are refused too (a receiver checks the signature).
    userinfo = await _subscribe(live, sonde, "https://user:pw@93.184.215.14/hook")
    assert userinfo.status_code == 422 and userinfo.json()["errors"][0]["path"] == "url"


async def test_the_21st_subscription_of_a_subject_is_refused(module_live_server: Live) -> None:
    live = module_live_server
    # Public literals, registered only: this facilitator has no cooperation, so no event is
    # ever fanned out to them and nothing is sent.
    vingt = await live.auth("facilitator", "vingt")
    made = []
    for i in range(20):
        answer = await _subscribe(live, vingt, f"https://93.184.215.14/hook/{i}")
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    refused = await _subscribe(live, vingt, "https://93.184.215.14/hook/20")
    assert refused.status_code == 409
    assert "at most 20" in refused.json()["detail"]
    assert len((await live.http.get("/v1/webhooks", headers=vingt)).json()) == 20
    # Roles are namespaces: a funder of the same id has its own 20.
    funder = await live.auth("funder", "vingt")
    assert (await _subscribe(live, funder, "https://93.184.215.14/f")).status_code == 201
    # One deleted, one more may be made.
    deleted = await live.http.delete(f"/v1/webhooks/{made[0]}", headers=vingt)
    assert deleted.status_code == 200
    assert (await _subscribe(live, vingt, "https://93.184.215.14/again")).status_code == 201


class Receiver:
    """A receiver on 127.0.0.1: /ok verifies each request with the subscription's secret and
    answers 204; /moved answers 302 to /trap, which records whoever follows."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secrets: dict[str, str] = {}
        self.received: dict[str, list[dict[str, Any]]] = {"/ok": [], "/moved": [], "/trap": []}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        body = await request.body()
        if path == "/trap":
            self.received[path].append({})
            return Response(status_code=204)
        payload = Webhook(self.secrets[path]).verify(body, dict(request.headers))
        self.received[path].append(payload)
        if path == "/moved":
            return Response(status_code=302, headers={"location": self.url("/trap")})
        return Response(status_code=204)


@contextlib.asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = Starlette(
        routes=[Route(p, receiver.handle, methods=["POST"]) for p in ("/ok", "/moved", "/trap")]
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=receiver.port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the receiver did not start"
        await asyncio.sleep(0.02)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


async def _register(live: Live, headers: dict[str, str]) -> str:
    coop = f"sonde-{uuid.uuid4().hex[:6]}"
    answer = await live.http.post("/v1/cooperations", json=cooperation(coop, []), headers=headers)
    assert answer.status_code == 201, answer.text
    return coop


async def _tried(live: Live, headers: dict[str, str], hook: str) -> list[dict[str, Any]]:
    """The subscription's deliveries once the first has been tried at least once."""
    for _ in range(300):
        answer = await live.http.get(f"/v1/webhooks/{hook}/deliveries", headers=headers)
        items: list[dict[str, Any]] = answer.json()["items"]
        if items and items[0]["attempts"] >= 1:
            return items
        await asyncio.sleep(0.1)
    raise AssertionError(f"no delivery of {hook} was tried")


PLAIN = {
    "refused: loopback address",
    "connection refused",
    "redirect not followed",
    "timed out",
    None,
}


def _no_connection_text(items: list[dict[str, Any]]) -> None:
    """Each failure in the log is one of the plain reasons, never an exception's text."""
    for item in items:
        assert item["last_error"] in PLAIN, item
        assert all(t["error"] in PLAIN for t in item["tries"]), item


@pytest_asyncio.fixture
async def allowing_live(
    pool: asyncpg.Pool,
    database_url: str,
    temporal_client: Client,
    mailbox: Mailbox,
) -> AsyncIterator[Live]:
    """The live stack with the operator allowing loopback, as for a local receiver."""
    async with live(
        pool, database_url, temporal_client, mailbox, webhook_allow_networks="127.0.0.0/8"
    ) as server:
        yield server


async def test_with_loopback_allowed_deliveries_arrive_signed_redirects_are_not_followed(
    allowing_live: Live,
) -> None:
    live = allowing_live
    pole = await live.auth("facilitator", "pole-107")
    receiver = Receiver()
    hooks = {}
    for path in ("/ok", "/moved"):
        receiver.secrets[path] = new_secret()
        body = {"url": receiver.url(path), "secret": receiver.secrets[path]}
        answer = await live.http.post("/v1/webhooks", json=body, headers=pole)
        assert answer.status_code == 201, answer.text
        hooks[path] = answer.json()["id"]
    closed = await _subscribe(live, pole, f"http://127.0.0.1:{free_port()}/nobody")
    assert closed.status_code == 201
    # At rest the secret is sealed: neither it nor its key bytes are in PostgreSQL.
    async with live.pool.acquire() as conn:
        stored = await conn.fetchval("SELECT secret FROM webhooks WHERE id = $1", hooks["/ok"])
    plaintext = receiver.secrets["/ok"]
    assert stored and plaintext not in stored and plaintext.removeprefix("whsec_") not in stored
    assert not stored.startswith("whsec_")

    async with serving(receiver):
        await _register(live, pole)
        ok = await _tried(live, pole, hooks["/ok"])
        moved = await _tried(live, pole, hooks["/moved"])
        nobody = await _tried(live, pole, closed.json()["id"])
        await asyncio.sleep(0.5)  # a redirect followed would have come by now
    # Signed with the secret given (the receiver verified it): opened only to sign.
    assert ok[0]["status"] == "delivered" and receiver.received["/ok"]
    assert receiver.received["/ok"][0]["type"] == "CooperationRegistered"
    # The 302 is a failure with its plain reason; nobody went where it pointed.
    assert moved[0]["tries"][0]["status_code"] == 302
    assert moved[0]["last_error"] == "redirect not followed"
    assert receiver.received["/moved"] and receiver.received["/trap"] == []
    # A port nobody listens on: "connection refused", not the socket's words.
    assert nobody[0]["last_error"] == "connection refused"
    assert nobody[0]["tries"][0]["error"] == "connection refused"
    _no_connection_text(nobody)

    # Deleted: the secret is wiped, not kept beside a deleted_at.
    gone = await live.http.delete(f"/v1/webhooks/{hooks['/ok']}", headers=pole)
    assert gone.status_code == 200
    async with live.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT secret, deleted_at FROM webhooks WHERE id = $1", hooks["/ok"]
        )
    assert row["deleted_at"] is not None and row["secret"] is None


async def test_a_subscription_admitted_once_is_not_delivered_when_no_longer_allowed(
    live_server: Live, temporal_client: Client
) -> None:
    live = live_server
    assert live.settings.webhook_allow_networks == ""
    pole = await live.auth("facilitator", "pole-107")
    receiver = Receiver()
    receiver.secrets["/ok"] = new_secret()
    # Made through the API as it was configured before: loopback allowed then.
    then = Settings(
        task_queue=live.task_queue, public_url=live.base_url, webhook_allow_networks="127.0.0.0/8"
    )
    earlier = create_app(then, pool=live.pool, client=temporal_client)
    async with (
        earlier.router.lifespan_context(earlier),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=earlier), base_url=live.base_url
        ) as old,
    ):
        body = {"url": receiver.url("/ok"), "secret": receiver.secrets["/ok"]}
        answer = await old.post("/v1/webhooks", json=body, headers=pole)
    assert answer.status_code == 201, answer.text
    hook = answer.json()["id"]
    # Today's API refuses the same URL...
    assert (await live.http.post("/v1/webhooks", json=body, headers=pole)).status_code == 422

    async with serving(receiver):
        await _register(live, pole)
        # ...and today's outbox checks it again at the delivery: nothing is sent.
        items = await _tried(live, pole, hook)
        await asyncio.sleep(0.5)
    assert receiver.received["/ok"] == []
    assert items[0]["status"] == "pending"
    assert items[0]["last_error"] == "refused: loopback address"
    assert {t["error"] for t in items[0]["tries"]} == {"refused: loopback address"}
    assert all(t["status_code"] is None for t in items[0]["tries"])
    _no_connection_text(items)


def _start(program: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COOPFLOW_")}
    # Nothing listens here: a check made before connecting is the one said.
    unreachable = {
        "COOPFLOW_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none",
        "COOPFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "COOPFLOW_PUBLIC_URL": "https://coopflow.example.org",
    }
    return subprocess.run(
        [str(COOPFLOW), program],
        env=base | unreachable | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("program", ["api", "worker"])
def test_api_and_worker_refuse_to_start_without_a_key_or_with_a_bad_network(
    program: str,
) -> None:
    keyless = _start(program)
    assert keyless.returncode == 2
    assert "COOPFLOW_SECRETS_KEY is not set" in keyless.stderr, keyless.stderr
    assert "Traceback" not in keyless.stderr
    bad_key = _start(program, COOPFLOW_SECRETS_KEY="not-a-key")
    assert bad_key.returncode == 2 and "COOPFLOW_SECRETS_KEY" in bad_key.stderr
    bad_network = _start(
        program,
        COOPFLOW_SECRETS_KEY=os.environ["COOPFLOW_SECRETS_KEY"],
        COOPFLOW_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8,10.0.0.0/33",
    )
    assert bad_network.returncode == 2
    assert "COOPFLOW_WEBHOOK_ALLOW_NETWORKS" in bad_network.stderr
    assert "10.0.0.0/33" in bad_network.stderr
