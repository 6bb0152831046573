"""The funder's webhooks in a real Chromium: a subscription refused at its URL's field (a
private address), one made with the secret the page offers, its deliveries with each attempt,
one sent again, and the subscription deleted; axe on every page."""

from __future__ import annotations

import re
import socket
import uuid
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.api.conftest import cooperation, programme
from tests.web.browser import Live, assert_accessible, sign_in


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # The receiver is on loopback, as an operator's allow-list permits; private networks stay
    # refused.
    return {"webhook_allow_networks": "127.0.0.0/8"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_funder_subscribes_a_webhook_and_sends_a_delivery_again(
    page: Page, live_server: Live
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, pid = f"fondation-{suffix}", f"hook-{suffix}"
    headers = await live.auth("funder", funder)
    await sign_in(page, live, headers)

    await page.get_by_role("link", name="Webhooks").first.click()
    await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    await assert_accessible(page, "webhooks")
    secret = page.get_by_label("Secret de signature")
    offered = await secret.input_value()
    assert offered.startswith("whsec_")

    await page.get_by_label("Adresse (URL) qui reçoit les événements").fill("http://10.1.2.3/hook")
    await page.get_by_label("FundingLineProposed").check()
    await page.get_by_role("button", name="Ajouter le webhook").click()
    url = page.get_by_label("Adresse (URL) qui reçoit les événements")
    await expect(url).to_have_attribute("aria-invalid", "true")
    await expect(page.locator('[id="url-error"]')).to_contain_text("public Internet")
    await expect(page.get_by_label("FundingLineProposed")).to_be_checked()
    await expect(secret).to_have_value(offered)
    await assert_accessible(page, "webhooks with an error")

    # Nothing listens there: each attempt fails, and says so plainly.
    await url.fill(f"http://127.0.0.1:{_closed_port()}/hook")
    await page.get_by_role("button", name="Ajouter le webhook").click()
    await expect(page.get_by_role("status")).to_have_text("Le webhook est ajouté.")

    made = await live.http.post("/v1/programmes", json=programme(pid, funder), headers=headers)
    assert made.status_code == 201, made.text
    registered = await live.http.post(
        "/v1/cooperations",
        json=cooperation(f"ruche-{suffix}", [pid], fiscal_host=f"pole-{suffix}"),
        headers=await live.auth("facilitator", f"pole-{suffix}"),
    )
    assert registered.status_code == 201, registered.text

    await page.get_by_role("link", name=re.compile(r"^http:..127\.0\.0\.1")).click()
    await assert_accessible(page, "a webhook's deliveries")
    attempts = page.locator("ol.tries li")
    for _ in range(100):
        if await attempts.count():
            break
        await page.wait_for_timeout(100)
        await page.reload()
    await expect(page.locator("ul.cards")).to_contain_text("FundingLineProposed")
    await expect(attempts.first).to_contain_text("connection refused")
    tried = await attempts.count()

    await page.get_by_role("button", name=re.compile("^Renvoyer")).first.click()
    await expect(page.get_by_role("status")).to_have_text("L'envoi repart maintenant.")
    for _ in range(100):
        if await attempts.count() > tried:
            break
        await page.wait_for_timeout(100)
        await page.reload()
    assert await attempts.count() > tried

    await page.get_by_role("button", name="Supprimer ce webhook").click()
    await expect(page.get_by_role("status")).to_have_text("Le webhook est supprimé.")
    assert (await live.http.get("/v1/webhooks", headers=headers)).json() == []
