"""coopflow is no mail relay (DESIGN.md, "Contacts are addresses their owners confirmed"): a
contact is one address, parsed as one; a new address gets one confirmation e-mail and nothing
else (no notification, no sign-in link) until its link is used; a facilitator's invitation
confirms the address and signs the collective in, for as long as the address stays. Attacks
on the live stack, each with what it must get."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import cooperation
from tests.web.browser import Live, follow_link
from tests.web.smtp_mailbox import Mailbox

pytestmark = [pytest.mark.integration]

SMUGGLED = (
    "root,postmaster,x@y.zz",
    "a@b.fr\nBcc: x@y.zz",
    "a@b.fr\r\nBcc: x@y.zz",
    "Victime <a@b.fr>",
    "<a@b.fr>",
    "a@b.fr, c@d.fr",
    "a@b.fr;c@d.fr",
    "root",
    '"a,b"@example.org',
    "a@[127.0.0.1]",
)


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    return {"web_secure_cookies": False}


def browser(live: Live) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=live.base_url, follow_redirects=False)


async def ask_signin_link(live: Live, address: str) -> None:
    async with browser(live) as client:
        await client.get("/signin")
        csrf = client.cookies.get("coopflow_csrf")
        asked = await client.post("/signin", data={"csrf": csrf, "email": address})
        assert asked.status_code == 200, asked.text


def to(mailbox: Mailbox, address: str) -> list[str]:
    """The subjects of the e-mails to `address` so far."""
    return [m.subject for m in mailbox.messages if address in (r.lower() for r in m.to)]


async def registered(live: Live, facilitator: dict[str, str]) -> str:
    coop = f"coop-{uuid.uuid4().hex[:6]}"
    created = await live.http.post(
        "/v1/cooperations", json=cooperation(coop, []), headers=facilitator
    )
    assert created.status_code == 201, created.text
    return coop


async def notify(live: Live, role: str, subject: str) -> str:
    """A notification for (role, subject) in the outbox, as the workflow's effects record
    them (about an event of a cooperation of its own); the outbox's running loop takes it."""
    coop = f"notif-{uuid.uuid4().hex[:8]}"
    key = f"{coop}:1:{role}:{subject}"
    async with live.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO events (cooperation_id, seq, type, at, data)"
            " VALUES ($1, 1, 'Paused', now(), '{\"phase\": \"emergence\"}')",
            coop,
        )
        await conn.execute(
            "INSERT INTO notifications (key, cooperation_id, to_role, to_subject, about, seq)"
            " VALUES ($1, $2, $3, $4, 'Paused', 1)",
            key,
            coop,
            role,
            subject,
        )
    return key


async def handled(live: Live, key: str, seconds: float = 20) -> str:
    """The notification's status once the outbox has dealt with it."""
    for _ in range(int(seconds / 0.1)):
        async with live.pool.acquire() as conn:
            status = await conn.fetchval("SELECT status FROM notifications WHERE key = $1", key)
        if status != "pending":
            return str(status)
        await asyncio.sleep(0.1)
    raise AssertionError(f"notification {key} still pending after {seconds} s")


# -- one address each -------------------------------------------------------------------------


@pytest.mark.parametrize("smuggled", SMUGGLED)
async def test_a_contact_is_one_address_parsed_as_such(live_server: Live, smuggled: str) -> None:
    live = live_server
    anim = await live.auth("facilitator", "pole-107")
    before = len(live.mailbox.messages)
    put = await live.http.put(
        "/v1/me/contacts", json={"emails": ["ok@example.org", smuggled]}, headers=anim
    )
    assert put.status_code == 422, put.text
    assert put.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in put.json()["errors"]] == ["emails.1"]
    coop = await registered(live, anim)
    invited = await live.http.post(
        f"/v1/cooperations/{coop}/invitations", json={"email": smuggled}, headers=anim
    )
    assert invited.status_code == 422, invited.text
    assert [e["path"] for e in invited.json()["errors"]] == ["email"]
    await asyncio.sleep(1)
    assert live.mailbox.messages[before:] == []
    assert (await live.http.get("/v1/me/contacts", headers=anim)).json()["emails"] == []


async def test_the_same_address_twice_is_422(live_server: Live) -> None:
    anim = await live_server.auth("facilitator", "pole-107")
    put = await live_server.http.put(
        "/v1/me/contacts", json={"emails": ["a@example.org", "A@example.org"]}, headers=anim
    )
    assert put.status_code == 422 and put.json()["errors"][0]["path"] == "emails"


# -- confirmed before anything is sent --------------------------------------------------------


