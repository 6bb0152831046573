"""The set-up forms of issue 19 filled as people fill them, shared by the browser tests that
meet them (tests/web/test_programme_setup.py, test_registration.py and the story in
test_flows_programme_set_up.py): the funder's programme form and the facilitator's
registration form."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page


async def fill_programme_form(
    page: Page, pid: str, name: str = "Coopérations du bocage", second_share: str = "0,4"
) -> Locator:
    """The new programme's form (reached from the funder's home by « Créer un programme »):
    granted amounts, 100 000 € of budget; emergence with a check-in every 2 months and 15 days
    of grace, a first tranche of half the amount granted and a second one of `second_share`
    after 3 accepted check-ins (added with « Ajouter une tranche »). `0,4` makes the shares add
    up to 0.9, which the API refuses. Returns the second tranche's row."""
    await page.get_by_label("Nom du programme").fill(name)
    await page.get_by_label("Identifiant (obligatoire)", exact=True).fill(pid)
    await page.get_by_label("Budget (enveloppe)").fill("100 000")
    await page.get_by_label("Montants", exact=True).select_option("granted")
    await page.get_by_label("Montant accordé : au moins").fill("10 000")
    await page.get_by_label("Point d'étape tous les : nombre").first.fill("2")
    await page.get_by_label("Délai de grâce : nombre").first.fill("15")
    await page.get_by_label("Délai de grâce : unité").first.select_option("D")
    row0 = page.locator('fieldset[id="phases.emergence.tranches.0"]')
    await row0.get_by_label("Identifiant de la tranche").fill("amorcage")
    await row0.get_by_label("Part du montant accordé").fill("0,5")
    # "Add a tranche" posts the form back: one more row, nothing sent, nothing lost.
    await page.get_by_role("button", name="Ajouter une tranche (émergence)").click()
    row1 = page.locator('fieldset[id="phases.emergence.tranches.1"]')
    await row1.get_by_label("Identifiant de la tranche").fill("suite")
    await row1.get_by_label("Part du montant accordé").fill(second_share)
    await row1.get_by_label("Versée").select_option("accepted_check_ins")
    await row1.get_by_label("Nombre de points d'étape validés").fill("3")
    return row1


async def fill_registration_form(
    page: Page, coop: str, name: str, host: str, pid: str, put_first: str = "habitants"
) -> None:
    """The registration form (« Enregistrer une coopération »): an informal collective of
    inhabitants and an association, `host` as fiscal host, a first line on `pid` with its
    angle, indicators and members put first. Its allocation is left to the caller."""
    await page.get_by_label("Identifiant (obligatoire)", exact=True).fill(coop)
    await page.get_by_label("Nom (obligatoire)", exact=True).fill(name)
    await page.get_by_label(re.compile("^Type de coopération")).select_option("non_modelled")
    await page.get_by_label(re.compile("^Modèle économique")).select_option("hybrid")
    await page.get_by_label("Identifiant (membre 1)").fill("habitants")
    await page.get_by_label("Nom (membre 1)").fill("Collectif des habitants")
    await page.get_by_label("Forme juridique (membre 1)").select_option("informal")
    await page.get_by_label("Identifiant (membre 2)").fill("amap")
    await page.get_by_label("Nom (membre 2)").fill("AMAP du Bourg")
    # Legal forms are shown in French.
    await page.get_by_label("Forme juridique (membre 2)").select_option(label="association")
    await page.get_by_label(re.compile("^Structure porteuse")).fill(host)
    await page.get_by_label("Programme (ligne 1)").select_option(pid)
    await page.get_by_label(re.compile(r"^Angle du projet.*\(ligne 1\)")).fill("Réemploi")
    await page.get_by_label("Indicateurs mis en avant (ligne 1)").fill("participants, repas")
    await page.get_by_label("Membres mis en avant (ligne 1)").fill(put_first)
