"""Rule 17 in a real Chromium: on its programme's page, a funder accepts a line of a granted
programme with the amount it grants, typed as people type money, the bounds shown beside the
field; an amount out of bounds is shown on the page by its field, as typed, and nothing is
committed; the cooperation's page then shows the amount granted and each tranche's part."""

from __future__ import annotations

import asyncio
import re
import uuid

from playwright.async_api import Page, expect

from tests.api.conftest import cooperation
from tests.api.test_amount_granted import granted_programme
from tests.web.browser import Live, assert_accessible, no_third_party, sign_in


async def test_the_funder_accepts_a_granted_line_with_an_amount_from_its_inbox(
    page: Page, live_server: Live
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, pid, coop = f"fondation-{suffix}", f"accorde-{suffix}", f"ruche-{suffix}"
    funder_headers = await live.auth("funder", funder)
    made = await live.http.post(
        "/v1/programmes", json=granted_programme(pid, funder), headers=funder_headers
    )
    assert made.status_code == 201, made.text
    registered = await live.http.post(
        "/v1/cooperations",
        json=cooperation(coop, [pid], name="Ruche du Bourg"),
        headers=await live.auth("facilitator", f"anim-{suffix}"),
    )
    assert registered.status_code == 201, registered.text

    await sign_in(page, live, funder_headers)
    await page.goto(live.url(f"/programmes/{pid}"))
    card = page.locator("section[aria-labelledby=inbox] ul.cards").first.locator("> li")
    await expect(card).to_have_count(1)
    amount = card.get_by_label("Montant accordé (EUR)")
    # The bounds instead of an amount, read with the field.
    await expect(amount).to_have_accessible_description(
        re.compile(r"Entre 10\s000,00\s€ et 50\s000,00\s€\.$")
    )
    await expect(card).not_to_contain_text("Accepter engage")

    await amount.fill("60 000")
    await card.get_by_role("button", name=re.compile("^Accepter")).click()
    card = page.locator("section[aria-labelledby=inbox] ul.cards").first.locator("> li")
    alert = card.get_by_role("alert")
    await expect(alert).to_contain_text("La ligne n'a pas été acceptée")
    await expect(alert).to_contain_text("Montant accordé")
    await expect(alert).to_contain_text("above the programme's maximum grant")
    amount = card.get_by_label("Montant accordé (EUR)")
    await expect(amount).to_have_value("60 000")
    await expect(amount).to_have_attribute("aria-invalid", "true")
    await assert_accessible(page, "inbox-granted-refused")
    line = await live.http.get(
        f"/v1/cooperations/{coop}/funding-lines/{pid}", headers=funder_headers
    )
    assert line.json()["status"] == "proposed"

    await amount.fill("33 333,33")
    await card.get_by_role("button", name=re.compile("^Accepter")).click()
    await expect(page.get_by_role("status")).to_be_visible()
    # The inbox is read from PostgreSQL, projected a moment after the answer.
    proposed_none = page.get_by_role("heading", name="Lignes proposées (0)")
    for _ in range(100):
        if await proposed_none.count():
            break
        await asyncio.sleep(0.1)
        await page.reload()
    await expect(proposed_none).to_be_visible()
    # Its approval tranche now waits for the funder.
    await expect(
        page.get_by_role("button", name=re.compile("^Approuver la tranche suite"))
    ).to_be_visible()
    line = await live.http.get(
        f"/v1/cooperations/{coop}/funding-lines/{pid}", headers=funder_headers
    )
    body = line.json()
    assert (body["status"], body["granted"], body["committed"]) == (
        "active",
        "33333.33",
        "33333.33",
    )
    assert [(t["tranche"], t["amount"]) for t in body["tranches"]] == [
        ("amorcage", "19999.99"),
        ("suite", "13333.34"),
    ]

    await page.goto(live.url(f"/cooperations/{coop}"))
    money = page.locator("section[aria-labelledby=money]")
    await expect(money).to_contain_text("Montant accordé")
    await expect(money).to_contain_text("33\u202f333,33\u00a0€")
    rows = money.get_by_role("table", name=re.compile("^Tranches de la ligne")).get_by_role("row")
    await expect(rows.filter(has_text="amorcage")).to_contain_text("19\u202f999,99\u00a0€")
    await expect(rows.filter(has_text="suite")).to_contain_text("13\u202f333,34\u00a0€")
    await assert_accessible(page, "cooperation-granted")
    assert await no_third_party(page) == []