async def test_an_unconfirmed_address_gets_one_confirmation_and_nothing_else(
    live_server: Live,
) -> None:
    live = live_server
    subject = f"pole-{uuid.uuid4().hex[:6]}"
    anim = await live.auth("facilitator", subject)
    address = f"equipe-{subject}@example.org"

    put = await live.http.put("/v1/me/contacts", json={"emails": [address]}, headers=anim)
    assert put.status_code == 200, put.text
    assert put.json() == {
        "emails": [address],
        "addresses": [{"email": address, "confirmed": False}],
    }
    confirmation = await live.mailbox.next(address)
    link = confirmation.link("/contacts/")
    assert link.startswith(live.base_url + "/contacts/")
    assert confirmation.to == [address]

    # Put again, asked to sign in, notified: nothing more reaches it.
    again = await live.http.put("/v1/me/contacts", json={"emails": [address]}, headers=anim)
    assert again.json()["addresses"] == [{"email": address, "confirmed": False}]
    await ask_signin_link(live, address)
    assert await handled(live, await notify(live, "facilitator", subject)) != "sent"
    await asyncio.sleep(1)
    assert len(to(live.mailbox, address)) == 1

    # Its owner uses the link: confirmed, once.
    used = await follow_link(live, link)
    assert used.status_code == 200 and "confirm" in used.text.lower()
    async with browser(live) as client:
        assert (await client.get(link)).status_code == 410
    shown = await live.http.get("/v1/me/contacts", headers=anim)
    assert shown.json()["addresses"] == [{"email": address, "confirmed": True}]

    # Now it is written to, and may sign in.
    assert await handled(live, await notify(live, "facilitator", subject)) == "sent"
    await live.mailbox.next(address)
    await ask_signin_link(live, address)
    signin = await live.mailbox.next(address)
    async with browser(live) as client:
        opened = await follow_link(live, signin.link("/signin/"), client)
        assert opened.status_code == 303
        me = await live.http.get(
            "/v1/me", headers={"Authorization": f"Bearer {client.cookies['coopflow_session']}"}
        )
        assert me.json()["role"] == "facilitator" and me.json()["subject"] == subject


async def test_a_confirmation_link_dies_with_its_address(live_server: Live) -> None:
    live = live_server
    anim = await live.auth("facilitator", f"pole-{uuid.uuid4().hex[:6]}")
    address = f"parti-{uuid.uuid4().hex[:6]}@example.org"
    await live.http.put("/v1/me/contacts", json={"emails": [address]}, headers=anim)
    link = (await live.mailbox.next(address)).link("/contacts/")
    await live.http.put("/v1/me/contacts", json={"emails": []}, headers=anim)
    async with browser(live) as client:
        assert (await client.get(link)).status_code == 410


# -- invitations ------------------------------------------------------------------------------


async def test_an_invitation_confirms_the_address_and_signs_the_collective_in(
    live_server: Live,
) -> None:
    live = live_server
    anim = await live.auth("facilitator", "pole-107")
    coop = await registered(live, anim)
    address = f"collectif-{coop}@example.org"

    # Not the facilitator's: the cooperation's collective (403), a funder outside it (404).
    collective = await live.auth("collective", coop)
    refused = await live.http.post(
        f"/v1/cooperations/{coop}/invitations", json={"email": address}, headers=collective
    )
    assert refused.status_code == 403
    outsider = await live.auth("funder", "fondation-ailleurs")
    hidden = await live.http.post(
        f"/v1/cooperations/{coop}/invitations", json={"email": address}, headers=outsider
    )
    assert hidden.status_code == 404

    invited = await live.http.post(
        f"/v1/cooperations/{coop}/invitations", json={"email": address}, headers=anim
    )
    assert invited.status_code == 202, invited.text
    mail = await live.mailbox.next(address)
    assert mail.to == [address]
    # The cooperation by its name, not its id.
    assert "à suivre Collectif · Ressourcerie du Bourg dans coopflow" in mail.text
    assert coop not in mail.text.replace(mail.link("/contacts/"), "")
    link = mail.link("/contacts/")
    assert link.startswith(live.base_url + "/contacts/")
    # Invited, not yet confirmed: nothing else reaches it.
    await ask_signin_link(live, address)
    await asyncio.sleep(1)
    assert len(to(live.mailbox, address)) == 1

    async with browser(live) as client:
        accepted = await follow_link(live, link, client)
        assert accepted.status_code == 303 and accepted.headers["location"] == "/"
        home = await client.get("/")
        assert home.headers["location"] == f"/cooperations/{coop}"
        page = await client.get(f"/cooperations/{coop}")
        assert page.status_code == 200 and "Ressourcerie du Bourg" in page.text
        shown = await live.http.get("/v1/me/contacts", headers=collective)
        assert shown.json()["addresses"] == [{"email": address, "confirmed": True}]
        # Used once only.
        async with browser(live) as other:
            assert (await other.get(link)).status_code == 410

        # The collective's contacts without it: the session the invitation opened is over.
        await live.http.put("/v1/me/contacts", json={"emails": []}, headers=collective)
        gone = await client.get("/")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/signin")
