"""Rule 18 in a real Chromium: the funder's inbox lists the conventions to record, with a
form that records one; a date out of order comes back on the form by its field; once
recorded, the cooperation's page shows the convention, where it showed that the line's
versements were on hold."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from tests.api.conftest import cooperation, programme
from tests.web.browser import Live, assert_accessible, no_third_party, sign_in


async def test_the_funder_records_a_convention_from_its_inbox(
    page: Page, live_server: Live
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, host = f"fondation-{suffix}", f"pole-{suffix}"
    pid, coop = f"conv-{suffix}", f"ruche-{suffix}"
    funder_headers = await live.auth("funder", funder)
    made = await live.http.post(
        "/v1/programmes",
        json=programme(pid, funder, name="Fondation", convention="required"),
        headers=funder_headers,
    )
    assert made.status_code == 201, made.text
    body = cooperation(coop, [pid], name="Ruche du Bourg", fiscal_host=host)
    registered = await live.http.post(
        "/v1/cooperations", json=body, headers=await live.auth("facilitator", host)
    )
    assert registered.status_code == 201, registered.text
    accepted = await live.http.post(
        f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
        json={"accept": True},
        headers=funder_headers,
    )
    assert accepted.status_code == 200, accepted.text

    await sign_in(page, live, funder_headers)

    # The line's block says its versements wait for the convention.
    await page.goto(live.url(f"/cooperations/{coop}"))
    block = page.locator("article.line")
    await expect(block.locator(".convention")).to_have_text(
        re.compile("^Convention attendue\u00a0: versements en attente")
    )

    # The inbox lists it once the read model has it (it follows the acceptance).
    heading = page.get_by_role("heading", name="Conventions à enregistrer (1)")
    for _ in range(50):
        await page.goto(live.url(f"/programmes/{pid}"))
        if await heading.count():
            break
        await page.wait_for_timeout(100)
    await expect(heading).to_be_visible()
    form = page.get_by_role("form", name=re.compile("Ruche du Bourg$"))
    await expect(form).to_be_visible()
    await assert_accessible(page, "inbox-conventions")

    today = datetime.now(UTC).date()
    await form.get_by_label("Référence").fill("CONV-2027-014")
    await form.get_by_label("Signée le").fill((today + timedelta(days=2)).isoformat())
    await form.get_by_role("button", name=re.compile("^Enregistrer la convention")).click()
    # Refused by its field, the form comes back with what was typed.
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.locator("#signed_on-error")).to_contain_text("later than today")
    await expect(page.get_by_label("Référence")).to_have_value("CONV-2027-014")
    await expect(page.get_by_label("Signée le")).to_have_attribute("aria-invalid", "true")
    await assert_accessible(page, "convention-form")

    signed = today - timedelta(days=3)
    await page.get_by_label("Signée le").fill(signed.isoformat())
    await page.get_by_label("Fin le").fill((today + timedelta(days=365)).isoformat())
    await page.get_by_role("button", name="Enregistrer la convention").click()
    await expect(page).to_have_url(re.compile(rf"/programmes/{pid}\?done=convention$"))
    await expect(page.get_by_role("status")).to_have_text(
        "La convention est enregistrée\u00a0: les versements qu'elle retenait sont ordonnés."
    )

    await page.goto(live.url(f"/cooperations/{coop}"))
    note = block.locator(".convention")
    await expect(note).to_contain_text("Convention signée le ")
    await expect(note).to_contain_text("(réf. CONV-2027-014)")
    await expect(note).to_contain_text(f"{signed.year}")
    await expect(note).not_to_contain_text("attendue")
    # What it held is released: the entry tranche is ordered (received once paid, rule 19).
    tranches = block.get_by_role("table", name=re.compile("^Tranches de la ligne"))
    await expect(tranches.get_by_role("row", name=re.compile("^amorcage"))).to_contain_text(
        "ordonnée"
    )
    assert await no_third_party(page) == []
