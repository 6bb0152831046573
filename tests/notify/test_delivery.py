"""Notifications that reach people and systems, on the real stack (API, worker, PostgreSQL,
Temporal dev server) with the outbox's loop running: webhooks verified with the Standard
Webhooks reference code by a local receiver that was down for a while, each event once and
only those in the subscriber's scope; failed deliveries recorded and sent again by their
owner; e-mails received by a local SMTP server in the programme's language."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
import email.message
import email.policy
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import uvicorn
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from notify import outbox, webhooks
from notify.mail import Mailer
from runtime.config import Settings
from runtime.localstack import free_port
from store import contacts, delivery
from tests.api.conftest import Auth, cooperation, programme

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def local_policy() -> webhooks.Policy:
    """The outbox's rules with the tests' receivers allowed: they listen on loopback."""
    return webhooks.Policy.of(Settings(webhook_allow_networks="127.0.0.0/8"))


def sealed(secret: str) -> str:
    """A secret as the API stores it (encrypted with COOPFLOW_SECRETS_KEY)."""
    return local_policy().box.seal(secret)


class Receiver:
    """A webhook receiver on a local port: verifies every request as the specification's
    reference library does, and can be down (refusing with 503) for a while."""

    def __init__(self, secrets_by_path: dict[str, str]) -> None:
        self.secrets = secrets_by_path
        self.up = False
        self.received: dict[str, list[dict[str, Any]]] = {path: [] for path in secrets_by_path}
        self.ids: dict[str, list[str]] = {path: [] for path in secrets_by_path}
        self.refused = 0
        self.port = free_port()

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        if not self.up:
            self.refused += 1
            return Response(status_code=503)
        body = await request.body()
        # The reference code path: raises on a bad or stale signature.
        payload = Webhook(self.secrets[path]).verify(body, dict(request.headers))
        self.received[path].append(payload)
        self.ids[path].append(request.headers["webhook-id"])
        return Response(status_code=204)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def types(self, path: str) -> list[str]:
        return [p["type"] for p in self.received[path]]


@contextlib.asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[None]:
    app = Starlette(routes=[Route(p, receiver.handle, methods=["POST"]) for p in receiver.secrets])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=receiver.port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await _until(lambda: server.started, "the receiver listening")
    try:
        yield
    finally:
        server.should_exit = True
        await task


@pytest_asyncio.fixture
async def outbox_running(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Collected]:
    """The outbox's loop as the worker runs it, retrying within a second instead of minutes."""
    monkeypatch.setattr(outbox, "BACKOFF", (0.3, 0.6, 1.0))
    smtp = Collected()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailer = Mailer(
        f"smtp+insecure://127.0.0.1:{controller.port}", "coopflow <noreply@example.org>"
    )
    task = asyncio.create_task(
        outbox.run(
            pool,
            database_url,
            mailer,
            timedelta(seconds=120),
            poll_every=0.1,
            webhook_policy=local_policy(),
        )
    )
    try:
        yield smtp
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        controller.stop()


