"""Rule 19 in a real Chromium: a release is an order to pay. The funder's inbox lists the
versement to pay with its dates and records the day it was paid; the collective's page and
the fiscal host's funds then show it paid, and only then count it as received."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime

from playwright.async_api import Page, expect

from domain.durations import add
from i18n import Formats
from tests.api.conftest import cooperation, programme
from tests.web.browser import Live, assert_accessible, no_third_party, sign_in


async def test_the_funder_records_a_payment_from_its_inbox(page: Page, live_server: Live) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, host, pid, coop = (
        f"fondation-{suffix}",
        f"pole-{suffix}",
        f"fdt-{suffix}",
        f"r-{suffix}",
    )
    funder_headers = await live.auth("funder", funder)
    host_headers = await live.auth("facilitator", host)
    spec = programme(pid, funder, payment_within="P60D")
    made = await live.http.post("/v1/programmes", json=spec, headers=funder_headers)
    assert made.status_code == 201, made.text
    body = cooperation(coop, [pid], name="Ressourcerie du Bourg", fiscal_host=host)
    registered = await live.http.post("/v1/cooperations", json=body, headers=host_headers)
    assert registered.status_code == 201, registered.text
    accepted = await live.http.post(
        f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
        json={"accept": True},
        headers=funder_headers,
    )
    assert accepted.status_code == 200, accepted.text
    for _ in range(200):
        inbox = (await live.http.get(f"/v1/programmes/{pid}/inbox", headers=funder_headers)).json()
        if inbox["versements_to_pay"]:
            break
        await asyncio.sleep(0.05)
    (to_pay,) = inbox["versements_to_pay"]
    fmt = Formats("fr")
    ordered = datetime.fromisoformat(to_pay["ordered_at"]).astimezone(UTC).date()
    due = add(ordered, "P60D")
    today = datetime.now(UTC).date()

    await sign_in(page, live, funder_headers)
    await page.goto(live.url(f"/programmes/{pid}"))
    await expect(page.locator("#versements-late")).to_have_text("0, pour 0,00\u00a0€")
    await expect(page.get_by_role("heading", name="Versements à payer (1)")).to_be_visible()
    card = page.get_by_role("list", name="Versements à payer (1)").get_by_role("listitem")
    await expect(card).to_contain_text(f"Tranche amorcage, pour {host}\u00a0: 8\u202f000,00\u00a0€")
    await expect(card).to_contain_text(
        f"ordonné le {fmt.day(ordered)} · à payer au plus tard le {fmt.day(due)}"
    )
    await expect(card.get_by_text("en retard")).to_have_count(0)
    await assert_accessible(page, "versements-to-pay")

    await card.get_by_label("Payé le").fill(today.isoformat())
    await card.get_by_role("button", name=re.compile("^Enregistrer le paiement")).click()
    await expect(page.get_by_role("status")).to_have_text("Le paiement est enregistré.")
    # The inbox reads the ledger, which the effects write just after the answer.
    for _ in range(100):
        if await page.get_by_role("heading", name="Versements à payer (0)").count():
            break
        await asyncio.sleep(0.1)
        await page.reload()
    await expect(page.get_by_text("Aucun versement à payer.")).to_be_visible()

    # The cooperation's page: the versement with its dates, paid.
    await page.goto(live.url(f"/cooperations/{coop}"))
    table = page.get_by_role("table", name=re.compile("^Versements de la ligne "))
    await expect(table.get_by_role("row").nth(1)).to_contain_text(
        f"ordonné le {fmt.day(ordered)} · payé le {fmt.day(today)}"
    )
    tranches = page.get_by_role(
        "table", name=f"Tranches de la ligne Programme {pid} : ordonnées et à venir"
    )
    await expect(tranches.get_by_role("row", name=re.compile("^amorcage"))).to_contain_text(
        "ordonnée"
    )
    await expect(page.locator("main")).not_to_contain_text("reçue")
    assert await no_third_party(page) == []

    # The fiscal host's funds: paid, so received.
    await page.context.clear_cookies()
    await sign_in(page, live, host_headers)
    await page.goto(live.url("/funds"))
    await expect(page.get_by_text("Payé en tout\u00a0: 8\u202f000,00\u00a0€.")).to_be_visible()
    funds = page.get_by_role("table", name=re.compile("^Versements à"))
    await expect(funds.get_by_role("row").nth(1)).to_contain_text(f"payé le {fmt.day(today)}")
    await assert_accessible(page, "funds-versements")
