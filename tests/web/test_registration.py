"""Issue 19, the facilitator on the web, in a real Chromium on the real stack: it registers a
cooperation on two programmes from the form (fixing the error the API names at its field: an
informal member named as payee), invites the collective by e-mail, the collective signs in
from the invitation in the mailbox and lands on its cooperation; once the funder accepts the
lines, the facilitator approves the tranche the rules let it approve and reads the API's
refusal of the other; its home counts what it follows. Every new page is audited with axe."""

from __future__ import annotations

import asyncio
import re
import uuid

from playwright.async_api import Browser, Locator, Page, expect

from tests.api.conftest import programme
from tests.web.browser import (
    DESKTOP,
    Live,
    assert_accessible,
    new_page,
    no_third_party,
    sign_in,
)
from tests.web.setup_forms import fill_registration_form


async def _reloaded_until(page: Page, found: Locator, tries: int = 60) -> None:
    """The home reads PostgreSQL's read models, a moment behind the workflow."""
    for _ in range(tries):
        if await found.count():
            return
        await asyncio.sleep(0.3)
        await page.reload()
    await expect(found).to_be_visible()


async def test_a_facilitator_registers_invites_and_approves_on_the_web(
    browser: Browser, live_server: Live
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, anim = f"fondation-{suffix}", f"anim-{suffix}"
    fdt, region, coop = f"fdt-{suffix}", f"region-{suffix}", f"ruche-{suffix}"
    funder_headers = await live.auth("funder", funder)
    anim_headers = await live.auth("facilitator", anim)
    for pid, name in ((fdt, "Fondation des territoires"), (region, "Région Sud")):
        made = await live.http.post(
            "/v1/programmes", json=programme(pid, funder, name=name), headers=funder_headers
        )
        assert made.status_code == 201, made.text
    address = f"collectif-{suffix}@example.org"

    async with new_page(browser, DESKTOP) as page:
        await sign_in(page, live, anim_headers)
        followed = page.locator("section[aria-labelledby=followed]")
        await expect(followed).to_contain_text("émergence\u00a0: 0")
        await expect(followed).to_contain_text("Vous ne portez les fonds d'aucune coopération.")
        await assert_accessible(page, "facilitator-home")
        await page.get_by_role("link", name="Enregistrer une coopération").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Enregistrer une coopération"
        )
        await assert_accessible(page, "register-form")

        # -- the form, with a second line added by posting it back ----------------------------
        await fill_registration_form(page, coop, "Ruche du Bourg", anim, fdt)
        # Money never goes to an informal member: the API will say so.
        await page.get_by_label("Bénéficiaire 1 (ligne 1)").fill("habitants")
        await page.get_by_label("Part du bénéficiaire 1, en % (ligne 1)").fill("100")
        await page.get_by_role("button", name="Ajouter une ligne de financement").click()
        await expect(page.get_by_label("Programme (ligne 2)")).to_be_visible()
        await expect(page.get_by_label("Nom (membre 2)")).to_have_value("AMAP du Bourg")
        await page.get_by_label("Programme (ligne 2)").select_option(region)
        await page.get_by_label("Bénéficiaire 1 (ligne 2)").fill("amap")
        await page.get_by_label("Part du bénéficiaire 1, en % (ligne 2)").fill("100")
        await page.get_by_role("button", name="Enregistrer la coopération").click()

        # -- the API's error, at its field; nothing typed is lost ------------------------------
        await expect(page.get_by_role("alert")).to_contain_text("habitants")
        at_field = page.locator("[id='funding_lines.0.allocation-error']")
        await expect(at_field).to_contain_text("informal member")
        await expect(page.get_by_role("alert").get_by_role("link")).to_have_attribute(
            "href", "#funding_lines.0.allocation"
        )
        await expect(page.get_by_label("Nom (membre 1)")).to_have_value("Collectif des habitants")
        await expect(page.get_by_label("Programme (ligne 2)")).to_have_value(region)
        await expect(page.get_by_label("Indicateurs mis en avant (ligne 1)")).to_have_value(
            "participants, repas"
        )
        await assert_accessible(page, "register-error")
        await page.get_by_label("Bénéficiaire 1 (ligne 1)").fill("amap")
        await page.get_by_label("Part du bénéficiaire 1, en % (ligne 1)").fill("50")
        await page.get_by_label("Bénéficiaire 2 (ligne 1)").fill(anim)
        await page.get_by_label("Part du bénéficiaire 2, en % (ligne 1)").fill("50")
        await page.get_by_role("button", name="Enregistrer la coopération").click()

        # -- its page, where the collective is invited -----------------------------------------
        await expect(page).to_have_url(re.compile(f"/cooperations/{coop}\\?done=registered$"))
        await expect(page.get_by_role("status")).to_contain_text("La coopération est enregistrée")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Ruche du Bourg")
        await assert_accessible(page, "cooperation-registered")
        # An address the API does not take: the invitation's own page, the error at its field.
        await page.get_by_label("Adresse électronique du collectif").fill("collectif, bourg")
        await page.get_by_role("button", name="Envoyer l'invitation").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Inviter le collectif")
        await expect(page.locator("[id='email-error']")).not_to_be_empty()
        email = page.get_by_label(re.compile("^Adresse électronique du collectif"))
        await expect(email).to_have_value("collectif, bourg")
        await expect(email).to_have_attribute("aria-invalid", "true")
        await assert_accessible(page, "invite-error")
        await email.fill(address)
        await page.get_by_role("button", name="Envoyer l'invitation").click()
        await expect(page.get_by_role("status")).to_contain_text("L'invitation est envoyée")
        await assert_accessible(page, "cooperation-invited")
        assert await no_third_party(page) == []

    # -- the collective signs in from the invitation ------------------------------------------
    mail = await live.mailbox.next(address)
    async with new_page(browser) as page:
        await page.goto(mail.link("/contacts/"))
        await assert_accessible(page, "invitation-link")
        await page.get_by_role("button", name="Accepter et me connecter").click()
        await expect(page).to_have_url(re.compile(f"/cooperations/{coop}$"))
        await expect(page.get_by_role("heading", level=1)).to_have_text("Ruche du Bourg")
    collective_headers = await live.auth("collective", coop)
    asked = await live.http.post(
        f"/v1/cooperations/{coop}/transition-requests",
        json={"action": "advance", "reason": "Nous sommes prêts"},
        headers=collective_headers,
    )
    assert asked.status_code == 201, asked.text

    # -- the funder accepts both lines: each has a tranche awaiting approval ------------------
    for pid in (fdt, region):
        accepted = await live.http.post(
            f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
            json={"accept": True},
            headers=funder_headers,
        )
        assert accepted.status_code == 200, accepted.text

    async with new_page(browser, DESKTOP) as page:
        await sign_in(page, live, anim_headers)
        await page.goto(live.url(f"/cooperations/{coop}"))
        approve = page.get_by_role("button", name=re.compile("^Approuver la tranche feu-vert"))
        await expect(approve).to_have_count(2)
        await assert_accessible(page, "cooperation-approvals")
        # Line 2 pays the AMAP alone: the facilitator may approve its tranche.
        await page.get_by_role("button", name="Approuver la tranche feu-vert (Région Sud)").click()
        await expect(page.get_by_role("status")).to_contain_text("La tranche est approuvée")
        await expect(approve).to_have_count(1)
        # Line 1 pays the facilitator itself (the host): only its funder approves; the API's
        # refusal is shown.
        await page.get_by_role(
            "button", name="Approuver la tranche feu-vert (Fondation des territoires)"
        ).click()
        await expect(page.get_by_role("alert")).to_contain_text("Cette action ne vous revient pas")
        await expect(page.get_by_role("alert")).to_contain_text("only the funder approves")

        # -- the home counts what it follows -------------------------------------------------
        await page.goto(live.url("/"))
        followed = page.locator("section[aria-labelledby=followed]")
        await _reloaded_until(page, followed.get_by_text("émergence\u00a0: 1"))
        await _reloaded_until(
            page, followed.locator("dd").filter(has=page.get_by_role("link", name="1", exact=True))
        )
        # Half of each line-1 release is the host's: 4,000 € of the 8,000 € on entry.
        await _reloaded_until(page, followed.get_by_text(re.compile("4\u202f000,00\u00a0€")))
        await expect(followed).to_contain_text("expérimentation\u00a0: 0")
        await assert_accessible(page, "facilitator-home-counts")
        await page.get_by_role("link", name=re.compile("^émergence")).click()
        await expect(page.get_by_role("table")).to_contain_text("Ruche du Bourg")

    # -- the line's funder approves the tranche the facilitator may not, beside it ------------
    async with new_page(browser, DESKTOP) as page:
        await sign_in(page, live, funder_headers)
        await page.goto(live.url(f"/cooperations/{coop}"))
        await page.get_by_role(
            "button", name="Approuver la tranche feu-vert (Fondation des territoires)"
        ).click()
        await expect(page.get_by_role("status")).to_contain_text("La tranche est approuvée")
        await expect(page.get_by_role("button", name=re.compile("^Approuver"))).to_have_count(0)
        await assert_accessible(page, "funder-approved")
