"""The funder sets up a programme in a real Chromium, without curl: it fills the programme
form (durations said as a number and a unit), publishes it, meets the error the API finds
(shares not summing to 1) at its field with everything typed kept, fixes it, reads the
published version as YAML, edits it into version 2 and reads what changed, then raises the
budget. axe audits every page on the way."""

from __future__ import annotations

import uuid

import yaml
from playwright.async_api import Page, expect

from tests.api.conftest import cooperation, programme
from tests.web.browser import Live, assert_accessible, no_third_party, sign_in
from tests.web.setup_forms import fill_programme_form


async def test_a_funder_creates_a_programme_in_the_form_and_edits_it(
    page: Page, live_server: Live
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, pid = f"fondation-{suffix}", f"coop-{suffix}"
    headers = await live.auth("funder", funder)
    blocked = await no_third_party(page)
    await sign_in(page, live, headers)

    await page.get_by_role("link", name="Créer un programme").click()
    await expect(
        page.get_by_role("heading", name="Nouveau programme de financement")
    ).to_be_visible()
    await assert_accessible(page, "programme form")
    await _fits(page)

    row1 = await fill_programme_form(page, pid)
    # The row added by posting the form back kept what was typed before it.
    row0 = page.locator('fieldset[id="phases.emergence.tranches.0"]')
    await expect(row0.get_by_label("Identifiant de la tranche")).to_have_value("amorcage")
    await page.get_by_role("button", name="Publier le programme").last.click()

    # The API's refusal, at its field: the shares add up to 0.9.
    summary = page.locator("#errors")
    await expect(summary).to_contain_text("0.9")
    amounts = page.get_by_label("Montants", exact=True)
    await expect(amounts).to_have_attribute("aria-invalid", "true")
    await expect(page.locator('[id="amounts-error"]')).to_contain_text("not 1")
    await expect(row1.get_by_label("Part du montant accordé")).to_have_value("0,4")
    await expect(page.get_by_label("Délai de grâce : nombre").first).to_have_value("15")
    await assert_accessible(page, "programme form with errors")
    await _fits(page)

    await row1.get_by_label("Part du montant accordé").fill("0,5")
    await page.get_by_role("button", name="Publier le programme").last.click()
    await expect(page.get_by_role("status")).to_have_text(
        "Le programme est publié : sa version 1 est en place."
    )
    await expect(page.locator("table")).to_contain_text("émergence (tous les 2 mois)")
    await assert_accessible(page, "programme versions")

    # Its YAML: what the API stored, ISO 8601 durations included.
    # The download link, fetched with the page's session.
    link = page.get_by_role("link", name="Télécharger la version en cours (YAML)").first
    shown = await page.request.get(live.url(str(await link.get_attribute("href"))))
    assert shown.status == 200
    assert shown.headers["content-type"].startswith("application/yaml")
    spec = yaml.safe_load(await shown.text())
    emergence = spec["phases"]["emergence"]
    assert (emergence["check_in_every"], emergence["check_in_grace"]) == ("P2M", "P15D")
    assert [t["share"] for t in emergence["tranches"]] == ["0.5", "0.5"]
    assert emergence["tranches"][1]["when"] == {"accepted_check_ins": 3}
    await page.goto(live.url(f"/programmes/{pid}/yaml"))
    await expect(page.get_by_label("Le programme en YAML")).to_contain_text("check_in_every: P2M")
    await assert_accessible(page, "programme YAML")

    # Version 2 from the form: shown as typed, a cadence changed.
    await page.goto(live.url(f"/programmes/{pid}/edit"))
    every = page.get_by_label("Point d'étape tous les : nombre").first
    await expect(every).to_have_value("2")
    await expect(page.get_by_label("Point d'étape tous les : unité").first).to_have_value("M")
    await every.fill("1")
    await page.get_by_label("Budget (enveloppe)").fill("120000.00")
    # A patient loan in the spare row, its terms said as people say them.
    loan = page.locator('fieldset[id="phases.emergence.tranches.2"]')
    await loan.get_by_label("Identifiant de la tranche").fill("pret")
    await loan.get_by_label("Montant", exact=True).fill("20 000")
    await loan.get_by_label("Destination").select_option("investment")
    await loan.get_by_label("Versée").select_option("approval")
    await loan.get_by_label("Nature").select_option("loan")
    await loan.get_by_text("Conditions du prêt").click()
    await loan.get_by_label("Taux annuel").fill("0,01")
    await loan.get_by_label("Différé : nombre").fill("6")
    await loan.get_by_label("Durée du prêt : nombre").fill("3")
    await loan.get_by_label("Durée du prêt : unité").select_option("Y")
    await loan.get_by_label("Échéance tous les : nombre").fill("3")
    await page.get_by_role("button", name="Publier la nouvelle version").last.click()
    await expect(page.get_by_role("status")).to_have_text(
        "La nouvelle version du programme est publiée."
    )
    diff = page.locator("ul.diff")
    await expect(diff).to_contain_text("Budget (enveloppe) : 100 000,00 € → 120 000,00 €")
    await expect(diff).to_contain_text("émergence · Point d'étape tous les : 2 mois → 1 mois")
    await expect(diff).to_contain_text(
        "émergence · tranche « pret » : ajouté : 20 000,00 €, investissement, sur approbation, prêt"
    )
    await assert_accessible(page, "programme versions diff")

    # The budget raised from the programme's page.
    await page.goto(live.url(f"/programmes/{pid}"))
    await page.get_by_role("link", name="Augmenter le budget").click()
    await assert_accessible(page, "budget form")
    await page.get_by_label("Augmenter de").fill("beaucoup")
    await page.get_by_role("button", name="Augmenter le budget").click()
    await expect(page.get_by_label("Augmenter de")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Augmenter de")).to_have_value("beaucoup")
    await page.get_by_label("Augmenter de").fill("5 000")
    await page.get_by_role("button", name="Augmenter le budget").click()
    await expect(page.get_by_role("status")).to_have_text("Le budget est augmenté.")
    remaining = await live.http.get(f"/v1/programmes/{pid}/dashboard", headers=headers)
    assert remaining.json()["budget"] == "125000.00"
    assert blocked == []


async def test_the_funder_records_a_repayment_and_writes_off_the_rest(
    page: Page, live_server: Live
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, pid, coop = f"banque-{suffix}", f"pret-{suffix}", f"scic-{suffix}"
    headers = await live.auth("funder", funder)
    loan = {
        "id": "pret",
        "amount": "12000.00",
        "purpose": "investment",
        "when": "entry",
        "instrument": {
            "loan": {
                "annual_rate": "0.01",
                "grace": "P6M",
                "term": "P36M",
                "installment_every": "P3M",
            }
        },
    }
    spec = programme(pid, funder)
    spec["phases"] = {"emergence": {"check_in_every": "P1M", "tranches": [loan]}}
    assert (await live.http.post("/v1/programmes", json=spec, headers=headers)).status_code == 201
    body = cooperation(
        coop,
        [pid],
        members=[{"id": "scic", "name": "SCIC du Bourg", "legal_form": "scic"}],
        fiscal_host=None,
    )
    registered = await live.http.post(
        "/v1/cooperations", json=body, headers=await live.auth("facilitator", f"pole-{suffix}")
    )
    assert registered.status_code == 201, registered.text
    accepted = await live.http.post(
        f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
        json={"accept": True},
        headers=headers,
    )
    assert accepted.status_code == 200, accepted.text

    await sign_in(page, live, headers)
    await page.goto(live.url(f"/cooperations/{coop}"))
    await page.get_by_text("Enregistrer un remboursement ou abandonner le prêt « pret »").click()
    await assert_accessible(page, "cooperation page with a loan's forms")
    await page.get_by_label("Montant remboursé").fill("1 000")
    await page.get_by_role("button", name="Enregistrer le remboursement").click()
    await expect(page.get_by_role("status")).to_have_text("Le remboursement est enregistré.")
    events = (await live.http.get(f"/v1/cooperations/{coop}/events", headers=headers)).json()
    repaid = [e for e in events["items"] if e["type"] == "RepaymentRecorded"]
    assert [e["data"]["amount"] for e in repaid] == ["1000.00"]

    await page.get_by_text("Enregistrer un remboursement ou abandonner le prêt « pret »").click()
    await page.get_by_label("Motif de l'abandon de créance").fill("Liquidation de la SCIC")
    await page.get_by_role("button", name="Abandonner ce qui reste dû").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Le reste du prêt est abandonné (passé en perte)."
    )
    # Settled: nothing more to record.
    await expect(page.get_by_text("abandonner le prêt « pret »")).to_have_count(0)
    events = (await live.http.get(f"/v1/cooperations/{coop}/events", headers=headers)).json()
    assert [e["type"] for e in events["items"]].count("LoanWrittenOff") == 1


async def _fits(page: Page) -> None:
    """Reflow (RGAA 10.11): the form fits the screen's width, a phone's included."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert page.viewport_size is not None and width <= page.viewport_size["width"]


async def test_a_funder_imports_a_programme_as_yaml(page: Page, live_server: Live) -> None:
    """The YAML kept in a file, pasted: an error is listed by its field's path, the text kept;
    once fixed it is published, and the form shows it as people say it."""
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, pid = f"fondation-{suffix}", f"yaml-{suffix}"
    headers = await live.auth("funder", funder)
    await sign_in(page, live, headers)
    spec = programme(pid, funder)
    spec["phases"]["emergence"]["check_in_every"] = "2 mois"
    written = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)

    await page.get_by_role("link", name="Importer un programme en YAML").click()
    await assert_accessible(page, "YAML import")
    await page.get_by_label("Le programme en YAML").fill(written)
    await page.get_by_role("button", name="Publier le programme").click()
    await expect(page.locator("#errors")).to_contain_text("phases.emergence.check_in_every")
    await expect(page.get_by_label("Le programme en YAML")).to_have_value(written)
    await assert_accessible(page, "YAML import with errors")

    # The file kept on disk, fixed, uploaded.
    await page.get_by_label("Ou un fichier YAML").set_input_files(
        files=[
            {
                "name": f"{pid}.yaml",
                "mimeType": "application/yaml",
                "buffer": written.replace("2 mois", "P2M").encode(),
            }
        ]
    )
    await page.get_by_role("button", name="Publier le programme").click()
    await expect(page.get_by_role("status")).to_have_text("Le programme YAML est publié.")
    await page.get_by_role("link", name="Modifier le programme").click()
    await expect(page.get_by_label("Point d'étape tous les : nombre").first).to_have_value("2")
    await expect(page.get_by_label("Point d'étape tous les : unité").first).to_have_value("M")
