"""Rule 18 through HTTP on the real stack: a programme requiring a convention; its line,
accepted, holds its entry tranche; the funder records the convention (others: 403, another
funder: 404; a date out of order: 422 naming it; twice, or before acceptance: 409) and the
held tranche is released at that instant; every reader sees the convention or that it is
awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import Auth, cooperation, programme

pytestmark = [pytest.mark.integration]

COOP = "ressourcerie-conv"
URL = f"/v1/cooperations/{COOP}"
CONVENTION = f"{URL}/funding-lines/conv/convention"


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def _fields(response: httpx.Response) -> list[str]:
    return [e["path"] for e in response.json().get("errors", [])]


async def _events(http: httpx.AsyncClient, headers: dict[str, str], kind: str) -> list[Any]:
    """The event log once it holds an event of `kind` (the projection follows the answers)."""
    for _ in range(200):
        feed = await _ok(await http.get(f"{URL}/events?limit=500", headers=headers))
        if any(e["type"] == kind for e in feed["items"]):
            items: list[Any] = feed["items"]
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"the log never recorded {kind}")


async def _inbox(
    http: httpx.AsyncClient, headers: dict[str, str], done: Callable[[list[Any]], bool]
) -> Any:
    """The funder's inbox once its conventions awaited are as `done` wants (the read model
    follows the answers)."""
    for _ in range(200):
        inbox = await _ok(await http.get("/v1/programmes/conv/inbox", headers=headers))
        if done(inbox["conventions_awaited"]):
            return inbox
        await asyncio.sleep(0.05)
    return inbox


async def test_a_required_convention_holds_the_line_until_its_funder_records_it(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    fondation = await auth("funder", "fondation")
    region = await auth("funder", "region")
    pole = await auth("facilitator", "pole-107")
    collectif = await auth("collective", COOP)

    refused = await http.post(
        "/v1/programmes", json=programme("x", "fondation", convention="optional"), headers=fondation
    )
    assert refused.status_code == 422 and _fields(refused) == ["convention"], refused.text
    spec = await _ok(
        await http.post(
            "/v1/programmes",
            json=programme("conv", "fondation", convention="required"),
            headers=fondation,
        ),
        201,
    )
    assert spec["convention"] == "required"
    await _ok(
        await http.post("/v1/programmes", json=programme("reg", "region"), headers=region), 201
    )
    await _ok(
        await http.post("/v1/cooperations", json=cooperation(COOP, ["conv", "reg"]), headers=pole),
        201,
    )
    today = datetime.now(UTC).date()
    body = {"reference": "CONV-2027-014", "signed_on": today.isoformat()}

    # Proposed, not yet accepted: 409.
    early = await http.post(CONVENTION, json=body, headers=fondation)
    assert early.status_code == 409 and "proposed" in early.json()["detail"], early.text

    line = await _ok(
        await http.post(
            f"{URL}/funding-lines/conv/decision", json={"accept": True}, headers=fondation
        )
    )
    assert line["status"] == "active"
    assert line["convention"] is None and line["convention_awaited"] is True
    amorcage = next(t for t in line["tranches"] if t["tranche"] == "amorcage")
    assert amorcage["status"] == "pending" and "convention" in amorcage["waits_for"]
    assert line["released"] == "0.00"
    inbox = await _inbox(http, fondation, lambda awaited: bool(awaited))
    assert [(x["cooperation"], x["phase"]) for x in inbox["conventions_awaited"]] == [
        (COOP, "emergence")
    ]
    schedule = await _ok(await http.get(f"{URL}/schedule", headers=pole))
    held = [t for t in schedule["pending_tranches"] if t["waits_for"]]
    assert [(t["line"], t["tranche"]) for t in held] == [("conv", "amorcage")]

    # Only its funder records it: the facilitator, the collective: 403; another funder: 404.
    for headers, status in ((pole, 403), (collectif, 403), (region, 404)):
        answer = await http.post(CONVENTION, json=body, headers=headers)
        assert answer.status_code == status, answer.text
    # Dates out of order: 422 naming the field.
    tomorrow = today + timedelta(days=1)
    later = await http.post(
        CONVENTION, json=body | {"signed_on": tomorrow.isoformat()}, headers=fondation
    )
    assert later.status_code == 422 and _fields(later) == ["signed_on"], later.text
    ending = await http.post(
        CONVENTION,
        json=body | {"ends_on": (today - timedelta(days=1)).isoformat()},
        headers=fondation,
    )
    assert ending.status_code == 422 and _fields(ending) == ["ends_on"], ending.text
    malformed = await http.post(
        CONVENTION, json=body | {"signed_on": "le 12 février"}, headers=fondation
    )
    assert malformed.status_code == 422 and _fields(malformed) == ["signed_on"], malformed.text

    ends = (today + timedelta(days=365)).isoformat()
    recorded = await http.post(CONVENTION, json=body | {"ends_on": ends}, headers=fondation)
    signed = await _ok(recorded, 201)
    assert signed == {
        "seq": signed["seq"],
        "line": "conv",
        "programme": "conv",
        "reference": "CONV-2027-014",
        "signed_on": today.isoformat(),
        "ends_on": ends,
    }
    assert recorded.headers["location"] == f"{URL}/events/{signed['seq']}"
    event = await _ok(await http.get(recorded.headers["location"], headers=fondation))
    assert event["type"] == "ConventionSigned"

    items = await _events(http, fondation, "ConventionSigned")
    at = next(e for e in items if e["type"] == "ConventionSigned")
    after = next(e for e in items if e["seq"] == at["seq"] + 1)
    assert after["type"] == "TrancheReleased" and after["data"]["tranche"] == "amorcage"
    assert after["at"] == at["at"]

    line = await _ok(await http.get(f"{URL}/funding-lines/conv", headers=collectif))
    assert line["convention"] == {
        "reference": "CONV-2027-014",
        "signed_on": today.isoformat(),
        "ends_on": ends,
    }
    assert line["convention_awaited"] is False and line["released"] == "8000.00"
    inbox = await _inbox(http, fondation, lambda awaited: not awaited)
    assert inbox["conventions_awaited"] == []
    # The co-funder's line needs none, and another funder sees nothing of this one.
    others = await _ok(await http.get(f"{URL}/funding-lines", headers=region))
    assert [x["line"] for x in others] == ["reg"]

    again = await http.post(CONVENTION, json=body | {"reference": "BIS"}, headers=fondation)
    assert again.status_code == 409 and "already recorded" in again.json()["detail"], again.text
