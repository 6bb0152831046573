"""A funder sees what it accepts (DESIGN.md, "Who may get in, and what nobody may abuse"): a
facilitator that is also the fiscal host proposes a line paying itself; before accepting, the
funder is told so by its inbox (API and web page) and by the e-mail about the proposal, with
the payees, their shares and the amount that accepting commits. Nothing is committed until it
accepts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.web.session import SESSION_COOKIE
from store.tokens import create_token
from tests.api.conftest import cooperation, programme
from tests.web.browser import Live, put_confirmed_contacts

pytestmark = [pytest.mark.integration]

NBSP = "\u00a0"


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # httpx keeps Secure cookies for https only.
    return {"web_secure_cookies": False}


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


async def test_a_line_its_facilitator_proposes_to_pay_itself_is_shown_so_before_acceptance(
    live_server: Live,
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, pole, pid = f"fondation-{suffix}", f"pole-{suffix}", f"fdt-{suffix}"
    coop = f"ressourcerie-{suffix}"
    fondation = await live.auth("funder", funder)
    facilitator = await live.auth("facilitator", pole)
    address = f"{funder}@example.org"
    await put_confirmed_contacts(live, fondation, address)
    await _ok(
        await live.http.post("/v1/programmes", json=programme(pid, funder), headers=fondation), 201
    )
    # Registered with no line, then the line proposed: the facilitator hosts the cooperation
    # and names itself for 90 % of every release.
    members = [
        {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
        {"id": "atelier", "name": "Atelier vélo du Bourg", "legal_form": "association"},
    ]
    body = cooperation(coop, [], members=members, fiscal_host=pole)
    await _ok(await live.http.post("/v1/cooperations", json=body, headers=facilitator), 201)
    allocation = [{"payee": pole, "share": "0.9"}, {"payee": "atelier", "share": "0.1"}]
    await _ok(
        await live.http.post(
            f"/v1/cooperations/{coop}/funding-lines",
            json={"programme": pid, "allocation": allocation},
            headers=facilitator,
        ),
        201,
    )

    # The inbox says who is paid, in what shares, what accepting commits, and that the
    # facilitator proposing the line is among the payees.
    inbox: dict[str, Any] = {}
    for _ in range(200):
        inbox = await _ok(await live.http.get(f"/v1/programmes/{pid}/inbox", headers=fondation))
        if inbox["proposed_lines"]:
            break
        await asyncio.sleep(0.05)
    [line] = inbox["proposed_lines"]
    assert line["cooperation"] == coop and line["facilitator"] == pole
    assert line["facilitator_is_payee"] is True
    assert line["payees"] == [
        {"payee": pole, "share": "0.9", "kind": "fiscal_host", "name": None},
        {"payee": "atelier", "share": "0.1", "kind": "member", "name": "Atelier vélo du Bourg"},
    ]
    assert (line["amount"], line["currency"]) == ("46000.00", "EUR")

    # So does the funder's programme page, with the warning.
    async with live.pool.acquire() as conn:
        _, token = await create_token(conn, "funder", funder, expires_in=timedelta(hours=1))
    async with httpx.AsyncClient(base_url=live.base_url) as browser:
        browser.cookies.set(SESSION_COOKIE, token)
        page = await browser.get(f"/programmes/{pid}")
        assert page.status_code == 200, page.text
        assert f"le tiers facilitateur qui propose cette ligne, {pole}, en serait" in page.text
        assert f"{pole}, structure porteuse{NBSP}: 90{NBSP}%" in page.text
        assert "Atelier vélo du Bourg (atelier), membre" in page.text
        assert "46\u202f000,00\u00a0€" in page.text

    # And the e-mail about the proposal, warning first.
    mail = await live.mailbox.next(address)
    assert "Une ligne de financement attend votre décision" in mail.subject
    warning = mail.text.index(f"Attention{NBSP}: le tiers facilitateur qui propose cette ligne")
    assert warning < mail.text.index(f"Part de {pole}, structure porteuse{NBSP}: 90{NBSP}%")
    assert "Part de Atelier vélo du Bourg (atelier), membre" in mail.text
    assert "Collectif des habitants" not in mail.text

    # Until the funder accepts, nothing is committed against its budget.
    state = await _ok(await live.http.get(f"/v1/cooperations/{coop}", headers=fondation))
    assert [(x["line"], x["status"], x["committed"]) for x in state["lines"]] == [
        (pid, "proposed", "0.00")
    ]
