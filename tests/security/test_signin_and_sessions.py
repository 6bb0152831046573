"""Who may get in (DESIGN.md, "Who may get in, and what nobody may abuse"): e-mailed links name
the public site and never the request's Host, the API does not start without that site, and a
web session lives no longer than what opened it. Each case is an attack on the live stack
(the app over TCP, its outbox, a real SMTP mailbox) and what it must get."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from api.app import create_app
from runtime.config import Settings
from runtime.connect import StartupError
from store.tokens import create_token, revoke_token
from tests.web.browser import Live, follow_link, put_confirmed_contacts
from tests.web.smtp_mailbox import Mailbox

pytestmark = [pytest.mark.integration]

COOPFLOW = Path(sys.executable).with_name("coopflow")
FOREIGN_HOSTS = ("attacker.example", "attacker.example:80", "evil.localhost")


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # httpx keeps Secure cookies for https only: the sessions here are on http://localhost.
    return {"web_secure_cookies": False}


def browser(live: Live) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=live.base_url, follow_redirects=False)


async def csrf_of(client: httpx.AsyncClient) -> str:
    answer = await client.get("/signin")
    assert answer.status_code == 200, answer.text
    token = client.cookies.get("coopflow_csrf")
    assert token
    return token


async def nothing_more(mailbox: Mailbox, before: int, seconds: float = 1.5) -> None:
    """No e-mail arrives for a while (whatever the outbox or a request might still send)."""
    await asyncio.sleep(seconds)
    assert [(m.to, m.subject) for m in mailbox.messages[before:]] == []


async def signed_in_as(client: httpx.AsyncClient) -> str | None:
    """Where the home page sends this browser: a collective's page when its session is live,
    None when it is sent to sign in."""
    home = await client.get("/")
    assert home.status_code == 303, home.text
    location = home.headers["location"]
    return None if location.startswith("/signin") else location


async def session_bearer_status(live: Live, client: httpx.AsyncClient) -> int:
    """The session's token as a bearer of the API: what /v1/me says of it."""
    token = client.cookies.get("coopflow_session")
    assert token
    me = await live.http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    return me.status_code


# -- 1. Links name the public site, never the request ----------------------------------------


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
async def test_a_foreign_host_gets_400_and_no_mail_wherever_a_mail_may_leave(
    live_server: Live, host: str
) -> None:
    live = live_server
    victim = f"victime-{uuid.uuid4().hex[:6]}@example.org"
    anim = await live.auth("facilitator", "pole-107")
    await put_confirmed_contacts(live, anim, victim)
    coop = f"coop-{uuid.uuid4().hex[:6]}"
    created = await live.http.post("/v1/cooperations", json=_cooperation(coop), headers=anim)
    assert created.status_code == 201, created.text
    before = len(live.mailbox.messages)
    foreign = {"Host": host}

    async with browser(live) as client:
        csrf = await csrf_of(client)
        # Account takeover: the victim's address, a Host of the attacker's choosing.
        asked = await client.post("/signin", data={"csrf": csrf, "email": victim}, headers=foreign)
        assert asked.status_code == 400, asked.text
        # The contacts' confirmation mail and the invitation: refused the same way.
        put = await client.put(
            "/v1/me/contacts", json={"emails": ["autre@example.org"]}, headers=anim | foreign
        )
        assert put.status_code == 400 and put.headers["content-type"] == "application/problem+json"
        invited = await client.post(
            f"/v1/cooperations/{coop}/invitations",
            json={"email": "collectif@example.org"},
            headers=anim | foreign,
        )
        assert invited.status_code == 400, invited.text
    await nothing_more(live.mailbox, before)
    kept = await live.http.get("/v1/me/contacts", headers=anim)
    assert kept.json()["emails"] == [victim]

    # The same requests on the public site's Host: the link is on the public site.
    async with browser(live) as client:
        csrf = await csrf_of(client)
        asked = await client.post("/signin", data={"csrf": csrf, "email": victim})
        assert asked.status_code == 200, asked.text
    mail = await live.mailbox.next(victim)
    assert mail.links() and all(u.startswith(live.base_url + "/signin/") for u in mail.links())
    assert mail.html is not None and host.split(":")[0] not in mail.html


