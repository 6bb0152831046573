"""A cooperation's whole life through HTTP on the real stack, each role doing its part:
registered by its facilitator, its lines accepted by two funders, check-ins, reviews, an
approval, a request answered, advance, pivot, restart, pause, resume and close; then read as
each role, a funder seeing only its own line."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.conftest import Auth, cooperation, programme

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COOP = "ressourcerie"


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


async def _eventually(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
    """A page of a queue once it holds something."""
    for _ in range(200):
        page = await _ok(await http.get(path, headers=headers))
        if page["items"]:
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} stayed empty")


async def _until_closed(http: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    """The event log once it holds the close (effects follow the answers)."""
    for _ in range(200):
        feed = await _ok(
            await http.get(f"/v1/cooperations/{COOP}/events?limit=500", headers=headers)
        )
        if any(e["type"] == "Closed" for e in feed["items"]):
            items: list[Any] = feed["items"]
            return items
        await asyncio.sleep(0.05)
    raise AssertionError("the log never recorded the close")


async def test_a_cooperation_lives_through_http_each_role_doing_its_part(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    fondation = await auth("funder", "fondation")
    region = await auth("funder", "region")
    autre = await auth("funder", "autre")
    pole = await auth("facilitator", "pole-107")
    collectif = await auth("collective", COOP)

    await _ok(
        await http.post("/v1/programmes", json=programme("fdt", "fondation"), headers=fondation),
        201,
    )
    await _ok(
        await http.post("/v1/programmes", json=programme("reg", "region"), headers=region), 201
    )
    # A programme's funder must be the caller.
    assert (
        await http.post("/v1/programmes", json=programme("x", "fondation"), headers=region)
    ).status_code == 403

    created = await http.post(
        "/v1/cooperations", json=cooperation(COOP, ["fdt", "reg"]), headers=pole
    )
    state = await _ok(created, 201)
    assert created.headers["location"] == f"/v1/cooperations/{COOP}"
    assert state["facilitator"] == "pole-107"
    assert [(x["line"], x["status"]) for x in state["lines"]] == [
        ("fdt", "proposed"),
        ("reg", "proposed"),
    ]

    # Each funder sees the cooperation and its own line only; another funder sees nothing.
    seen_by_fondation = await _ok(await http.get(f"/v1/cooperations/{COOP}", headers=fondation))
    assert [x["line"] for x in seen_by_fondation["lines"]] == ["fdt"]
    assert seen_by_fondation["programmes"] == ["fdt"]
    assert (await http.get(f"/v1/cooperations/{COOP}", headers=autre)).status_code == 404
    inbox = await _ok(await http.get("/v1/programmes/fdt/inbox", headers=fondation))
    assert [x["cooperation"] for x in inbox["proposed_lines"]] == [COOP]

    # Acceptance commits; the entry tranche is released to the fiscal host.
    fdt = await _ok(
        await http.post(
            f"/v1/cooperations/{COOP}/funding-lines/fdt/decision",
            json={"accept": True},
            headers=fondation,
        )
    )
    assert (
        fdt["status"] == "active"
        and fdt["committed"] == "46000.00"
        and fdt["released"] == "8000.00"
    )
    # Another funder's line is invisible to a funder: not found, not forbidden.
    assert (
        await http.post(
            f"/v1/cooperations/{COOP}/funding-lines/fdt/decision",
            json={"accept": True},
            headers=region,
        )
    ).status_code == 404
    reg = await _ok(
        await http.post(
            f"/v1/cooperations/{COOP}/funding-lines/reg/decision",
            json={"accept": True},
            headers=region,
        )
    )
    assert reg["status"] == "active"

    # The collective checks in; the narrative stays in PostgreSQL, readable at its Location.
    submitted = await http.post(
        f"/v1/cooperations/{COOP}/check-ins",
        json={"narrative": "Trois ateliers de réparation.", "indicators": {"participants": 23}},
        headers=collectif,
    )
    check_in = await _ok(submitted, 201)
    assert check_in["period"] == 1 and check_in["status"] == "submitted"
    one = await _ok(await http.get(submitted.headers["location"], headers=pole))
    assert one["narrative"] == "Trois ateliers de réparation." and one["indicators"] == {
        "participants": 23
    }
    # Only the collective checks in; only the facilitator reviews.
    assert (
        await http.post(f"/v1/cooperations/{COOP}/check-ins", json={"narrative": "x"}, headers=pole)
    ).status_code == 403
    queue = await _ok(await http.get("/v1/check-ins?status=submitted", headers=pole))
    assert [x["id"] for x in queue["items"]] == [check_in["id"]]
    assert (
        await http.post(
            f"/v1/cooperations/{COOP}/check-ins/{check_in['id']}/review",
            json={"decision": "accepted"},
            headers=fondation,
        )
    ).status_code == 403
    reviewed = await _ok(
        await http.post(
            f"/v1/cooperations/{COOP}/check-ins/{check_in['id']}/review",
            json={"decision": "accepted", "comment": "Bravo"},
            headers=pole,
        )
    )
    assert reviewed["status"] == "accepted" and reviewed["comment"] == "Bravo"

    # The facilitator is paid by these lines (fiscal host): the funder approves.
    forbidden = await http.post(
        f"/v1/cooperations/{COOP}/approvals",
        json={"line": "fdt", "tranche": "feu-vert"},
        headers=pole,
    )
    assert forbidden.status_code == 403, forbidden.text
    assert forbidden.headers["content-type"] == "application/problem+json"
    approved = await _ok(
        await http.post(
            f"/v1/cooperations/{COOP}/approvals",
            json={"line": "fdt", "tranche": "feu-vert"},
            headers=fondation,
        )
    )
    assert [x["released"] for x in approved["lines"]] == ["16000.00"]

    # A request from the collective, answered by the facilitator's advance.
    asked = await http.post(
        f"/v1/cooperations/{COOP}/transition-requests",
        json={"action": "advance", "reason": "Prêts pour expérimenter"},
        headers=collectif,
    )
    request = await _ok(asked, 201)
    assert (await _ok(await http.get(asked.headers["location"], headers=fondation)))[
        "status"
    ] == "open"
    # The facilitator's queue reads the read model, which follows the answer by a moment.
    waiting = await _eventually(http, "/v1/transition-requests?status=open", pole)
    assert [(x["cooperation"], x["seq"]) for x in waiting["items"]] == [(COOP, request["seq"])]
    advanced = await _ok(
        await http.post(
            f"/v1/cooperations/{COOP}/transitions", json={"action": "advance"}, headers=pole
        )
    )
    assert advanced["phase"] == "experimentation"
    # Answered, it leaves the summary (open requests only, never a reason); the cooperation's
    # requests, from PostgreSQL, say when it was answered and still give its reason.
    assert advanced["requests"] == []
    answered = await _ok(
        await http.get(f"/v1/cooperations/{COOP}/transition-requests", headers=pole)
    )
    assert [(r["seq"], r["status"], r["reason"]) for r in answered] == [
        (request["seq"], "answered", "Prêts pour expérimenter")
    ]
    assert answered[0]["decided_at"] is not None

    moves = [
        (
            {"action": "pivot", "objectives": "Atelier vélo", "reason": "Nouveau local"},
            "experimentation",
        ),
        ({"action": "restart", "to": "emergence", "reason": "Départ d'un membre"}, "emergence"),
        ({"action": "pause", "reason": "Hiver"}, "emergence"),
        ({"action": "resume"}, "emergence"),
    ]
    for body, phase in moves:
        moved = await _ok(
            await http.post(f"/v1/cooperations/{COOP}/transitions", json=body, headers=pole)
        )
        assert moved["phase"] == phase
    # A restart needs its reason: refused naming the field, nothing applied.
    missing = await http.post(
        f"/v1/cooperations/{COOP}/transitions", json={"action": "restart"}, headers=pole
    )
    assert missing.status_code == 422 and [e["path"] for e in missing.json()["errors"]] == [
        "reason"
    ]
    closed = await _ok(
        await http.post(
            f"/v1/cooperations/{COOP}/transitions",
            json={"action": "close", "outcome": "completed"},
            headers=pole,
        )
    )
    assert closed["closed"] and closed["outcome"] == "completed"
    # A command to a closed cooperation is a conflict.
    late = await http.post(
        f"/v1/cooperations/{COOP}/check-ins", json={"narrative": "encore"}, headers=collectif
    )
    assert late.status_code == 409 and "closed" in late.json()["detail"]

    # Read as each role.
    events = await _until_closed(http, pole)
    by_region = await _until_closed(http, region)
    assert [e["seq"] for e in by_region] == [e["seq"] for e in events]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    withheld = [e for e in by_region if e["data"] == {}]
    assert withheld and all(e["type"] for e in withheld)
    assert not any(e["data"].get("line") == "fdt" for e in by_region)
    assert any(e["data"].get("line") == "fdt" for e in events)

    ledger_region = await _ok(await http.get(f"/v1/cooperations/{COOP}/ledger", headers=region))
    assert {row["line"] for row in ledger_region} == {"reg"}
    ledger_host = await _ok(await http.get(f"/v1/cooperations/{COOP}/ledger", headers=pole))
    assert {row["line"] for row in ledger_host} == {"fdt", "reg"}

    listed = await _ok(await http.get("/v1/cooperations?outcome=completed", headers=fondation))
    assert [x["id"] for x in listed["items"]] == [COOP]
    assert [x["line"] for x in listed["items"][0]["lines"]] == ["fdt"]
    assert (await _ok(await http.get("/v1/cooperations?programme=reg", headers=fondation)))[
        "items"
    ] == []

    dashboard = await _ok(await http.get("/v1/programmes/fdt/dashboard", headers=fondation))
    # Every tranche of its line was released (experimentation's at the advance): nothing
    # left to free at the close; region's approval tranche was never approved: freed.
    assert dashboard["released"] == "46000.00" and dashboard["freed"] == "0.00"
    assert dashboard["animation"] == "15000.00"
    assert (await http.get("/v1/programmes/fdt/dashboard", headers=region)).status_code == 403
    region_board = await _ok(await http.get("/v1/programmes/reg/dashboard", headers=region))
    assert region_board["freed"] == "1000.00" and region_board["released"] == "45000.00"
