"""The three people's flows in a real Chromium, on the real stack: a funder accepts a line
proposed to it and sees the release on its plot; a collective signs in from the link e-mailed
to it and checks in; its facilitator accepts the check-in and advances the phase after reading
what will happen. Every page met is audited with axe-core (no serious or critical violation)
and photographed for the README (docs/screenshots/). The other flows are test_flows_*.py:
rules 3's pages (test_flows_rules_3.py) and a programme set up on the web
(test_flows_programme_set_up.py)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.web.browser import (
    DESKTOP,
    DOCS_SCREENSHOTS,
    PHONE,
    Live,
    new_page,
    page_errors,
    put_confirmed_contacts,
    sign_in,
)
from tests.web.flows import README, _look, _reload_until, _world


async def test_a_cooperation_from_a_proposed_line_to_its_next_phase(
    browser: Browser, live_server: Live
) -> None:
    live = live_server
    w = await _world(live)
    coop, pid = w["coop"], w["programme"]

    # -- the funder accepts the line proposed to it, and sees the release on its plot ----------
    async with new_page(browser, DESKTOP) as page:
        errors = page_errors(page)
        await page.goto(live.url("/signin"))
        await _look(page, "signin", errors)
        await sign_in(page, live, w["funder"])
        await expect(page.get_by_role("heading", level=1)).to_have_text("Vos programmes")
        await _look(page, "funder-home", errors)
        await page.get_by_role("link", name="Fondation des territoires").click()
        inbox = page.locator("#inbox ~ ul, section[aria-labelledby=inbox]")
        await expect(inbox.get_by_role("button", name=re.compile("^Accepter"))).to_have_count(1)
        await _look(page, "funder-programme-before", errors)
        await inbox.get_by_role("button", name=re.compile("^Accepter")).click()
        await expect(page.get_by_role("status")).to_contain_text("acceptée")
        plot = page.locator("#plot-chart-releases")
        # The entry tranche (8 000 € for animation) is released once the commitment is made,
        # a moment after the acceptance: on the plot and in its table when the page is read
        # again.
        await _reload_until(page, plot.locator("table"), "8\u202f000,00\u00a0€")
        await expect(plot.locator("svg [data-step]")).not_to_have_count(0)
        await _look(page, "funder-programme", errors)

    # -- the collective signs in from the link e-mailed to it and checks in -------------------
    address = f"{coop}@example.org"
    await put_confirmed_contacts(live, w["collective"], address)
    async with new_page(browser, PHONE) as page:
        errors = page_errors(page)
        await page.goto(live.url("/signin"))
        await page.get_by_label("Adresse électronique", exact=True).fill(address)
        await page.get_by_role("button", name="Recevoir un lien de connexion").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Regardez vos courriels")
        await _look(page, "signin-sent", errors)
        mail = await live.mailbox.next(address)
        await page.goto(mail.link("/signin/"))
        await _look(page, "signin-link", errors)
        await page.get_by_role("button", name="Me connecter").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Ressourcerie du Bourg")
        await expect(page.locator("dl.facts").first).to_contain_text("émergence")
        await _look(page, "collective-cooperation", errors)

        await page.get_by_role("link", name="Faire mon point d'étape").click()
        await page.get_by_role("button", name="Envoyer le point d'étape").click()
        # Nothing typed: the error is named and leads to its field.
        await expect(page.get_by_role("alert")).to_contain_text("obligatoire")
        await _look(page, "collective-check-in-error", errors, status=422)
        await page.get_by_label(re.compile("^Où en êtes-vous")).fill(
            "Trois ateliers de réparation, un nouveau bénévole."
        )
        await page.get_by_label("Nom de l'indicateur 1", exact=True).fill("participants")
        await page.get_by_label("Valeur de l'indicateur 1", exact=True).fill("23")
        await page.get_by_label("Vos besoins", exact=True).fill("Un local pour l'hiver")
        await _look(page, "collective-check-in", errors)
        await page.get_by_role("button", name="Envoyer le point d'étape").click()
        await expect(page.get_by_role("status")).to_contain_text("point d'étape est envoyé")
        await expect(page.locator("#check-ins ~ ul")).to_contain_text("Trois ateliers")

        await page.get_by_role("link", name="Demander une transition").first.click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Demander une transition")
        await _look(page, "collective-request", errors)

    # -- the facilitator accepts the check-in and advances the phase --------------------------
    async with new_page(browser, PHONE) as page:
        errors = page_errors(page)
        await sign_in(page, live, w["facilitator"])
        await expect(page.get_by_role("heading", level=1)).to_have_text("Coopérations suivies")
        await _look(page, "facilitator-home", errors)
        await page.get_by_role("link", name="Points d'étape à relire").click()
        await _look(page, "facilitator-review-queue", errors)
        await page.get_by_role("link", name=re.compile("^Relire le point d'étape")).first.click()
        await expect(page.locator("main")).to_contain_text("Trois ateliers")
        await _look(page, "facilitator-review", errors)
        await page.get_by_label("Valider le point d'étape", exact=True).check()
        await page.get_by_label("Commentaire pour le collectif", exact=True).fill(
            "Bravo, continuez !"
        )
        await page.get_by_role("button", name="Enregistrer la relecture").click()
        await expect(page.get_by_role("status")).to_contain_text("relecture est enregistrée")
        await expect(page.locator("#check-ins ~ ul")).to_contain_text("Bravo, continuez !")

        await page.get_by_role("link", name="Passer à la phase suivante").click()
        await _look(page, "facilitator-move", errors)
        await page.get_by_role("button", name="Voir ce qui va se passer").click()
        confirm = page.locator("section.confirm")
        await expect(confirm).to_contain_text("expérimentation")
        await expect(confirm).to_contain_text("30\u202f000,00\u00a0€")
        await expect(confirm).to_contain_text("Calendrier recalé")
        await _look(page, "facilitator-move-confirm", errors)
        # Nothing happened yet: the preview changes nothing.
        summary = await live.http.get(f"/v1/cooperations/{coop}", headers=w["facilitator"])
        assert summary.json()["phase"] == "emergence"
        await page.get_by_role("button", name="Confirmer").click()
        await expect(page.get_by_role("status")).to_contain_text("transition est faite")
        await expect(page.locator("dl.facts").first).to_contain_text("expérimentation")
        await expect(page.locator("ol.timeline li.milestone").first).to_contain_text(
            "entre dans la phase d'expérimentation"
        )
        await _look(page, "facilitator-cooperation", errors)

        await page.goto(live.url(f"/cooperations/{coop}/members"))
        await _look(page, "facilitator-members", errors)
        await page.goto(live.url(f"/cooperations/{coop}/lines"))
        await _look(page, "facilitator-lines", errors)
        await page.goto(live.url("/funds"))
        await expect(page.locator("main")).to_contain_text("45\u202f000,00\u00a0€")
        await _look(page, "facilitator-funds", errors)
        await page.goto(live.url("/accessibility"))
        await _look(page, "accessibility", errors)

    # -- the funder sees both releases on its plot, in English too ------------------------------
    async with new_page(browser, DESKTOP) as page:
        errors = page_errors(page)
        await sign_in(page, live, w["funder"])
        await page.goto(live.url(f"/programmes/{pid}"))
        table = page.locator("#plot-chart-releases table")
        await _reload_until(page, table, "45\u202f000,00\u00a0€")
        await page.get_by_role("link", name="English").click()
        # Its programme by name, the id beside it as a hint.
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Programme “Fondation des territoires” ({pid})"
        )
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(table).to_contain_text("€45,000.00")
        await _look(page, "funder-programme-en", errors)
        await page.goto(live.url(f"/cooperations/{coop}"))
        await _look(page, "funder-cooperation-en", errors)

    # -- the dashboard on a small phone ---------------------------------------------------------
    async with new_page(browser, {"width": 320, "height": 640}) as page:
        errors = page_errors(page)
        await sign_in(page, live, w["funder"])
        await page.goto(live.url(f"/programmes/{pid}"))
        await _look(page, "funder-programme-phone", errors, picture=False)
        # One month of releases: nothing to play, so no button (test_animation.py plays one).
        await expect(page.locator("p.animate")).to_be_hidden()

    # -- the facilitator closes the cooperation; the funder reads its final report ----------------
    async with new_page(browser, PHONE) as page:
        errors = page_errors(page)
        await sign_in(page, live, w["facilitator"])
        await page.goto(live.url(f"/cooperations/{coop}"))
        await page.get_by_role("link", name="Clore").click()
        await page.get_by_label(re.compile("^Issue")).select_option("completed")
        await page.get_by_role("button", name="Voir ce qui va se passer").click()
        await expect(page.locator("section.confirm")).to_contain_text("Aucun point d'étape")
        await page.get_by_role("button", name="Confirmer").click()
        await expect(page.locator("dl.facts").first).to_contain_text("Close : achevée")
        await page.goto(live.url("/nowhere"))
        await _look(page, "not-found", errors, status=404, picture=False)
    async with new_page(browser, DESKTOP) as page:
        errors = page_errors(page)
        await sign_in(page, live, w["funder"])
        await page.goto(live.url(f"/cooperations/{coop}"))
        reports = page.locator("#reports ~ ul")
        await _reload_until(page, page.locator("main"), "Télécharger (Markdown)")
        await reports.get_by_role("link", name=re.compile("^Lire")).first.click()
        await expect(page.locator("h1")).to_contain_text("Ressourcerie du Bourg")
        await _look(page, "funder-report", errors, picture=False)


def test_the_readme_shows_every_page_the_flows_photograph() -> None:
    flows = sorted(Path(__file__).parent.glob("test_flows*.py"))
    looks = [
        look
        for flow in flows
        for look in re.findall(r'_look\(page, "([a-z0-9-]+)", errors(.*?)\)', flow.read_text())
    ]
    taken = {name for name, more in looks if "picture=False" not in more}
    shown = set(re.findall(r"docs/screenshots/([a-z0-9-]+)\.png", README.read_text()))
    kept = {p.stem for p in DOCS_SCREENSHOTS.glob("*.png")}
    assert taken == shown == kept
    # The flows alone take the README's pictures (`make screenshots` runs these files): a
    # picture taken elsewhere would land in docs/screenshots unaccounted for.
    elsewhere = [
        test.name
        for test in Path(__file__).parent.glob("test_*.py")
        if test not in flows and re.search(r"\bscreenshot\(page, \"[^\"]+\"\)", test.read_text())
    ]
    assert elsewhere == []
