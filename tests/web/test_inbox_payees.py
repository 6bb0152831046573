"""A funder sees what it accepts, on its programme's page in a real Chromium: each proposed
line's card shows what accepting commits, whom it pays and in what shares, and warns when the
facilitator proposing it would itself be paid (DESIGN.md, "Who may get in")."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import Page, expect

from tests.api.conftest import cooperation, programme
from tests.web.browser import Live, assert_accessible, no_third_party, sign_in

MEMBERS = [
    {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
    {"id": "atelier", "name": "Atelier vélo du Bourg", "legal_form": "association"},
]


async def test_the_inbox_card_shows_payees_shares_amount_and_warns_of_a_self_paying_facilitator(
    page: Page, live_server: Live
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, host, anim = f"fondation-{suffix}", f"pole-{suffix}", f"anim-{suffix}"
    pid = f"fdt-{suffix}"
    funder_headers = await live.auth("funder", funder)
    made = await live.http.post(
        "/v1/programmes", json=programme(pid, funder, name="Fondation"), headers=funder_headers
    )
    assert made.status_code == 201, made.text
    split = [{"payee": host, "share": "0.6"}, {"payee": "atelier", "share": "0.4"}]
    itself = cooperation(
        f"soi-{suffix}",
        [{"programme": pid, "allocation": split}],
        name="Ressourcerie du Bourg",
        members=MEMBERS,
        fiscal_host=host,
    )
    other = cooperation(f"autre-{suffix}", [pid], name="Jardin partagé", fiscal_host=host)
    for body, facilitator in ((itself, host), (other, anim)):
        registered = await live.http.post(
            "/v1/cooperations", json=body, headers=await live.auth("facilitator", facilitator)
        )
        assert registered.status_code == 201, registered.text

    await sign_in(page, live, funder_headers)
    await page.goto(live.url(f"/programmes/{pid}"))
    cards = page.locator("section[aria-labelledby=inbox] ul.cards").first.locator("> li")
    await expect(cards).to_have_count(2)
    own = cards.filter(has_text="Ressourcerie du Bourg")
    # Version 1's whole potential, formatted as every page formats money.
    await expect(own).to_contain_text("Accepter engage 46\u202f000,00\u00a0€ sur votre budget.")
    payees = own.get_by_role("list", name="Bénéficiaires de chaque versement\u00a0:")
    await expect(payees.get_by_role("listitem")).to_have_text(
        [
            f"{host}, structure porteuse\u00a0: 60\u00a0%",
            "Atelier vélo du Bourg (atelier), membre\u00a0: 40\u00a0%",
        ]
    )
    warning = own.locator(".warning")
    await expect(warning).to_be_visible()
    await expect(warning).to_have_text(
        f"Attention\u00a0: le tiers facilitateur qui propose cette ligne, {host}, en serait"
        " lui-même bénéficiaire."
    )
    # The warning is read with the button that would accept the line.
    accept = own.get_by_role("button", name=re.compile("^Accepter"))
    await expect(accept).to_have_accessible_description(re.compile("^Attention"))
    # An informal member's name is not shown to the funder.
    await expect(own).not_to_contain_text("Collectif des habitants")

    hosted = cards.filter(has_text="Jardin partagé")
    await expect(hosted.locator(".warning")).to_have_count(0)
    await expect(hosted.get_by_role("listitem")).to_have_text(
        [f"{host}, structure porteuse\u00a0: 100\u00a0%"]
    )
    await assert_accessible(page, "inbox-payees")
    assert await no_third_party(page) == []