class Collected:
    """An aiosmtpd handler keeping every message it is given: recipients, subject, text."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        text = message.get_body(preferencelist=("plain",))
        assert text is not None
        content = f"Subject: {message['subject']}\n\n{text.get_content()}"
        self.messages.append((list(envelope.rcpt_tos), content))
        return "250 OK"


async def _until(check: Any, what: str, seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.1)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


async def _failed_attempts(pool: asyncpg.Pool, at_least: int) -> None:
    for _ in range(300):
        async with pool.acquire() as conn:
            failed = await conn.fetchval(
                "SELECT count(*) FROM delivery_attempts WHERE status_code IS NULL"
            )
        if failed >= at_least:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {at_least} failed attempts")


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


PROGRAMME_NAMES = {"fdt": "Fonds des territoires", "reg": "Regional transition fund"}


async def _life(http: httpx.AsyncClient, auth: Auth, coop: str, accepted: tuple[str, ...]) -> None:
    """Programme fdt (French, fondation's) and reg (English, region's); the cooperation
    `coop` registered by pole-107 with both lines, `accepted` of them accepted by their
    funders; then a check-in by the collective."""
    owners = {"fdt": await auth("funder", "fondation"), "reg": await auth("funder", "region")}
    for pid, funder, locale in (("fdt", "fondation", "fr"), ("reg", "region", "en")):
        spec = programme(pid, funder, locale=locale, name=PROGRAMME_NAMES[pid])
        await _ok(await http.post("/v1/programmes", json=spec, headers=owners[pid]), 201)
    pole = await auth("facilitator", "pole-107")
    body = cooperation(coop, ["fdt", "reg"])
    await _ok(await http.post("/v1/cooperations", json=body, headers=pole), 201)
    for line in accepted:
        decision = f"/v1/cooperations/{coop}/funding-lines/{line}/decision"
        await _ok(await http.post(decision, json={"accept": True}, headers=owners[line]))
    checkin = {"narrative": "Premiers ateliers"}
    collectif = await auth("collective", coop)
    await _ok(
        await http.post(f"/v1/cooperations/{coop}/check-ins", json=checkin, headers=collectif),
        201,
    )


async def test_webhooks_reach_their_subscribers_once_each_within_their_scope(
    http: httpx.AsyncClient, auth: Auth, outbox_running: Collected, pool: asyncpg.Pool
) -> None:
    fondation = await auth("funder", "fondation")
    region = await auth("funder", "region")
    pole = await auth("facilitator", "pole-107")
    # Workflow ids outlive a test on the shared dev server: one cooperation id per test.
    coop = f"ressourcerie-{uuid.uuid4().hex[:6]}"
    collectif = await auth("collective", coop)
    secrets_by_path = {"/fondation": new_secret(), "/pole": new_secret()}
    receiver = Receiver(secrets_by_path)

    hook = await _ok(
        await http.post(
            "/v1/webhooks",
            json={"url": receiver.url("/fondation"), "secret": secrets_by_path["/fondation"]},
            headers=fondation,
        ),
        201,
    )
    assert "secret" not in hook
    assert "secret" not in json.dumps(await _ok(await http.get("/v1/webhooks", headers=fondation)))
    await _ok(
        await http.post(
            "/v1/webhooks",
            json={
                "url": receiver.url("/pole"),
                "secret": secrets_by_path["/pole"],
                "events": ["CheckInSubmitted"],
            },
            headers=pole,
        ),
        201,
    )
    # Collectives subscribe to nothing; a secret not of the specification's form is refused.
    assert (
        await http.post(
            "/v1/webhooks",
            json={"url": receiver.url("/x"), "secret": secrets_by_path["/pole"]},
            headers=collectif,
        )
    ).status_code == 403
    bad = await http.post(
        "/v1/webhooks", json={"url": receiver.url("/x"), "secret": "s3cret"}, headers=pole
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "secret"

    await _life(http, auth, coop, accepted=("fdt", "reg"))
    # The receiver is down (not even listening): deliveries fail and wait for their next try.
    await _failed_attempts(pool, 3)
    async with serving(receiver):
        # Up but refusing for a moment, then taking them.
        await _until(lambda: receiver.refused >= 1, "a refusal while it is busy")
        receiver.up = True
        await _until(
            lambda: (
                "CheckInSubmitted" in receiver.types("/fondation")
                and receiver.types("/pole") == ["CheckInSubmitted"]
            ),
            "the events after the receiver came back",
        )
        await asyncio.sleep(1.5)  # any duplicate would have come by now
    assert len(receiver.ids["/fondation"]) == len(set(receiver.ids["/fondation"]))
    # Webhooks promise no order (retries overtake): the seq in each payload gives it.
    in_order = sorted(receiver.received["/fondation"], key=lambda p: p["data"]["seq"])
    assert [p["type"] for p in in_order[:3]] == [
        "CooperationRegistered",
        "FundingLineProposed",
        "PhaseEntered",
    ]
    # Each event once, and never one about region's line: fondation's scope is its own line.
    seqs = [p["data"]["seq"] for p in receiver.received["/fondation"]]
    assert len(seqs) == len(set(seqs))
    lines = {p["data"]["data"].get("line") for p in receiver.received["/fondation"]}
    assert "reg" not in lines and "fdt" in lines

    listed = await _ok(await http.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=fondation))
    first = listed["items"][0]
    assert first["status"] == "delivered" and first["attempts"] >= 2
    # Refused while it could not connect, then delivered.
    assert first["tries"][0]["status_code"] is None and first["tries"][-1]["status_code"] == 204
    # Another subscriber's deliveries are not found.
    assert (
        await http.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=region)
    ).status_code == 404

    # A delivery that failed for good is sent again by its owner.
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'failed' WHERE id = $1", first["id"]
        )
    async with serving(receiver):
        again = await _ok(
            await http.post(
                f"/v1/webhooks/{hook['id']}/deliveries/{first['id']}/retry", headers=fondation
            )
        )
        assert again["status"] == "pending"
        await _until(
            lambda: receiver.ids["/fondation"].count(f"msg_{first['id']}") == 2, "the resend"
        )
    deleted = await _ok(await http.delete(f"/v1/webhooks/{hook['id']}", headers=fondation))
    assert deleted["deleted"] is True
    assert (await http.get(f"/v1/webhooks/{hook['id']}", headers=fondation)).status_code == 404


async def test_emails_reach_each_subjects_contacts_in_the_programmes_language(
    http: httpx.AsyncClient, auth: Auth, outbox_running: Collected, pool: asyncpg.Pool
) -> None:
    fondation = await auth("funder", "fondation")
    region = await auth("funder", "region")
    pole = await auth("facilitator", "pole-107")
    # Workflow ids outlive a test on the shared dev server: one cooperation id per test.
    coop = f"ressourcerie-{uuid.uuid4().hex[:6]}"
    for who, emails in (
        (fondation, ["suivi@fondation.example"]),
        (region, ["grants@region.example"]),
        (pole, ["equipe@pole107.example", "astreinte@pole107.example"]),
    ):
        await _ok(await http.put("/v1/me/contacts", json={"emails": emails}, headers=who))
    # Confirmed by their owners (the link of the e-mail each new address gets), as the demo's
    # are: only confirmed addresses are written to.
    async with pool.acquire() as conn:
        await contacts.add_confirmed(conn, "funder", "fondation", ["suivi@fondation.example"])
        await contacts.add_confirmed(conn, "funder", "region", ["grants@region.example"])
        await contacts.add_confirmed(
            conn, "facilitator", "pole-107", ["equipe@pole107.example", "astreinte@pole107.example"]
        )
    assert (await _ok(await http.get("/v1/me/contacts", headers=pole)))["emails"][1] == (
        "astreinte@pole107.example"
    )
    bad = await http.put("/v1/me/contacts", json={"emails": ["pas une adresse"]}, headers=pole)
    assert bad.status_code == 422

    await _life(http, auth, coop, accepted=("fdt",))
    collected = outbox_running
    # One e-mail per address: the facilitator's two addresses get one each.
    await _until(lambda: len(collected.messages) >= 4, "four e-mails")
    await asyncio.sleep(0.5)  # any other would have come by now
    assert all(len(to) == 1 for to, _ in collected.messages) and len(collected.messages) == 4
    by_recipient = {tuple(to): text for to, text in collected.messages}
    # The funder of the French programme reads French, the other English.
    assert "Ressourcerie du Bourg" in by_recipient[("suivi@fondation.example",)]
    french = by_recipient[("suivi@fondation.example",)]
    english = by_recipient[("grants@region.example",)]
    assert "Subject:" in french and "Subject:" in english
    assert "ligne de financement" in french.lower()
    assert "funding line" in english.lower()
    # A line is called by its programme's name, its id only as a hint beside it.
    assert "votre programme Fonds des territoires est proposée" in french
    assert "Ligne de financement : Fonds des territoires (fdt)" in french
    assert "your programme Regional transition fund is proposed" in english
    for address in ("equipe@pole107.example", "astreinte@pole107.example"):
        assert "point d" in by_recipient[(address,)].lower()


async def test_a_delivery_is_given_up_after_its_time_and_sent_again_for_a_new_one(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        # Nobody listens on port 9 (discard): every attempt fails.
        hook = await delivery.create_webhook(
            conn, "funder", "fondation", "http://127.0.0.1:9/", sealed(new_secret()), None
        )
        delivery_id = await conn.fetchval(
            "INSERT INTO webhook_deliveries (webhook_id, cooperation_id, seq, event_type, payload)"
            " VALUES ($1, 'ruche', 1, 'Paused', '{}') RETURNING id",
            hook.id,
        )
    async with webhooks.Sender(local_policy()) as client:
        # Past its bounded time at the first failure: given up, and that is recorded.
        assert await outbox.deliver_webhooks(pool, client, timedelta(seconds=0)) == 1
        async with pool.acquire() as conn:
            [given_up] = await delivery.deliveries_of(conn, hook.id, 0, 10)
            assert given_up.status == "failed" and given_up.attempts == 1
            assert given_up.tries[0].status_code is None and given_up.last_error
            # Nothing more is tried on its own.
            assert await outbox.deliver_webhooks(pool, client, timedelta(hours=1)) == 0
            # Sent again by its owner: tried at once, then retried within a new bounded time.
            assert await delivery.send_again(conn, hook.id, delivery_id)
        assert await outbox.deliver_webhooks(pool, client, timedelta(hours=1)) == 1
        async with pool.acquire() as conn:
            [again] = await delivery.deliveries_of(conn, hook.id, 0, 10)
    assert again.status == "pending" and again.attempts == 2 and len(again.tries) == 2
