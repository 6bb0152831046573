"""`GET /v1/programmes/{id}/forecast` on the real stack: the states the workflows' projection
keeps in PostgreSQL, driven by the rules from today; accepted and proposed lines apart; the
horizon checked (422 naming it); the programme's funder only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from domain.durations import add
from tests.api.conftest import Auth, cooperation, programme
from tests.api.world import eventually, ok

pytestmark = [pytest.mark.integration]


def _spec(pid: str, funder: str) -> dict[str, Any]:
    spec = programme(pid, funder, budget="60000.00")
    spec["phases"]["emergence"]["expected_duration"] = "P6M"
    return spec


async def test_the_forecast_of_accepted_and_proposed_lines(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    suffix = uuid.uuid4().hex[:6]
    pid, funder_id, anim_id = f"prev-{suffix}", f"fondation-{suffix}", f"anim-{suffix}"
    funder = await auth("funder", funder_id)
    anim = await auth("facilitator", anim_id)
    await ok(await http.post("/v1/programmes", json=_spec(pid, funder_id), headers=funder), 201)
    accepted, proposed = f"ruche-{suffix}", f"four-{suffix}"
    for coop in (accepted, proposed):
        body = cooperation(coop, [pid])
        await ok(await http.post("/v1/cooperations", json=body, headers=anim), 201)
    await ok(
        await http.post(
            f"/v1/cooperations/{accepted}/funding-lines/{pid}/decision",
            json={"accept": True},
            headers=funder,
        )
    )
    url = f"/v1/programmes/{pid}/forecast?horizon=P2Y"

    def both(body: dict[str, Any]) -> dict[str, Any] | None:
        parts = (body["accepted"]["cooperations"], body["proposed"]["cooperations"])
        return body if parts == (1, 1) and body["accepted"]["releases"] else None

    body = await eventually(http, url, funder, both)
    today = datetime.now(UTC)
    assert body["start"] == today.date().isoformat()
    assert body["end"] == add(today, "P2Y").date().isoformat()
    assert body["horizon"] == "P2Y"
    assert "approvals_at_the_earliest" in body["assumptions"]
    # The accepted line released its 8000 at acceptance (before the forecast): ahead, its
    # approval at once (1000), the first accepted check-in (7000), and experimentation's
    # entry after the expected P6M (30000).
    assert body["accepted"]["releases"] == {
        "animation": "7000.00",
        "investment": "30000.00",
        "operating": "1000.00",
    }
    assert body["released"] == "8000.00"
    # The proposed line, taken as accepted now: its entry tranche too.
    assert body["proposed"]["releases"] == {
        "animation": "15000.00",
        "investment": "30000.00",
        "operating": "1000.00",
    }
    this_month = body["months"][0]
    assert this_month["month"] == today.strftime("%Y-%m")
    assert Decimal(this_month["releases"]["animation"]) >= Decimal("8000.00")
    assert Decimal(this_month["releases"]["operating"]) == Decimal("2000.00")
    total = sum((Decimal(v) for y in body["years"] for v in y["releases"].values()), Decimal("0"))
    assert total == Decimal("84000.00")
    # 60000 budget: 8000 released, then 8000 + 2000 now, 14000 at the first check-ins, and
    # the first 30000 of experimentation's entries (six months on) goes past it.
    assert body["budget_runs_out_on"] == add(today, "P6M").date().isoformat()


async def test_the_horizon_is_checked(http: httpx.AsyncClient, auth: Auth) -> None:
    suffix = uuid.uuid4().hex[:6]
    pid, funder_id = f"prev-{suffix}", f"fondation-{suffix}"
    funder = await auth("funder", funder_id)
    await ok(await http.post("/v1/programmes", json=_spec(pid, funder_id), headers=funder), 201)
    for horizon in ("cinq ans", "P31Y", "PT5H", "P0D"):
        answer = await http.get(
            f"/v1/programmes/{pid}/forecast", params={"horizon": horizon}, headers=funder
        )
        assert answer.status_code == 422, (horizon, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert [e["path"] for e in answer.json()["errors"]] == ["horizon"]
    default = await ok(await http.get(f"/v1/programmes/{pid}/forecast", headers=funder))
    assert default["horizon"] == "P5Y" and default["budget_runs_out_on"] is None
    other = await auth("funder", f"autre-{suffix}")
    refused = await http.get(f"/v1/programmes/{pid}/forecast", headers=other)
    assert refused.status_code == 403
