"""Rule 20 in a real Chromium, on the real stack: the facilitator records that the collective
founded its association, proposes an amendment (avenant) so that the line pays it, and the
funder, told by e-mail ("avenant à confirmer"), accepts it from its inbox; then the
facilitator ends the fiscal hosting (fin du portage). Every page met is audited with axe."""

from __future__ import annotations

import asyncio
import re
import uuid

from playwright.async_api import Browser, expect

from tests.api.conftest import cooperation, programme
from tests.web.browser import (
    DESKTOP,
    Live,
    assert_accessible,
    new_page,
    no_third_party,
    put_confirmed_contacts,
    sign_in,
)


async def test_an_amendment_proposed_then_accepted_from_the_funders_inbox(
    browser: Browser, live_server: Live
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, host, anim = f"fondation-{suffix}", f"pole-{suffix}", f"anim-{suffix}"
    pid, coop = f"fdt-{suffix}", f"ruche-{suffix}"
    funder_headers = await live.auth("funder", funder)
    anim_headers = await live.auth("facilitator", anim)
    made = await live.http.post(
        "/v1/programmes", json=programme(pid, funder, name="Fondation"), headers=funder_headers
    )
    assert made.status_code == 201, made.text
    body = cooperation(
        coop,
        [pid],
        name="Ruche Éphémère",
        facilitator=anim,
        fiscal_host=host,
        members=[{"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"}],
    )
    registered = await live.http.post("/v1/cooperations", json=body, headers=anim_headers)
    assert registered.status_code == 201, registered.text
    accepted = await live.http.post(
        f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
        json={"accept": True},
        headers=funder_headers,
    )
    assert accepted.status_code == 200, accepted.text
    address = f"{funder}@example.org"
    await put_confirmed_contacts(live, funder_headers, address)

    # -- the facilitator: the association is founded, the line is amended to pay it ---------
    async with new_page(browser, DESKTOP) as page:
        await sign_in(page, live, anim_headers)
        await page.goto(live.url(f"/cooperations/{coop}"))
        await page.get_by_role("link", name="Enregistrer la forme juridique d'un membre").click()
        await page.get_by_label("Membre").select_option("habitants")
        await page.get_by_label(re.compile("^Forme juridique")).select_option("association")
        await page.get_by_label(re.compile("^Numéro RNA")).fill("W123456789")
        await assert_accessible(page, "graduation-formalise")
        await page.get_by_role("button", name="Enregistrer la forme juridique").click()
        await expect(page.get_by_role("status")).to_contain_text("forme juridique du membre")

        await page.goto(live.url(f"/cooperations/{coop}"))
        await page.get_by_role("link", name=re.compile("^Proposer un avenant")).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"Avenant à la ligne {pid}")
        await page.get_by_label(re.compile(r"^Collectif des habitants \(habitants\)")).fill("100")
        await assert_accessible(page, "graduation-amend")
        assert await no_third_party(page) == []
        await page.get_by_role("button", name="Proposer l'avenant").click()
        await expect(page.get_by_role("status")).to_contain_text("L'avenant est proposé")
        await expect(page.locator("article.line")).to_contain_text("en attente de confirmation")

    # -- the funder is told, and accepts from its inbox --------------------------------------
    mail = await live.mailbox.next(address)
    assert "Avenant à confirmer" in mail.subject
    assert "Collectif des habitants (habitants), membre" in mail.text
    async with new_page(browser, DESKTOP) as page:
        await sign_in(page, live, funder_headers)
        await page.goto(live.url(f"/programmes/{pid}"))
        inbox = page.locator("section[aria-labelledby=inbox]")
        await expect(inbox.get_by_role("heading", name="Avenants à confirmer (1)")).to_be_visible()
        await expect(
            inbox.get_by_role("list", name="L'avenant paierait :").get_by_role("listitem")
        ).to_have_text(["Collectif des habitants (habitants), membre\u00a0: 100\u00a0%"])
        await assert_accessible(page, "graduation-inbox")
        await inbox.get_by_role("button", name=re.compile("^Accepter l'avenant")).click()
        await expect(page.get_by_role("status")).to_contain_text("L'avenant est accepté")
        # The inbox is read from the read model, a moment behind the workflow.
        done = inbox.get_by_role("heading", name="Avenants à confirmer (0)")
        for _ in range(60):
            if await done.count():
                break
            await asyncio.sleep(0.3)
            await page.reload()
        await expect(done).to_be_visible()

    # -- nothing pays the host any more: the facilitator ends the hosting -------------------
    async with new_page(browser, DESKTOP) as page:
        await sign_in(page, live, anim_headers)
        await page.goto(live.url(f"/cooperations/{coop}"))
        await page.get_by_role("button", name="Fin du portage").click()
        await expect(page.get_by_role("status")).to_contain_text("Le portage a pris fin")
        await expect(page.locator("dl.facts").first).to_contain_text(f"{host}, le ")
        await assert_accessible(page, "graduation-ended")

    # -- the former host keeps what it received, and sees when the hosting ended -----------
    host_headers = await live.auth("facilitator", host)
    async with new_page(browser, DESKTOP) as page:
        await sign_in(page, live, host_headers)
        await page.goto(live.url("/funds"))
        card = page.locator("section.line").filter(has_text="Ruche Éphémère")
        await expect(card).to_contain_text("Fin du portage le ")
        await expect(card).to_contain_text("8\u202f000,00\u00a0€")
        # Out of its scope now: no link to the cooperation's page.
        await expect(card.get_by_role("link")).to_have_count(0)
        await assert_accessible(page, "graduation-funds")
