"""A funder sees what it accepts (DESIGN.md, "Who may get in"): each line proposed in its
inbox shows its payees and shares, what accepting commits, and whether the facilitator that
proposes it would itself be paid."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import Auth, cooperation, programme

pytestmark = [pytest.mark.integration]

MEMBERS = [
    {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
    {"id": "atelier", "name": "Atelier vélo du Bourg", "legal_form": "association"},
]


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


async def test_each_proposed_line_shows_its_payees_shares_amount_and_a_self_paying_facilitator(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    suffix = uuid.uuid4().hex[:6]
    pid, funder = f"payeurs-{suffix}", f"fondation-{suffix}"
    host = f"pole-{suffix}"
    fondation = await auth("funder", funder)
    pole = await auth("facilitator", host)
    anim = await auth("facilitator", f"anim-{suffix}")
    await _ok(
        await http.post("/v1/programmes", json=programme(pid, funder), headers=fondation), 201
    )

    # The facilitator is the fiscal host and proposes a line paying itself 60 %.
    itself = f"soi-meme-{suffix}"
    split = [{"payee": host, "share": "0.6"}, {"payee": "atelier", "share": "0.4"}]
    body = cooperation(
        itself, [{"programme": pid, "allocation": split}], members=MEMBERS, fiscal_host=host
    )
    await _ok(await http.post("/v1/cooperations", json=body, headers=pole), 201)
    # Another facilitator's line pays the same host (by default), not the facilitator.
    other = f"autre-{suffix}"
    body = cooperation(other, [pid], members=MEMBERS, fiscal_host=host)
    await _ok(await http.post("/v1/cooperations", json=body, headers=anim), 201)
    # A version published after the proposals does not change what accepting them commits.
    richer = programme(pid, funder, budget="900000.00")
    richer["phases"]["emergence"]["tranches"][0]["amount"] = "9000.00"
    published = await http.put(f"/v1/programmes/{pid}", json=richer, headers=fondation)
    assert (await _ok(published))["version"] == 2

    answer = await http.get(f"/v1/programmes/{pid}/inbox", headers=fondation)
    inbox = await _ok(answer)
    lines = {x["cooperation"]: x for x in inbox["proposed_lines"]}
    assert set(lines) == {itself, other}

    own = lines[itself]
    assert own["facilitator"] == host and own["facilitator_is_payee"] is True
    # Version 1's whole potential (8000 + 7000 + 1000 + 30000), in its currency.
    assert (own["version"], own["amount"], own["currency"]) == (1, "46000.00", "EUR")
    assert own["payees"] == [
        {"payee": host, "share": "0.6", "kind": "fiscal_host", "name": None},
        {"payee": "atelier", "share": "0.4", "kind": "member", "name": "Atelier vélo du Bourg"},
    ]

    hosted = lines[other]
    assert hosted["facilitator_is_payee"] is False
    assert hosted["payees"] == [{"payee": host, "share": "1", "kind": "fiscal_host", "name": None}]
    assert (hosted["amount"], hosted["currency"]) == ("46000.00", "EUR")

    # An informal member's name (a person's, often) is not the funder's to read.
    assert "Collectif des habitants" not in answer.text

    # Once accepted, the line leaves the inbox; the commitment is the amount the inbox said.
    accepted = await _ok(
        await http.post(
            f"/v1/cooperations/{itself}/funding-lines/{pid}/decision",
            json={"accept": True},
            headers=fondation,
        )
    )
    assert accepted["committed"] == own["amount"]
    for _ in range(200):  # the read model follows the answer
        inbox = await _ok(await http.get(f"/v1/programmes/{pid}/inbox", headers=fondation))
        if len(inbox["proposed_lines"]) == 1:
            break
        await asyncio.sleep(0.05)
    assert [x["cooperation"] for x in inbox["proposed_lines"]] == [other]


async def test_the_inbox_is_described_in_the_openapi_document(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    schema = document["paths"]["/v1/programmes/{programme_id}/inbox"]["get"]["responses"]["200"]
    assert schema["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Inbox"}
    proposed = document["components"]["schemas"]["ProposedLine"]["properties"]
    assert {"payees", "amount", "currency", "facilitator_is_payee"} <= set(proposed)
