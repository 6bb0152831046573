"""The web interface's pages over HTTP (no browser): what each person does through them
(moves and their reasons, lines proposed and approved, members, reports) and the pages that
do not exist."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
from starlette.datastructures import FormData

from api.web.pages.collective import indicators_of
from tests.api.conftest import cooperation
from tests.api.world import CLOSED, FACILITATOR, FUNDER
from tests.web.pages_site import Site, csrf_of, form_key_of, live_settings, main_of, site

__all__ = ["live_settings", "site"]

# -- what each person does through the pages ------------------------------------------------


async def _post_form(
    browser: httpx.AsyncClient, shown_at: str, sent_to: str, /, **fields: str
) -> Any:
    """The form of the page at `shown_at` sent to `sent_to` with `fields`, as a browser would:
    with the page's CSRF token and form key."""
    shown = await browser.get(shown_at)
    assert shown.status_code == 200, main_of(shown.text)
    data = {"csrf": csrf_of(shown.text), "form_key": form_key_of(shown.text), **fields}
    return await browser.post(sent_to, data=data)


async def test_a_story_of_pivots_restarts_and_pauses_is_told_with_its_milestones(
    site: Site,
) -> None:
    coop = f"histoire-{uuid.uuid4().hex[:6]}"
    anim = site.world.headers["facilitator"]
    api = site.live.http
    members = [{"id": "asso", "name": "Association du lieu", "legal_form": "association"}]
    body = cooperation(coop, [], members=members, fiscal_host=None, facilitator=FACILITATOR)
    assert (await api.post("/v1/cooperations", json=body, headers=anim)).status_code == 201
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        moves = [
            {"action": "advance"},
            {"action": "pivot", "objectives": "Atelier vélo", "reason": "Nouveau local"},
            {"action": "restart", "to": "emergence", "reason": "Le groupe a changé"},
            {"action": "pause", "reason": "Saison des récoltes"},
            {"action": "resume"},
        ]
        for move in moves:
            preview = await _post_form(
                browser,
                f"/cooperations/{coop}/move?action={move['action']}",
                f"/cooperations/{coop}/move",
                step="preview",
                **move,
            )
            assert preview.status_code == 200, main_of(preview.text)
            assert "Ce qui va se passer" in preview.text
            done = await browser.post(
                f"/cooperations/{coop}/move",
                data={
                    "csrf": csrf_of(preview.text),
                    "form_key": form_key_of(preview.text),
                    "step": "confirm",
                    **move,
                },
            )
            assert done.status_code == 303, main_of(done.text)
    async with await site.signed_in("collective", coop) as browser:
        # Read again until the log holds the last move (the projection follows the workflow).
        for _ in range(100):
            story = (await browser.get(f"/cooperations/{coop}")).text
            if "<strong>Reprise</strong>" in story:
                break
            await asyncio.sleep(0.1)
    milestones = re.findall(r'<li class="milestone">(.*?)</li>', story, re.S)
    told = [re.sub(r"\s+", " ", m) for m in milestones]

    def where(label: str) -> int:
        return next(i for i, m in enumerate(told) if f"<strong>{label}</strong>" in m)

    # Told newest first, each move a milestone of the story with the reason given.
    assert where("Reprise") < where("Pause") < where("Redémarrage") < where("Réorientation")
    assert "redémarre : retour à la phase d&#39;émergence" in told[where("Redémarrage")]
    assert "Le groupe a changé" in told[where("Redémarrage")]
    assert "Nouveau local" in told[where("Réorientation")]
    assert "Saison des récoltes" in told[where("Pause")]
    assert "<strong>Coopération enregistrée</strong>" in told[-1]


async def test_a_transition_without_its_reason_is_asked_again_and_nothing_moves(
    site: Site,
) -> None:
    coop = site.world.coop
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        answer = await _post_form(
            browser,
            f"/cooperations/{coop}/move?action=pivot",
            f"/cooperations/{coop}/move",
            step="confirm",
            action="pivot",
            objectives="Un nouveau cap",
        )
        assert answer.status_code == 422
        assert "Donnez le motif de cette transition." in answer.text
        assert "Un nouveau cap" in answer.text
    summary = await site.live.http.get(
        f"/v1/cooperations/{coop}", headers=site.world.headers["facilitator"]
    )
    assert summary.json()["stint"]["number"] == 1


async def test_a_refused_move_shows_the_rules_refusal_before_anything_is_sent(site: Site) -> None:
    closed = site.world.ids[CLOSED]
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        answer = await _post_form(
            browser,
            f"/cooperations/{closed}/move?action=advance",
            f"/cooperations/{closed}/move",
            step="preview",
            action="advance",
        )
    assert answer.status_code == 422
    assert "closed" in main_of(answer.text)


