"""Issue 19's flow in a real Chromium, on the real stack: a programme set up on the web to
its forecast. Every page met is audited with axe-core and photographed for the README
(docs/screenshots/)."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import Browser, expect

from tests.api.world import eventually
from tests.web.browser import DESKTOP, Live, new_page, page_errors, sign_in
from tests.web.flows import _look, _reload_until
from tests.web.setup_forms import fill_programme_form, fill_registration_form


async def test_issue_19_a_programme_set_up_on_the_web_to_its_forecast(
    browser: Browser, live_server: Live
) -> None:
    """Nothing by curl: a funder writes its programme in the form, fixes what the API refuses
    at its field, publishes it and reads it as YAML; a facilitator registers a cooperation on
    it and invites the collective, which signs in from the e-mail and reads its échéancier;
    the funder grants the line and reads what will leave its account on its dashboard."""
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    pid, coop = f"bocage-{suffix}", f"ruche-{suffix}"
    funder = await live.auth("funder", f"fondation-{suffix}")
    anim = f"anim-{suffix}"
    address = f"collectif-{suffix}@example.org"

    # -- the funder writes its programme, the API's error at its field, and publishes it -------
    async with new_page(browser, DESKTOP) as page:
        errors = page_errors(page)
        await sign_in(page, live, funder)
        await page.get_by_role("link", name="Créer un programme").click()
        second = await fill_programme_form(page, pid)
        await page.get_by_role("button", name="Publier le programme").last.click()
        # The shares add up to 0.9: refused, said at its field, nothing typed lost.
        await expect(page.locator("#errors")).to_contain_text("0.9")
        await expect(page.get_by_label("Montants", exact=True)).to_have_attribute(
            "aria-invalid", "true"
        )
        await expect(page.locator('[id="amounts-error"]')).to_contain_text("not 1")
        await expect(second.get_by_label("Part du montant accordé")).to_have_value("0,4")
        await _look(page, "funder-programme-form", errors, status=422)
        await second.get_by_label("Part du montant accordé").fill("0,5")
        await page.get_by_role("button", name="Publier le programme").last.click()
        await expect(page.get_by_role("status")).to_have_text(
            "Le programme est publié : sa version 1 est en place."
        )
        await _look(page, "funder-programme-versions", errors)
        await page.goto(live.url(f"/programmes/{pid}/yaml"))
        shown = page.get_by_label("Le programme en YAML")
        await expect(shown).to_contain_text("check_in_every: P2M")
        await expect(shown).to_contain_text("check_in_grace: P15D")
        await _look(page, "funder-programme-yaml", errors)

    # -- the facilitator registers a cooperation on it and invites the collective --------------
    async with new_page(browser, DESKTOP) as page:
        errors = page_errors(page)
        await sign_in(page, live, await live.auth("facilitator", anim))
        await page.get_by_role("link", name="Enregistrer une coopération").click()
        await fill_registration_form(page, coop, "Ruche du Bourg", anim, pid)
        await page.get_by_label("Bénéficiaire 1 (ligne 1)").fill("amap")
        await page.get_by_label("Part du bénéficiaire 1, en % (ligne 1)").fill("100")
        await _look(page, "facilitator-register", errors)
        await page.get_by_role("button", name="Enregistrer la coopération").click()
        await expect(page.get_by_role("status")).to_contain_text("La coopération est enregistrée")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Ruche du Bourg")
        await page.get_by_label("Adresse électronique du collectif").fill(address)
        await page.get_by_role("button", name="Envoyer l'invitation").click()
        await expect(page.get_by_role("status")).to_contain_text("L'invitation est envoyée")
        await _look(page, "facilitator-invite", errors)

    # -- the collective signs in from the invitation and reads its échéancier ----------------
    mail = await live.mailbox.next(address)
    # On a desktop: on a phone the échéancier's dates are in its scrolled part.
    async with new_page(browser, DESKTOP) as page:
        errors = page_errors(page)
        await page.goto(mail.link("/contacts/"))
        await _look(page, "collective-invitation", errors)
        await page.get_by_role("button", name="Accepter et me connecter").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Ruche du Bourg")
        echeancier = page.locator("section[aria-labelledby=echeancier]")
        await expect(echeancier.get_by_role("heading")).to_have_text("Échéancier prévisionnel")
        rows = echeancier.locator("tbody tr")
        await expect(rows.filter(has_text="amorcage")).to_have_count(1)
        await expect(rows.filter(has_text="suite")).to_have_count(1)
        # The line only proposed: both tranches wait for its funder.
        await expect(
            rows.filter(has_text="à l'acceptation de la ligne par son financeur")
        ).to_have_count(2)
        await _look(page, "collective-echeancier", errors)

    # -- the funder grants the line and reads the forecast on its dashboard -------------------
    async with new_page(browser, DESKTOP) as page:
        errors = page_errors(page)
        await sign_in(page, live, funder)
        await page.goto(live.url(f"/programmes/{pid}"))
        card = page.locator("section[aria-labelledby=inbox] ul.cards").first.locator("> li")
        await expect(card).to_have_count(1)
        await card.get_by_label("Montant accordé (EUR)").fill("20 000")
        await card.get_by_role("button", name=re.compile("^Accepter")).click()
        await expect(page.get_by_role("status")).to_contain_text("acceptée")
        # Half of the 20 000 € granted is released at once; the other half, after three
        # check-ins two months apart, is ahead: in the forecast's accepted lines once the
        # read models follow the acceptance.
        await eventually(
            live.http,
            f"/v1/programmes/{pid}/forecast",
            funder,
            lambda f: f if f["accepted"]["releases"] else None,
        )
        inbox = page.locator("section[aria-labelledby=inbox]")
        await _reload_until(page, inbox, "Lignes proposées (0)")
        forecast = page.locator("section", has=page.get_by_role("heading", name="Prévisions"))
        accepted = forecast.locator("#forecast-table tbody tr td:first-of-type")
        await expect(accepted.filter(has_text="10\u202f000,00\u00a0€")).to_have_count(1)
        await expect(forecast.locator("#forecast-runs-out")).to_contain_text("L'enveloppe suffit")
        await expect(forecast.locator("#plot-chart-forecast svg")).to_be_visible()
        await _look(page, "funder-forecast", errors)
