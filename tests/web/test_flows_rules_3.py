"""Rules 3's pages in a real Chromium, on the real stack: a funder's inbox with an amount to
grant, a convention to record, versements to pay and an avenant to confirm; a collective's
versements; an avenant proposed; a hosting ended. Every page met is audited with axe-core and
photographed for the README (docs/screenshots/)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, expect

from domain.durations import add
from i18n import Formats
from tests.api.conftest import cooperation
from tests.api.test_amount_granted import granted_programme
from tests.api.world import eventually, ok
from tests.web.browser import DESKTOP, PHONE, Live, new_page, page_errors, sign_in
from tests.web.flows import _look, _reload_until


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
