"""The collective in a real Chromium, on the real stack: invited by its facilitator, it signs
in from the e-mail, reads its échéancier prévisionnel on its page (each tranche to come with
its date, or the condition it waits for, in French; the amounts formatted), then manages its
contacts from its menu: a wrong address refused at its field, a new one added, confirmed from
the e-mail it receives, and removed. Every page met is audited with axe."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from html import unescape
from typing import Any

from playwright.async_api import Browser, expect

from api.web.render import ENV
from domain.durations import add
from i18n import Formats, Words
from tests.api.conftest import cooperation, programme
from tests.api.world import eventually
from tests.web.browser import (
    DESKTOP,
    Live,
    assert_accessible,
    new_page,
    no_third_party,
)

FR = Formats("fr")


def _programme(pid: str, funder: str) -> dict[str, Any]:
    spec = programme(pid, funder, name="Fondation des Communs")
    emergence = spec["phases"]["emergence"]["tranches"]
    emergence[1]["when"] = {"accepted_check_ins": 3}
    emergence.append(
        {"id": "suite", "amount": "7000.00", "purpose": "operating", "when": {"elapsed": "P6M"}}
    )
    return spec


async def _attached_at(live: Live, coop: str, headers: dict[str, str]) -> datetime:
    # The feed is projected just after the answer (effects follow answers).
    (attached,) = await eventually(
        live.http,
        f"/v1/cooperations/{coop}/events?limit=100",
        headers,
        lambda feed: [e for e in feed["items"] if e["type"] == "FundingLineAttached"],
    )
    return datetime.fromisoformat(attached["at"])


async def test_the_collective_reads_its_echeancier_and_manages_its_contacts(
    browser: Browser, live_server: Live
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, anim = f"fondation-{suffix}", f"anim-{suffix}"
    pid, coop = f"communs-{suffix}", f"ruche-{suffix}"
    funder_headers = await live.auth("funder", funder)
    anim_headers = await live.auth("facilitator", anim)
    made = await live.http.post(
        "/v1/programmes", json=_programme(pid, funder), headers=funder_headers
    )
    assert made.status_code == 201, made.text
    body = cooperation(coop, [pid], name="Ruche Éphémère", facilitator=anim, fiscal_host=anim)
    registered = await live.http.post("/v1/cooperations", json=body, headers=anim_headers)
    assert registered.status_code == 201, registered.text
    accepted = await live.http.post(
        f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
        json={"accept": True},
        headers=funder_headers,
    )
    assert accepted.status_code == 200, accepted.text
    suite_on = add(await _attached_at(live, coop, anim_headers), "P6M")
    address = f"collectif-{suffix}@example.org"
    invited = await live.http.post(
        f"/v1/cooperations/{coop}/invitations", json={"email": address}, headers=anim_headers
    )
    assert invited.status_code == 202, invited.text

    async with new_page(browser, DESKTOP) as page:
        # -- signed in by the invitation, the collective lands on its page -------------------
        mail = await live.mailbox.next(address)
        await page.goto(mail.link("/contacts/"))
        await page.get_by_role("button", name="Accepter et me connecter").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Ruche Éphémère")

        echeancier = page.locator("section[aria-labelledby=echeancier]")
        await expect(echeancier.get_by_role("heading")).to_have_text("Échéancier prévisionnel")
        rows = echeancier.get_by_role("table", name="Tranches à venir (4)").locator("tbody tr")
        line = "Fondation des Communs"
        await expect(rows).to_have_text(
            [
                re.compile(
                    rf"^\s*le {FR.day(suite_on)}\s*suite\s*{line}\s*fonctionnement\s*"
                    + re.escape(FR.money("7000.00", "EUR"))
                ),
                re.compile(rf"^\s*après 3 points d'étape validés\s*emergence-2\s*{line}"),
                re.compile(rf"^\s*sur approbation\s*feu-vert\s*{line}"),
                re.compile(
                    rf"^\s*au passage en expérimentation\s*experimentation-1\s*{line}\s*"
                    + r"investissement\s*"
                    + re.escape(FR.money("30000.00", "EUR"))
                ),
            ]
        )
        await assert_accessible(page, "schedule-collective")

        # -- its contacts, from its menu ------------------------------------------------------
        await page.get_by_role("navigation").get_by_role("link", name="Mes contacts").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Mes adresses de contact")
        table = page.get_by_role("table", name="Adresses de contact (1)")
        await expect(table.locator("tbody tr")).to_have_text(
            [re.compile(rf"^\s*{re.escape(address)}\s*confirmée")]
        )
        await assert_accessible(page, "contacts")

        await page.get_by_label(re.compile("^Adresse e-mail")).fill("deux@example.org, trois")
        await page.get_by_role("button", name="Ajouter", exact=True).click()
        field = page.get_by_label(re.compile("^Adresse e-mail"))
        await expect(field).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#email-error")).to_have_text(
            "Ce n'est pas une adresse e-mail valable : une seule adresse, sans virgule ni chevrons."
        )
        await expect(field).to_have_value("deux@example.org, trois")
        await assert_accessible(page, "contacts-refused")

        other = f"tresorerie-{suffix}@example.org"
        await field.fill(other)
        await page.get_by_role("button", name="Ajouter", exact=True).click()
        await expect(page.get_by_role("status")).to_contain_text("L'adresse est ajoutée")
        rows = page.get_by_role("table", name="Adresses de contact (2)").locator("tbody tr")
        await expect(rows).to_have_text(
            [
                re.compile(rf"^\s*{re.escape(address)}\s*confirmée"),
                re.compile(rf"^\s*{re.escape(other)}\s*en attente de confirmation"),
            ]
        )

        # The new address receives the API's confirmation e-mail, and confirms itself.
        confirmation = await live.mailbox.next(other)
        await page.goto(confirmation.link("/contacts/"))
        await page.get_by_role("button", name="Confirmer mon adresse").click()
        await page.goto(live.url("/me/contacts"))
        await expect(rows.nth(1)).to_have_text(re.compile(rf"^\s*{re.escape(other)}\s*confirmée"))

        await page.get_by_role("button", name=f"Retirer {other}").click()
        await expect(page.get_by_role("status")).to_have_text("L'adresse est retirée.")
        await expect(
            page.get_by_role("table", name="Adresses de contact (1)").locator("tbody tr")
        ).to_have_count(1)
        assert await no_third_party(page) == []
    got = await live.http.get("/v1/me/contacts", headers=await live.auth("collective", coop))
    assert got.json()["addresses"] == [{"email": address, "confirmed": True}]

    # -- the facilitator's view of the cooperation shows the same échéancier ------------------
    async with new_page(browser, DESKTOP) as page:
        await page.goto(live.url("/signin"))
        token = anim_headers["Authorization"].removeprefix("Bearer ")
        await page.get_by_label("Jeton d'accès", exact=True).fill(token)
        await page.get_by_role("button", name="Se connecter avec le jeton").click()
        await page.goto(live.url(f"/cooperations/{coop}"))
        echeancier = page.locator("section[aria-labelledby=echeancier]")
        await expect(
            echeancier.get_by_role("table", name="Tranches à venir (4)").locator("tbody tr")
        ).to_have_count(4)
        await assert_accessible(page, "schedule-facilitator")


def _table(locale: str, tranches: list[dict[str, Any]]) -> str:
    """The échéancier's table as a page includes it, its text on one line."""
    html = ENV.get_template("schedule_table.html").render(
        t=Words(locale), fmt=Formats(locale), line_name=lambda line: line, tranches=tranches
    )
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r"\s+", " ", html)))