async def test_a_line_proposed_from_its_page_waits_in_the_funders_inbox_and_an_approval_releases(
    site: Site,
) -> None:
    w = site.world
    async with await site.signed_in("facilitator", FACILITATOR) as facilitator:
        proposed = await _post_form(
            facilitator,
            f"/cooperations/{w.coop}/lines",
            f"/cooperations/{w.coop}/lines",
            programme="fdt-bis",
            angle="Un lieu pour réparer ensemble",
        )
        assert proposed.status_code == 303, main_of(proposed.text)
        again = await _post_form(
            facilitator,
            f"/cooperations/{w.coop}/lines",
            f"/cooperations/{w.coop}/lines",
            programme="fdt-bis",
        )
        # Proposed already: the rules' refusal, on the form kept as it was.
        assert again.status_code == 422 and 'role="alert"' in again.text
    async with await site.signed_in("funder", FUNDER) as funder:
        inbox = await funder.get("/programmes/fdt-bis")
        assert f"/cooperations/{w.coop}/lines/fdt-bis/decision" in inbox.text
        approvals = await funder.get("/programmes/fdt")
        assert "Approuver la tranche feu-vert" in approvals.text
        approved = await _post_form(
            funder,
            "/programmes/fdt",
            f"/cooperations/{w.coop}/approvals",
            line="fdt",
            tranche="feu-vert",
            back="/programmes/fdt",
        )
        assert approved.status_code == 303
        assert approved.headers["location"] == "/programmes/fdt?done=approved"
    line = await site.live.http.get(
        f"/v1/cooperations/{w.coop}/funding-lines/fdt", headers=w.headers["funder"]
    )
    statuses = {t["tranche"]: t["status"] for t in line.json()["tranches"]}
    assert statuses["feu-vert"] == "released"


async def test_members_join_and_leave_through_their_page(site: Site) -> None:
    w = site.world
    page = f"/cooperations/{w.coop}/members"
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        joined = await _post_form(
            browser, page, page, id="amap-bourg", name="AMAP du Bourg", legal_form="association"
        )
        assert joined.status_code == 303
        listed = await browser.get(joined.headers["location"])
        assert "AMAP du Bourg" in listed.text and "Le membre a rejoint" in listed.text
        bad = await _post_form(browser, page, page, id="Pas Un Id", name="X", legal_form="y")
        assert bad.status_code == 422 and 'value="Pas Un Id"' in bad.text
        left = await _post_form(browser, page, f"{page}/amap-bourg/leave")
        assert left.status_code == 303
        assert "AMAP du Bourg" not in (await browser.get(page)).text


async def test_a_report_is_read_in_html_and_downloaded_in_markdown(site: Site) -> None:
    w = site.world
    path = f"/cooperations/{w.ids[CLOSED]}/reports/{w.report}"
    async with await site.signed_in("funder", FUNDER) as browser:
        listed = await browser.get(f"/cooperations/{w.ids[CLOSED]}")
        assert path in listed.text
        html = await browser.get(path)
        assert html.status_code == 200 and html.text.startswith("<!DOCTYPE html>")
        markdown = await browser.get(f"{path}?format=markdown")
        assert markdown.headers["content-type"].startswith("text/markdown")
        assert markdown.headers["content-disposition"] == f'attachment; filename="{w.report}.md"'
        assert markdown.text.startswith("#")


async def test_a_page_that_does_not_exist_is_a_page_and_the_api_keeps_its_problems(
    site: Site,
) -> None:
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        for path in ("/nowhere", f"/cooperations/{site.world.coop}/requests/abc/decline"):
            method = "POST" if path.endswith("decline") else "GET"
            answer = await browser.request(method, path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"].startswith("text/html")
            assert "Cette page n&#39;existe pas" in answer.text
        api = await browser.get("/v1/nowhere")
        assert api.status_code == 404
        assert api.headers["content-type"] == "application/problem+json"


def test_indicators_are_numbers_where_they_read_as_numbers() -> None:
    form = FormData(
        [
            ("indicator_name_0", "participants"),
            ("indicator_value_0", "1 234"),
            ("indicator_name_1", "heures"),
            ("indicator_value_1", "12,5"),
            ("indicator_name_2", "humeur"),
            ("indicator_value_2", "nan"),
            ("indicator_name_3", "lieu"),
            ("indicator_value_3", "la grange"),
            ("indicator_value_4", "7"),
        ]
    )
    indicators, errors = indicators_of(form)
    assert indicators == {
        "participants": 1234,
        "heures": 12.5,
        "humeur": "nan",
        "lieu": "la grange",
    }
    assert errors == {"indicator_name_4": "web.check_in.indicator_unnamed"}
