"""A funder's dashboard page in a real Chromium, to the cent: the loans plot tells what was
written off (a written-off loan is settled, and still shown), and the budget keeps every raise
across a version that leaves the spec's figure as it was, and moves by a version's change."""

from __future__ import annotations

import uuid

from playwright.async_api import Page, expect

from tests.api.conftest import cooperation
from tests.api.world import eventually, loan_programme
from tests.web.browser import Live, assert_accessible, no_third_party, sign_in

NNBSP, NBSP = "\u202f", "\xa0"

LEGAL = [{"id": "asso", "name": "Association du Bourg", "legal_form": "association"}]
"""A member that is a legal entity and no fiscal host: the borrower."""


async def test_the_dashboard_page_shows_what_was_written_off_and_the_raised_budget(
    page: Page, live_server: Live
) -> None:
    live = live_server
    sfx = uuid.uuid4().hex[:6]
    funder_id, pid = f"fondation-{sfx}", f"pret-{sfx}"
    funder = await live.auth("funder", funder_id)
    anim = await live.auth("facilitator", f"anim-{sfx}")
    spec = loan_programme(pid, funder_id) | {"budget": "100000.00"}
    made = await live.http.post("/v1/programmes", json=spec, headers=funder)
    assert made.status_code == 201, made.text
    coop = f"ruche-{sfx}"
    body = cooperation(coop, [pid], members=LEGAL, fiscal_host=None)
    registered = await live.http.post("/v1/cooperations", json=body, headers=anim)
    assert registered.status_code == 201, registered.text
    decided = await live.http.post(
        f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
        json={"accept": True},
        headers=funder,
    )
    assert decided.status_code == 200, decided.text
    written = await live.http.post(
        f"/v1/cooperations/{coop}/write-offs",
        json={"line": pid, "tranche": "pret", "reason": "Activité arrêtée"},
        headers=funder,
    )
    assert written.status_code == 201, written.text
    await eventually(
        live.http,
        f"/v1/programmes/{pid}/dashboard",
        funder,
        lambda board: board["loans"]["written_off_count"] == 1,
    )
    # Raised by 5000, then a version with another name and the same budget: 105000 stays;
    # then a version 10000 lower: 95000.
    raised = await live.http.post(
        f"/v1/programmes/{pid}/budget", json={"amount": "5000.00"}, headers=funder
    )
    assert raised.status_code == 200, raised.text
    for changes in ({"name": "Patient"}, {"name": "Patient", "budget": "90000.00"}):
        published = await live.http.put(
            f"/v1/programmes/{pid}", json=spec | changes, headers=funder
        )
        assert published.status_code == 200, published.text

    await sign_in(page, live, funder)
    await page.goto(live.url(f"/programmes/{pid}"))

    figures = page.locator("dl.figures")
    await expect(figures.locator("dt", has_text="Budget").locator("+ dd")).to_have_text(
        f"95{NNBSP}000,00{NBSP}€"
    )
    await expect(figures.locator("dt", has_text="Engagé").locator("+ dd")).to_have_text(
        f"20{NNBSP}000,00{NBSP}€"
    )

    amount = written.json()["amount"]
    units, cents = amount.split(".")
    shown = f"{int(units):,}".replace(",", NNBSP) + f",{cents}{NBSP}€"
    plot = page.locator("#plot-chart-loans")
    await expect(plot.locator("figcaption p")).to_contain_text(
        f"1 prêt passé en perte, pour {shown}."
    )
    row = plot.get_by_role("row", name="Passés en perte")
    await expect(row.get_by_role("cell")).to_have_text(["1", shown])
    await expect(plot.locator("g[data-key=written_off] text").last).to_have_text(
        f"1 prêt · {shown}"
    )
    await assert_accessible(page, "programme-written-off")
    assert await no_third_party(page) == []
