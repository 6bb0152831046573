"""Names where people expect names, and the contract's words, on the pages (no browser): a
funding line is named by its programme's id (`fdt-…`), and every page calls it by the
programme's name — the collective's without the id, the funder's and the facilitator's with
the id beside it as a hint; a member's legal form is shown in French; the fiscal host is the
*structure porteuse*, the facilitator the *tiers facilitateur*, a pivot a *réorientation*."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.web.session import SESSION_COOKIE
from store.tokens import create_token
from tests.api.conftest import cooperation, programme
from tests.web.browser import Live

NAME = "Fonds de transition territoriale"
# The entry tranche's sentence (its verb is rule 19's to choose), the line named.
RELEASED = f"La tranche amorcage de la ligne {NAME} est "
MEMBERS = [
    {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
    {"id": "atelier", "name": "Atelier vélo du Bourg", "legal_form": "association"},
    {"id": "tiers-lieu", "name": "Tiers-lieu du Bourg", "legal_form": "other"},
]


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # httpx keeps Secure cookies for https only.
    return {"web_secure_cookies": False}


async def _browser(live: Live, role: str, subject: str) -> httpx.AsyncClient:
    async with live.pool.acquire() as conn:
        _, token = await create_token(conn, role, subject, expires_in=timedelta(hours=1))  # type: ignore[arg-type]
    client = httpx.AsyncClient(base_url=live.base_url, follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, token)
    return client


def _main(html: str) -> str:
    """The page's main content as text, on one line (any space, a no-break one too, as one
    space): what a person reads."""
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    text = re.sub(r"<[^>]*>", " ", main.split(">", 1)[-1])
    return re.sub(r"\s+", " ", text.replace("&nbsp;", " ")).strip()


async def _get(browser: httpx.AsyncClient, path: str) -> str:
    answer = await browser.get(path)
    assert answer.status_code == 200, (path, answer.text[:2000])
    return answer.text


async def _once_there(browser: httpx.AsyncClient, path: str, text: str) -> str:
    """The page's main text once it says `text`: the read models (the event log, the queues)
    follow the workflow by a moment."""
    for _ in range(150):
        page = _main(await _get(browser, path))
        if text in page:
            break
        await asyncio.sleep(0.1)
    return page


async def test_pages_call_a_line_by_its_programmes_name_and_a_legal_form_in_french(
    live_server: Live,
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, host, anim = f"fondation-{suffix}", f"pole-{suffix}", f"anim-{suffix}"
    pid, coop = f"fdt-{suffix}", f"ruche-{suffix}"
    funder_headers = await live.auth("funder", funder)
    made = await live.http.post(
        "/v1/programmes", json=programme(pid, funder, name=NAME), headers=funder_headers
    )
    assert made.status_code == 201, made.text
    body = cooperation(coop, [pid], name="La Ruche", members=MEMBERS, fiscal_host=host)
    body["facilitator"] = anim
    registered = await live.http.post(
        "/v1/cooperations", json=body, headers=await live.auth("facilitator", anim)
    )
    assert registered.status_code == 201, registered.text
    accepted = await live.http.post(
        f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
        json={"accept": True},
        headers=funder_headers,
    )
    assert accepted.status_code == 200, accepted.text

    # The collective reads the programme's name, never its id.
    async with await _browser(live, "collective", coop) as browser:
        page = await _once_there(browser, f"/cooperations/{coop}", RELEASED)
    assert f"Ligne {NAME}" in page
    assert f"Ligne {pid}" not in page and pid not in page
    # Its story names the line too: the acceptance and the entry tranche's release.
    assert f"La ligne de financement {NAME} est acceptée" in page
    assert f"de la ligne {NAME} est " in page
    # The members, each legal form in words (an unknown one is shown as recorded:
    # tests/notify/test_vocabulary.py).
    assert "Collectif des habitants · collectif informel" in page
    assert "Atelier vélo du Bourg · association" in page
    assert "Tiers-lieu du Bourg · autre forme" in page
    assert "· informal" not in page and "· other" not in page
    # The contract's words for who carries the money and who accompanies the collective.
    assert f"Structure porteuse {host}" in page and f"Tiers facilitateur {anim}" in page
    assert "Porteur financier" not in page and "Facilitateur " + anim not in page

    # The funder and the facilitator read the name, with the id beside it as a hint.
    for role, subject in (("funder", funder), ("facilitator", anim)):
        async with await _browser(live, role, subject) as browser:
            page = await _once_there(browser, f"/cooperations/{coop}", RELEASED)
        assert f"Ligne {NAME} ({pid})" in page, role
        assert f"de la ligne {NAME} est " in page, role
        assert "Tiers-lieu du Bourg · autre forme" in page, role
        # An informal member's name (often a person's) is not a funder's to read.
        informal = "habitants" if role == "funder" else "Collectif des habitants"
        assert f"{informal} · collectif informel" in page, role
        assert ("Collectif des habitants" in page) is (role != "funder"), role

    # The collective asks to reorient it: its facilitator's and its funder's lists of requests
    # name the cooperation, and the move in the contract's word.
    asked = await live.http.post(
        f"/v1/cooperations/{coop}/transition-requests",
        json={"action": "pivot", "reason": "Un local se libère"},
        headers=await live.auth("collective", coop),
    )
    assert asked.status_code == 201, asked.text
    wanted = "La Ruche · Réorienter ·"
    for role, subject, path in (
        ("facilitator", anim, "/"),
        ("funder", funder, f"/programmes/{pid}"),
    ):
        async with await _browser(live, role, subject) as browser:
            page = await _once_there(browser, path, "Un local se libère")
        assert f"{wanted}" in page and f"{coop} · Réorienter" not in page, (role, page)

    # A check-in waits in the facilitator's review queue under its cooperation's name.
    checked = await live.http.post(
        f"/v1/cooperations/{coop}/check-ins",
        json={"narrative": "Premiers ateliers"},
        headers=await live.auth("collective", coop),
    )
    assert checked.status_code == 201, checked.text
    async with await _browser(live, "facilitator", anim) as browser:
        page = await _once_there(browser, "/review-queue", "La Ruche")
    assert "La Ruche" in page and coop not in page, page

    # The funder's programme page is titled by its name.
    async with await _browser(live, "funder", funder) as browser:
        html = await _get(browser, f"/programmes/{pid}")
    assert f"<title>Programme «\u00a0{NAME}\u00a0»" in html
    assert f"Programme « {NAME} » ({pid})" in _main(html)

    # The fiscal host's funds: received by line, each line by its programme's name.
    async with await _browser(live, "facilitator", host) as browser:
        page = await _once_there(browser, "/funds", NAME)
    assert "à la structure porteuse que vous êtes" in page
    assert re.search(rf"{NAME} \d", page), page
    assert pid not in page


async def test_the_facilitators_pages_show_legal_forms_and_moves_in_words_and_name_the_line(
    live_server: Live,
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    funder, anim = f"fondation-{suffix}", f"anim-{suffix}"
    pid, coop = f"fdt-{suffix}", f"ruche-{suffix}"
    funder_headers = await live.auth("funder", funder)
    made = await live.http.post(
        "/v1/programmes", json=programme(pid, funder, name=NAME), headers=funder_headers
    )
    assert made.status_code == 201, made.text
    body = cooperation(coop, [pid], members=MEMBERS, fiscal_host=f"pole-{suffix}")
    body["facilitator"] = anim
    assert (
        await live.http.post(
            "/v1/cooperations", json=body, headers=await live.auth("facilitator", anim)
        )
    ).status_code == 201
    decision = f"/v1/cooperations/{coop}/funding-lines/{pid}/decision"
    assert (
        await live.http.post(decision, json={"accept": True}, headers=funder_headers)
    ).status_code == 200

    async with await _browser(live, "facilitator", anim) as browser:
        # The members' page: each legal form in words.
        members = await _get(browser, f"/cooperations/{coop}/members")
        assert "<td>collectif informel</td>" in members and "<td>autre forme</td>" in members
        assert "<td>informal</td>" not in members and "<td>other</td>" not in members
        page = await _get(browser, f"/cooperations/{coop}")
        # The move is offered in the contract's word.
        assert ">Réorienter</a>" in page and "Pivoter" not in page
        form = await _get(browser, f"/cooperations/{coop}/move?action=advance")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf
        preview = await browser.post(
            f"/cooperations/{coop}/move",
            data={"csrf": csrf.group(1), "action": "advance", "reason": "Les ateliers tournent"},
        )
    assert preview.status_code == 200, preview.text[:2000]
    text = _main(preview.text)
    assert f"de la ligne {NAME} :" in text, text
    assert f"ligne {pid}" not in text