async def test_a_form_from_another_origin_is_refused_even_if_it_names_the_host(
    live_server: Live,
) -> None:
    """The CSRF origin check compares with the public site only, never with the Host."""
    live = live_server
    async with browser(live) as client:
        csrf = await csrf_of(client)
        answer = await client.post(
            "/signin",
            data={"csrf": csrf, "email": "x@example.org"},
            headers={"Origin": "http://attacker.example"},
        )
        assert answer.status_code == 403
        same = await client.post(
            "/signin",
            data={"csrf": csrf, "email": "x@example.org"},
            headers={"Origin": live.base_url},
        )
        assert same.status_code == 200


def _clean_env(tmp_path: Path, **more: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COOPFLOW_")}
    # Nothing listens on port 1: were the API to connect before checking, it would say so.
    return base | {
        "COOPFLOW_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "COOPFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1",
        "COOPFLOW_STATE_DIR": str(tmp_path),
        # Every other setting the API checks before connecting is valid: only the public URL
        # (or, in the contrast, the database) can stop it.
        "COOPFLOW_SECRETS_KEY": Fernet.generate_key().decode(),
        **more,
    }


@pytest.mark.parametrize("public_url", [None, "", "attacker.example", "ftp://coopflow.example"])
def test_coopflow_api_without_a_public_url_exits_naming_it_before_connecting(
    tmp_path: Path, public_url: str | None
) -> None:
    env = _clean_env(tmp_path)
    if public_url is not None:
        env["COOPFLOW_PUBLIC_URL"] = public_url
    done = subprocess.run(
        [str(COOPFLOW), "api"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coopflow api: COOPFLOW_PUBLIC_URL"), lines
    assert "PostgreSQL" not in done.stderr and "Temporal" not in done.stderr
    # Nothing can build the app without it either: no link can ever come from a request.
    with pytest.raises(StartupError, match="COOPFLOW_PUBLIC_URL"):
        create_app(Settings(public_url=public_url, _env_file=None))  # type: ignore[call-arg]


def test_with_a_public_url_the_same_start_goes_on_to_the_database(tmp_path: Path) -> None:
    """The contrast: the check above is what stopped the API, not the unreachable database."""
    env = _clean_env(tmp_path, COOPFLOW_PUBLIC_URL="https://coopflow.example.org")
    done = subprocess.run(
        [str(COOPFLOW), "api"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "PostgreSQL" in done.stderr and "PUBLIC_URL" not in done.stderr


# -- 2. Access ends when it is taken away ---------------------------------------------------


async def test_a_session_opened_with_a_token_ends_when_the_token_is_revoked(
    live_server: Live,
) -> None:
    live = live_server
    coop = f"coop-{uuid.uuid4().hex[:6]}"
    anim = await live.auth("facilitator", "pole-107")
    assert (
        await live.http.post("/v1/cooperations", json=_cooperation(coop), headers=anim)
    ).is_success
    async with live.pool.acquire() as conn:
        record, token = await create_token(conn, "collective", coop)
    async with browser(live) as client, browser(live) as second:
        csrf = await csrf_of(client)
        opened = await client.post("/signin/token", data={"csrf": csrf, "token": token})
        assert opened.status_code == 303
        assert await signed_in_as(client) == f"/cooperations/{coop}"
        # The session's own token pasted in as a token: a session of the same opener.
        csrf = await csrf_of(second)
        session_token = client.cookies.get("coopflow_session")
        pasted = await second.post("/signin/token", data={"csrf": csrf, "token": session_token})
        assert pasted.status_code == 303
        assert await signed_in_as(second) == f"/cooperations/{coop}"

        async with live.pool.acquire() as conn:
            assert await revoke_token(conn, record.id)
        assert await signed_in_as(client) is None
        assert await signed_in_as(second) is None
        assert await session_bearer_status(live, client) == 401
        page = await client.get(f"/cooperations/{coop}")
        assert page.status_code == 303 and page.headers["location"].startswith("/signin")


async def test_a_session_opened_by_a_contacts_link_ends_when_the_contact_is_removed(
    live_server: Live,
) -> None:
    live = live_server
    coop = f"coop-{uuid.uuid4().hex[:6]}"
    anim = await live.auth("facilitator", "pole-107")
    assert (
        await live.http.post("/v1/cooperations", json=_cooperation(coop), headers=anim)
    ).is_success
    collective = await live.auth("collective", coop)
    address = f"membre-{coop}@example.org"
    await put_confirmed_contacts(live, collective, address)

    async with browser(live) as client:
        csrf = await csrf_of(client)
        assert (await client.post("/signin", data={"csrf": csrf, "email": address})).is_success
        first, second = await live.mailbox.next(address), None
        assert (await follow_link(live, first.link("/signin/"), client)).status_code == 303
        assert await signed_in_as(client) == f"/cooperations/{coop}"
        # A second link, asked before the address is removed, used after.
        assert (await client.post("/signin", data={"csrf": csrf, "email": address})).is_success
        second = await live.mailbox.next(address)

        # The collective's operator removes the address: the session is over at once.
        removed = await live.http.put("/v1/me/contacts", json={"emails": []}, headers=collective)
        assert removed.status_code == 200
        assert await signed_in_as(client) is None
        assert await session_bearer_status(live, client) == 401
        waiting = await client.get(second.link("/signin/"))
        assert waiting.status_code == 410

        # Added again (and confirmed again), it is another contact: the old session stays over.
        await put_confirmed_contacts(live, collective, address)
        assert await signed_in_as(client) is None


async def test_token_revoke_subject_ends_its_tokens_sessions_and_links(live_server: Live) -> None:
    live = live_server
    subject = f"pole-{uuid.uuid4().hex[:6]}"
    async with live.pool.acquire() as conn:
        _, operator = await create_token(conn, "facilitator", subject)
        _, second = await create_token(conn, "facilitator", subject)
        # The same id in another role: another subject, unless every role is asked for.
        _, namesake = await create_token(conn, "collective", subject)
    address = f"suivi-{subject}@example.org"
    await put_confirmed_contacts(live, {"Authorization": f"Bearer {operator}"}, address)
    async with browser(live) as client, browser(live) as asking:
        csrf = await csrf_of(client)
        assert (
            await client.post("/signin/token", data={"csrf": csrf, "token": operator})
        ).status_code == 303
        csrf = await csrf_of(asking)
        assert (await asking.post("/signin", data={"csrf": csrf, "email": address})).is_success
        link = (await live.mailbox.next(address)).link("/signin/")

        env = {k: v for k, v in os.environ.items() if not k.startswith("COOPFLOW_")}
        env["COOPFLOW_DATABASE_URL"] = live.database_url

        def revoke(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(COOPFLOW), "token", "revoke", "--subject", subject, *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )

        done = await asyncio.to_thread(revoke, "--role", "facilitator")
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("revoked token ") == 2, done.stdout
        assert done.stdout.count("revoked session ") == 1, done.stdout
        assert "1 waiting link(s)" in done.stdout

        async def status(token: str) -> int:
            me = await live.http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            return me.status_code

        assert await status(operator) == 401 and await status(second) == 401
        assert await session_bearer_status(live, client) == 401
        assert (await asking.get(link)).status_code == 410
        assert await status(namesake) == 200

        done = await asyncio.to_thread(revoke)
        assert done.returncode == 0 and "revoked token " in done.stdout
        assert await status(namesake) == 401
        # Nothing left: said so, not an error.
        again = await asyncio.to_thread(revoke)
        assert again.returncode == 0 and "ended 0 token(s)" in again.stdout


# -- 5. SMTP is TLS unless the URL says otherwise --------------------------------------------


async def test_smtp_without_starttls_sends_nothing_in_clear(mailbox: Mailbox) -> None:
    """A server (or a man in the middle) that does not offer STARTTLS gets no message, and no
    password: `smtp://` requires it."""
    import aiosmtplib

    from notify.mail import Mailer

    for url in (
        f"smtp://127.0.0.1:{mailbox.port}",
        f"smtp://user:secret@127.0.0.1:{mailbox.port}",
        f"smtps://127.0.0.1:{mailbox.port}",
    ):
        with pytest.raises((aiosmtplib.SMTPException, OSError)):
            await Mailer(url, "coopflow <n@example.org>").send(
                ["x@example.org"], "secret", "text", "<p>html</p>"
            )
    assert mailbox.messages == []
    # Clear text only when the URL says so.
    sent = await Mailer(f"smtp+insecure://127.0.0.1:{mailbox.port}", "n@example.org").send(
        ["x@example.org"], "said so", "text", "<p>html</p>"
    )
    assert sent and [m.subject for m in mailbox.messages] == ["said so"]


def _cooperation(coop_id: str) -> dict[str, Any]:
    from tests.api.conftest import cooperation

    return cooperation(coop_id, [])
