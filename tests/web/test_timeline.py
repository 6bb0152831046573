"""A cooperation's story is told a page at a time: its newest events, and a link to older
ones, read through the log's paging (`events?after=`), never the whole log on each view."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest

from api.routes import cooperations as routes
from api.web.pages import cooperation as cooperation_pages
from api.web.session import SESSION_COOKIE
from tests.api.conftest import cooperation
from tests.web.browser import Live

PAGE = 5


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    return {"web_secure_cookies": False}


async def test_the_story_shows_its_newest_events_and_links_to_older_ones(
    live_server: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    facilitator, coop = f"anim-{suffix}", f"recit-{suffix}"
    anim = await live.auth("facilitator", facilitator)
    body = cooperation(coop, [], facilitator=facilitator, fiscal_host=facilitator)
    assert (await live.http.post("/v1/cooperations", json=body, headers=anim)).status_code == 201
    collective = await live.auth("collective", coop)
    base = f"/v1/cooperations/{coop}"
    for i in range(4):  # each: a request, then its refusal
        asked = await live.http.post(
            f"{base}/transition-requests",
            json={"action": "pause", "reason": f"demande {i}"},
            headers=collective,
        )
        assert asked.status_code == 201, asked.text
        seq = asked.json()["seq"]
        declined = await live.http.post(
            f"{base}/transition-requests/{seq}/decline", json={"reason": "non"}, headers=anim
        )
        assert declined.status_code == 200, declined.text
    for _ in range(100):  # the log follows the workflow
        feed = (await live.http.get(f"{base}/events?limit=500", headers=anim)).json()
        if feed["items"] and feed["items"][-1]["type"] == "TransitionRequestDeclined":
            break
        await asyncio.sleep(0.1)
    everything = feed["items"]
    last = everything[-1]["seq"]
    assert feed["last_seq"] == last and last >= 2 * PAGE, everything

    monkeypatch.setattr(cooperation_pages, "TIMELINE_PAGE", PAGE)
    read: list[tuple[int, int]] = []
    list_events = routes.list_events

    async def counted(conn: Any, cooperation_id: str, after: int = 0, limit: int = 100) -> Any:
        rows = await list_events(conn, cooperation_id, after, limit)
        read.append((after, len(rows)))
        return rows

    monkeypatch.setattr(routes, "list_events", counted)

    async with httpx.AsyncClient(base_url=live.base_url) as person:
        person.cookies.set(SESSION_COOKIE, anim["Authorization"].removeprefix("Bearer "))
        shown = await person.get(f"/cooperations/{coop}")
        assert shown.status_code == 200
        told = _told(shown.text)
        # The newest PAGE events, numbered by their seq, and the link to those before.
        assert len(told) == PAGE
        assert f'reversed start="{last}"' in shown.text
        older = re.search(r'href="(/cooperations/[^"]+\?before=(\d+))#timeline"', shown.text)
        assert older and int(older.group(2)) == last - PAGE + 1, shown.text
        # Never the whole log: one event (to learn the last seq), then the page's.
        assert sum(rows for _, rows in read) <= PAGE + 1, read
        assert "Coopération enregistrée" not in "".join(told)

        pages_read = [told]
        link: str | None = older.group(1)
        while link:
            seen = await person.get(link)
            assert seen.status_code == 200
            pages_read.append(_told(seen.text))
            assert "Revenir aux derniers événements" in seen.text
            found = re.search(r'href="(/cooperations/[^"]+\?before=\d+)#timeline"', seen.text)
            link = found.group(1) if found else None
    # Page after page, the whole story once, the first event last.
    assert sum(len(p) for p in pages_read) == last
    assert all(len(p) == PAGE for p in pages_read[:-1])
    assert "Coopération enregistrée" in pages_read[-1][-1]


def _told(html: str) -> list[str]:
    story = html.split('<ol class="timeline"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r"<li[^>]*>(.*?)</li>", story, re.S)
