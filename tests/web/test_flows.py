"""The three people's flows in a real Chromium, on the real stack: a funder accepts a line
proposed to it and sees the release on its plot; a collective signs in from the link e-mailed
to it and checks in; its facilitator accepts the check-in and advances the phase after reading
what will happen. Every page met is audited with axe-core (no serious or critical violation)
and photographed for the README (docs/screenshots/). A last flow shows rules 3's pages: a
funder's inbox with an amount to grant, a convention to record, versements to pay and an
avenant to confirm; a collective's versements; an avenant proposed; a hosting ended."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Locator, Page, expect

from domain.durations import add
from i18n import Formats
from tests.api.conftest import cooperation, programme
from tests.api.test_amount_granted import granted_programme
from tests.api.world import eventually, ok
from tests.web.browser import (
    DESKTOP,
    DOCS_SCREENSHOTS,
    PHONE,
    ROOT,
    Live,
    assert_accessible,
    new_page,
    no_third_party,
    page_errors,
    put_confirmed_contacts,
    screenshot,
    sign_in,
)
from tests.web.setup_forms import fill_programme_form, fill_registration_form

README = ROOT / "README.md"


async def _look(
    page: Page, name: str, errors: list[str], status: int = 200, picture: bool = True
) -> None:
    """Every page met: accessible, nothing asked of another host, no script error; and its
    picture for the README. A form sent back with its errors is a 422, which Chromium logs."""
    await page.wait_for_load_state()
    await assert_accessible(page, name)
    # Reflow (RGAA 10.11, WCAG 1.4.10): the page fits the screen's width, a phone's included;
    # only a wide table scrolls, in a region of its own.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert page.viewport_size is not None and width <= page.viewport_size["width"], name
    assert await no_third_party(page) == [], name
    answered = f"the server responded with a status of {status}"
    assert [e for e in errors if answered not in e] == [], f"{name}: {errors}"
    errors.clear()
    if picture:
        await screenshot(page, name)


async def _reload_until(page: Page, where: Locator, text: str, seconds: float = 20) -> None:
    """The page read again until `where` shows `text`: read models follow the workflow."""
    deadline = asyncio.get_running_loop().time() + seconds
    while text not in (await where.inner_text()):
        assert asyncio.get_running_loop().time() < deadline, f"never shown: {text!r}"
        await asyncio.sleep(0.3)
        await page.reload()


async def _world(live: Live) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6]
    funder, facilitator = f"fondation-{suffix}", f"anim-{suffix}"
    pid, coop = f"fdt-{suffix}", f"ressourcerie-{suffix}"
    funder_headers = await live.auth("funder", funder)
    facilitator_headers = await live.auth("facilitator", facilitator)
    spec = programme(pid, funder, name="Fondation des territoires")
    made = await live.http.post("/v1/programmes", json=spec, headers=funder_headers)
    assert made.status_code == 201, made.text
    body = cooperation(coop, [pid], facilitator=facilitator, fiscal_host=facilitator)
    registered = await live.http.post("/v1/cooperations", json=body, headers=facilitator_headers)
    assert registered.status_code == 201, registered.text
    return {
        "programme": pid,
        "coop": coop,
        "funder": funder_headers,
        "facilitator": facilitator_headers,
        "collective": await live.auth("collective", coop),
    }


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


async def test_rules_3_a_granted_line_its_convention_versements_and_an_avenant(
    browser: Browser, live_server: Live
) -> None:
    """Rules 17 to 20 as people meet them: a granted programme that requires a convention
    and pays within 60 days. Four cooperations of one facilitator, hosted by one structure
    porteuse: one paid and ordered, one without its convention, one proposed, one whose
    association is paid through an avenant, after which its hosting ends."""
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, anim, host, pid = (
        f"fondation-{suffix}",
        f"anim-{suffix}",
        f"pole-{suffix}",
        f"fdt3-{suffix}",
    )
    paid, unsigned, proposed, amended = (
        f"ressourcerie-{suffix}",
        f"ruche-{suffix}",
        f"jardin-{suffix}",
        f"atelier-{suffix}",
    )
    fh = await live.auth("funder", funder)
    ah = await live.auth("facilitator", anim)
    spec = granted_programme(
        pid, funder, name="Fondation des territoires", convention="required", payment_within="P60D"
    )
    await ok(await live.http.post("/v1/programmes", json=spec, headers=fh), 201)
    names = {
        paid: "Ressourcerie du Bourg",
        unsigned: "Ruche Éphémère",
        proposed: "Jardin partagé des Tilleuls",
        amended: "Atelier vélo",
    }
    for coop, name in names.items():
        body = cooperation(coop, [pid], name=name, facilitator=anim, fiscal_host=host)
        await ok(await live.http.post("/v1/cooperations", json=body, headers=ah), 201)
    today = datetime.now(UTC).date()
    for coop, amount in ((paid, "30000.00"), (unsigned, "20000.00"), (amended, "15000.00")):
        decision = {"accept": True, "amount": amount}
        await ok(
            await live.http.post(
                f"/v1/cooperations/{coop}/funding-lines/{pid}/decision", json=decision, headers=fh
            )
        )
    for coop in (paid, amended):
        convention = {"reference": f"CONV-{coop}", "signed_on": str(today - timedelta(days=3))}
        await ok(
            await live.http.post(
                f"/v1/cooperations/{coop}/funding-lines/{pid}/convention",
                json=convention,
                headers=fh,
            ),
            201,
        )
    # Their conventions signed, the entry tranches are ordered; the first one's is paid
    # today, and its second tranche approved, so ordered.
    await eventually(
        live.http,
        f"/v1/programmes/{pid}/inbox",
        fh,
        lambda inbox: len(inbox["versements_to_pay"]) == 2,
    )
    payment = {"line": pid, "tranche": "amorcage", "paid_on": str(today)}
    await ok(
        await live.http.post(f"/v1/cooperations/{paid}/payments", json=payment, headers=fh), 201
    )
    approval = {"line": pid, "tranche": "suite"}
    await ok(await live.http.post(f"/v1/cooperations/{paid}/approvals", json=approval, headers=fh))
    # Sixty days cannot pass here: the read model's versement of the last one is moved back
    # seventy days, as if they had, for the inbox to show one late (as tests/api/
    # test_versements.py does; VersementLate itself is tested in tests/domain and through
    # simulate).
    await eventually(
        live.http,
        f"/v1/programmes/{pid}/inbox",
        fh,
        lambda inbox: (
            len(inbox["versements_to_pay"]) == 2
            and {v["cooperation"] for v in inbox["versements_to_pay"]} == {paid, amended}
        ),
    )
    async with live.pool.acquire() as conn:
        moved = await conn.execute(
            "UPDATE ledger SET at = at - interval '70 days', due_by = due_by - 70"
            " WHERE cooperation_id = $1 AND payable AND paid_on IS NULL",
            amended,
        )
    assert moved == "UPDATE 1"
    await ok(
        await live.http.post(
            f"/v1/cooperations/{amended}/members/habitants/formalise",
            json={"legal_form": "association", "rna": "W123456789"},
            headers=ah,
        )
    )

    # -- the facilitator proposes an avenant: the new association is paid, not the host --------
    async with new_page(browser, PHONE) as page:
        errors = page_errors(page)
        await sign_in(page, live, ah)
        await page.goto(live.url(f"/cooperations/{amended}"))
        await page.get_by_role("link", name=re.compile("^Proposer un avenant")).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"Avenant à la ligne {pid}")
        await page.get_by_label(re.compile(r"^Collectif des habitants \(habitants\)")).fill("100")
        await _look(page, "facilitator-amendment", errors)
        await page.get_by_role("button", name="Proposer l'avenant").click()
        await expect(page.get_by_role("status")).to_contain_text("L'avenant est proposé")

    # -- the funder's inbox: a line to grant, a convention, versements, an avenant -----------
    async with new_page(browser, DESKTOP) as page:
        errors = page_errors(page)
        await sign_in(page, live, fh)
        await page.goto(live.url(f"/programmes/{pid}"))
        inbox = page.locator("section[aria-labelledby=inbox]")
        await _reload_until(page, inbox, "Avenants à confirmer (1)")
        await expect(
            inbox.get_by_role("heading", name="Conventions à enregistrer (1)")
        ).to_be_visible()
        await expect(inbox.get_by_role("heading", name="Versements à payer (2)")).to_be_visible()
        await expect(inbox.get_by_text("en retard")).to_have_count(1)
        await expect(page.locator("#versements-late")).to_contain_text("1, pour ")
        card = inbox.locator("ul.cards").first.locator("> li")
        await expect(card).to_have_count(1)
        await card.get_by_label("Montant accordé (EUR)").fill("25 000")
        await expect(card.get_by_role("button", name=re.compile("^Accepter"))).to_be_visible()
        await _look(page, "funder-inbox-rules3", errors)
        await inbox.get_by_role("button", name=re.compile("^Accepter l'avenant")).click()
        await expect(page.get_by_role("status")).to_contain_text("L'avenant est accepté")

    # -- the collective reads its versements: one paid, one to pay by its date ---------------
    # On a desktop: on a phone the table's dates are in its scrolled part, out of the picture.
    async with new_page(browser, DESKTOP) as page:
        errors = page_errors(page)
        await sign_in(page, live, await live.auth("collective", paid))
        await page.goto(live.url(f"/cooperations/{paid}"))
        rows = page.get_by_role("table", name=re.compile("^Versements de la ligne ")).get_by_role(
            "row"
        )
        await _reload_until(page, rows.nth(2), "à payer au plus tard le")
        day = Formats("fr").day
        await expect(rows.nth(1)).to_contain_text(f"ordonné le {day(today)} · payé le {day(today)}")
        await expect(rows.nth(2)).to_contain_text(
            f"ordonné le {day(today)} · à payer au plus tard le {day(add(today, 'P60D'))}"
        )
        await _look(page, "collective-versements", errors)

    # -- the hosting ends; the former host keeps what it was ordered, and sees when -----------
    await ok(await live.http.post(f"/v1/cooperations/{amended}/hosting/end", headers=ah))
    async with new_page(browser, DESKTOP) as page:
        errors = page_errors(page)
        hh = await live.auth("facilitator", host)
        await sign_in(page, live, hh)
        await page.goto(live.url("/funds"))
        ended = page.locator("section.line").filter(has_text="Atelier vélo")
        await _reload_until(page, ended, "Fin du portage le ")
        await _look(page, "facilitator-funds-ended", errors)


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


def test_the_readme_shows_every_page_the_flows_photograph() -> None:
    looks = re.findall(r'_look\(page, "([a-z0-9-]+)", errors(.*?)\)', Path(__file__).read_text())
    taken = {name for name, more in looks if "picture=False" not in more}
    shown = set(re.findall(r"docs/screenshots/([a-z0-9-]+)\.png", README.read_text()))
    kept = {p.stem for p in DOCS_SCREENSHOTS.glob("*.png")}
    assert taken == shown == kept
    # The flows alone take the README's pictures (`make screenshots` runs this file): a
    # picture taken elsewhere would land in docs/screenshots unaccounted for.
    elsewhere = [
        test.name
        for test in Path(__file__).parent.glob("test_*.py")
        if test.name != Path(__file__).name
        and re.search(r"\bscreenshot\(page, \"[^\"]+\"\)", test.read_text())
    ]
    assert elsewhere == []