def _to_come(expected_on: str | None, *waiting: dict[str, Any]) -> dict[str, Any]:
    return {
        "line": "communs",
        "tranche": "t",
        "occurrence": None,
        "phase": "emergence",
        "purpose": "animation",
        "kind": "release",
        "amount": "1500.00",
        "currency": "EUR",
        "expected_on": expected_on,
        "waits_for": "…",
        "waiting": [{"count": None, "phase": None, "words": "…"} | w for w in waiting],
    }


def test_every_condition_is_said_in_french_and_in_english() -> None:
    tranches = [
        _to_come("2027-06-07"),
        _to_come(None, {"kind": "accepted_check_ins", "count": 3}),
        _to_come(None, {"kind": "accepted_check_ins", "count": 1}),
        _to_come(None, {"kind": "approval"}),
        _to_come(None, {"kind": "move", "phase": "experimentation"}),
        _to_come(None, {"kind": "return", "phase": "emergence"}),
        _to_come("2028-04-04", {"kind": "resume"}),
        _to_come(None, {"kind": "acceptance"}),
        _to_come(None, {"kind": "accepted_check_ins", "count": 2}, {"kind": "convention"}),
        _to_come(None, {"kind": "amendment"}),
        _to_come(None),
    ]
    said = {
        "fr": [
            "le 7 juin 2027",
            "après 3 points d'étape validés",
            "après 1 point d'étape validé",
            "sur approbation",
            "au passage en expérimentation",
            "au retour en émergence",
            "le 4 avril 2028 · à la reprise",
            "à l'acceptation de la ligne par son financeur",
            "après 2 points d'étape validés, en attente de la convention",
            "en attente de la décision sur l'avenant",
            "date inconnue pour l'instant",
        ],
        "en": [
            "on June 7, 2027",
            "after 3 more accepted check-ins",
            "after 1 more accepted check-in",
            "on approval",
            "on the move to experimentation",
            "on a return to emergence",
            "on April 4, 2028 · on resume",
            "once its funder accepts the line",
            "after 2 more accepted check-ins, awaiting the convention",
            "awaiting the decision on the amendment",
            "date not known yet",
        ],
    }
    for locale, words in said.items():
        text = _table(locale, tranches)
        rows = text.split(" t ")  # each row's condition comes before its tranche, `t`
        assert len(rows) == len(words) + 1, text
        for row, expected in zip(rows, words, strict=False):
            assert row.rstrip().endswith(expected), (locale, row, expected)
    assert _table("fr", [_to_come("2027-06-07")]).count("1 500,00") == 1
    assert "Aucune tranche à venir." in _table("fr", [])
