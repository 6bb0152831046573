"""Nobody can flood a cooperation (DESIGN.md, "Who may get in, and what nobody may abuse"),
attacked through HTTP on the live stack: a collective that asks the same transition again
and again gets one open request and 409s naming it; reasons, however long, stay readable
from PostgreSQL and never travel in the cooperation's summary (the workflow's state carries
no free text)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.web.session import SESSION_COOKIE
from store.tokens import create_token
from tests.api.world import FACILITATOR, World, build, ok
from tests.web.browser import Live


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # httpx keeps Secure cookies for https only: the page is read over http here.
    # The world subscribes a webhook receiver on loopback, as an operator's allow-list permits.
    return {"web_secure_cookies": False, "webhook_allow_networks": "127.0.0.0/8"}


@pytest_asyncio.fixture(scope="module")
async def world(module_live_server: Live) -> AsyncIterator[World]:
    yield await build(module_live_server.http, module_live_server.auth, module_live_server.pool)


def _reason(tag: str) -> str:
    """A reason as long as the door takes, marked so it can be looked for anywhere."""
    marker = f"MOTIF-{tag}-{uuid.uuid4().hex[:8]}"
    return (marker + " ") + "x" * (2000 - len(marker) - 1)


async def test_asking_the_same_transition_again_is_409_naming_the_open_request(
    module_live_server: Live, world: World
) -> None:
    http, coop = module_live_server.http, world.coop
    collective = world.collectives["ruche"]
    # The world left an open advance request: 20 more, at once, are each refused.
    answers = await asyncio.gather(
        *(
            http.post(
                f"/v1/cooperations/{coop}/transition-requests",
                json={"action": "advance", "reason": _reason("flood")},
                headers=collective,
            )
            for _ in range(20)
        )
    )
    for answer in answers:
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert f"transition request {world.request}" in problem["detail"]
        assert [e["path"] for e in problem["errors"]] == ["action"]
    listed = await ok(
        await http.get(
            f"/v1/cooperations/{coop}/transition-requests", headers=world.headers["facilitator"]
        )
    )
    assert [(r["action"], r["status"]) for r in listed if r["action"] == "advance"] == [
        ("advance", "open")
    ]


async def test_reasons_are_read_from_postgresql_never_from_the_summary(
    module_live_server: Live, world: World
) -> None:
    http, coop = module_live_server.http, world.coop
    collective, anim = world.collectives["ruche"], world.headers["facilitator"]
    reason = _reason("pause")
    asked = await http.post(
        f"/v1/cooperations/{coop}/transition-requests",
        json={"action": "pause", "reason": reason},
        headers=collective,
    )
    made = await ok(asked, 201)
    # Readable in its own answer and at its Location at once, reason included.
    assert made["reason"] == reason and made["status"] == "open"
    shown = await ok(await http.get(asked.headers["location"], headers=anim))
    assert (shown["seq"], shown["reason"]) == (made["seq"], reason)
    # The summary lists it open, without its reason.
    summary = await ok(await http.get(f"/v1/cooperations/{coop}", headers=collective))
    assert {"seq": made["seq"], "status": "open"}.items() <= _by_seq(summary, made["seq"]).items()
    assert _by_seq(summary, made["seq"]).get("reason") is None
    assert reason[:20] not in (await http.get(f"/v1/cooperations/{coop}", headers=anim)).text

    # A second pause request while this one is open: refused, naming it.
    again = await http.post(
        f"/v1/cooperations/{coop}/transition-requests",
        json={"action": "pause", "reason": _reason("again")},
        headers=collective,
    )
    assert again.status_code == 409 and f"transition request {made['seq']}" in again.text

    # The facilitator pauses: the request is answered, dated, and leaves the summary; its
    # reason is still read from PostgreSQL.
    paused = await ok(
        await http.post(
            f"/v1/cooperations/{coop}/transitions",
            json={"action": "pause", "reason": _reason("move")},
            headers=anim,
        )
    )
    assert all(r["seq"] != made["seq"] for r in paused["requests"])
    answered = await ok(await http.get(asked.headers["location"], headers=collective))
    assert (answered["status"], answered["reason"]) == ("answered", reason)
    assert answered["decided_at"] is not None
    # Once answered, the action can be asked again, then declined: readable as declined.
    await ok(
        await http.post(
            f"/v1/cooperations/{coop}/transitions", json={"action": "resume"}, headers=anim
        )
    )
    second = await ok(
        await http.post(
            f"/v1/cooperations/{coop}/transition-requests",
            json={"action": "pause", "reason": _reason("second")},
            headers=collective,
        ),
        201,
    )
    declined = await ok(
        await http.post(
            f"/v1/cooperations/{coop}/transition-requests/{second['seq']}/decline",
            json={"reason": "Pas maintenant"},
            headers=anim,
        )
    )
    assert (declined["status"], declined["reason"]) == ("declined", second["reason"])
    again_declined = await http.post(
        f"/v1/cooperations/{coop}/transition-requests/{second['seq']}/decline",
        json={"reason": "Toujours pas"},
        headers=anim,
    )
    assert again_declined.status_code == 409, again_declined.text

    # The read model's copy of the summary (PostgreSQL), once the effects are through,
    # carries none of the reasons either.
    state = await _projected_without(module_live_server, coop, second["seq"])
    for text in (reason, second["reason"]):
        assert text[:20] not in state


async def _projected_without(live: Live, coop: str, seq: int) -> str:
    """The projected summary once request `seq` has left it (the effects follow answers)."""
    for _ in range(200):
        async with live.pool.acquire() as conn:
            state = await conn.fetchval("SELECT state FROM cooperations WHERE id = $1", coop)
        if state is not None and all(r["seq"] != seq for r in state["requests"]):
            return json.dumps(state, ensure_ascii=False)
        await asyncio.sleep(0.05)
    raise AssertionError(f"request {seq} never left the projected summary")


def _by_seq(summary: dict[str, Any], seq: int) -> dict[str, Any]:
    return next(r for r in summary["requests"] if r["seq"] == seq)


async def test_the_cooperation_page_still_shows_the_reasons(
    module_live_server: Live, world: World
) -> None:
    http, coop = module_live_server.http, world.coop
    reason = _reason("page")
    await ok(
        await http.post(
            f"/v1/cooperations/{coop}/transition-requests",
            json={"action": "restart", "reason": reason},
            headers=world.collectives["ruche"],
        ),
        201,
    )
    async with module_live_server.pool.acquire() as conn:
        _, token = await create_token(
            conn, "facilitator", FACILITATOR, expires_in=timedelta(hours=1)
        )
    async with httpx.AsyncClient(base_url=module_live_server.base_url) as browser:
        browser.cookies.set(SESSION_COOKIE, token)
        page = await browser.get(f"/cooperations/{coop}")
    assert page.status_code == 200, page.text
    assert reason.split(" ")[0] in page.text
