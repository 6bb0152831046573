"""The forecast on the funder's programme page, in a real Chromium: its plot and its table by
financial year read what `GET …/forecast` says, the budget's end in words, the assumptions
listed; axe finds nothing serious."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from playwright.async_api import Page, expect

from tests.api.conftest import cooperation, programme
from tests.api.world import eventually
from tests.web.browser import Live, assert_accessible, no_third_party

NNBSP, NBSP = "\u202f", "\xa0"


async def test_the_funder_reads_the_forecast_on_its_programme_page(
    page: Page, live_server: Live
) -> None:
    live = live_server
    sfx = uuid.uuid4().hex[:6]
    funder_id, pid = f"fondation-{sfx}", f"prev-{sfx}"
    funder = await live.auth("funder", funder_id)
    anim = await live.auth("facilitator", f"anim-{sfx}")
    spec = programme(pid, funder_id, budget="60000.00")
    spec["phases"]["emergence"]["expected_duration"] = "P6M"
    made = await live.http.post("/v1/programmes", json=spec, headers=funder)
    assert made.status_code == 201, made.text
    coop = f"ruche-{sfx}"
    registered = await live.http.post(
        "/v1/cooperations", json=cooperation(coop, [pid]), headers=anim
    )
    assert registered.status_code == 201, registered.text
    decided = await live.http.post(
        f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
        json={"accept": True},
        headers=funder,
    )
    assert decided.status_code == 200, decided.text
    forecast = await eventually(
        live.http,
        f"/v1/programmes/{pid}/forecast",
        funder,
        lambda f: f if f["accepted"]["releases"] else None,
    )

    await page.goto(live.url("/signin"))
    token = funder["Authorization"].removeprefix("Bearer ")
    await page.get_by_label("Jeton d'accès", exact=True).fill(token)
    await page.get_by_role("button", name="Se connecter avec le jeton").click()
    await page.goto(live.url(f"/programmes/{pid}"))

    section = page.locator("section", has=page.get_by_role("heading", name="Prévisions"))
    await expect(
        section.get_by_role("heading", name="Versements prévus par mois et par destination")
    ).to_be_visible()
    await expect(section.locator("#plot-chart-forecast svg")).to_be_visible()
    # Ahead for the accepted line: its approval at once (1000), the first accepted check-in
    # (7000), experimentation's entry after six months (30000); this year and next share them.
    year = datetime.now(UTC).year
    rows = section.locator("#forecast-table tbody tr")
    await expect(rows).to_have_count(len(forecast["years"]))
    first = rows.first
    await expect(first.locator("th")).to_have_text(str(year))
    this_year = sum(float(v) for v in forecast["accepted"]["years"][0]["releases"].values())
    euros = f"{int(this_year):,}".replace(",", NNBSP)
    await expect(first.locator("td").first).to_have_text(f"{euros},00{NBSP}€")
    total = sum(float(v) for y in forecast["accepted"]["years"] for v in y["releases"].values())
    assert total == 38000.0
    # 60000: 8000 released at acceptance, then 1000 + 7000 + 30000 ahead: it lasts.
    await expect(section.locator("#forecast-runs-out")).to_have_text(
        "L'enveloppe suffit sur toute la période, "
        "même si toutes les lignes proposées sont acceptées."
    )
    await expect(
        section.get_by_text("Chaque point d'étape est remis à sa date et validé aussitôt.")
    ).to_be_visible()
    await assert_accessible(page, "programme-forecast")
    assert await no_third_party(page) == []
