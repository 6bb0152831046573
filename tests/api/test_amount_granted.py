"""Rule 17 through HTTP on the real stack: a programme with `amounts: granted` (shares, bounds)
is published and refused naming its fields; its funder sees the bounds in its inbox, accepts a
line with the amount it grants, and every release pays exactly what the acceptance fixed
(33,333.33 × 0.6 then 0.4: 19,999.99 then 13,333.34, to the cent in the ledger); an amount
missing, not money or out of bounds is 422 naming `amount`, an amount for a fixed programme
too; beyond the budget is 409 saying what remains and what is needed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import Auth, cooperation, programme
from tests.api.world import eventually, ok

pytestmark = [pytest.mark.integration]


def granted_programme(pid: str, funder: str, **changes: Any) -> dict[str, Any]:
    return programme(
        pid,
        funder,
        **{
            "amounts": "granted",
            "grant": {"min": "10000.00", "max": "50000.00"},
            **changes,
        },
    ) | ({} if "phases" in changes else {"phases": _PHASES})


_PHASES: dict[str, Any] = {
    "emergence": {
        "check_in_every": "P1M",
        "tranches": [
            {"id": "amorcage", "share": "0.6", "purpose": "animation", "when": "entry"},
            {"id": "suite", "share": "0.4", "purpose": "operating", "when": "approval"},
        ],
    }
}


def _paths(problem: dict[str, Any]) -> list[str]:
    return [e["path"] for e in problem.get("errors", [])]


async def _proposed(
    http: httpx.AsyncClient, auth: Auth, **changes: Any
) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """A granted programme and a cooperation proposing a line of it: (cooperation, programme,
    the funder's headers, the facilitator's)."""
    sfx = uuid.uuid4().hex[:6]
    funder_id, pid, coop = f"fondation-{sfx}", f"accorde-{sfx}", f"ruche-{sfx}"
    funder = await auth("funder", funder_id)
    anim = await auth("facilitator", f"anim-{sfx}")
    spec = granted_programme(pid, funder_id, **changes)
    await ok(await http.post("/v1/programmes", json=spec, headers=funder), 201)
    await ok(await http.post("/v1/cooperations", json=cooperation(coop, [pid]), headers=anim), 201)
    return coop, pid, funder, anim


async def test_accepting_with_an_amount_releases_exactly_what_it_fixed(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    coop, pid, funder, _ = await _proposed(http, auth)
    inbox = await ok(await http.get(f"/v1/programmes/{pid}/inbox", headers=funder))
    (proposed,) = inbox["proposed_lines"]
    # The bounds instead of an amount: nothing is known to commit before the funder grants.
    assert proposed["amount"] is None
    assert proposed["grant"] == {"min": "10000.00", "max": "50000.00", "besides": "0.00"}

    decision = f"/v1/cooperations/{coop}/funding-lines/{pid}/decision"
    line = await ok(
        await http.post(decision, json={"accept": True, "amount": "33333.33"}, headers=funder)
    )
    assert (line["status"], line["committed"], line["granted"]) == (
        "active",
        "33333.33",
        "33333.33",
    )
    assert [(t["tranche"], t["status"], t["amount"]) for t in line["tranches"]] == [
        ("amorcage", "released", "19999.99"),
        ("suite", "pending", "13333.34"),
    ]
    schedule = await ok(await http.get(f"/v1/cooperations/{coop}/schedule", headers=funder))
    assert [(t["tranche"], t["amount"]) for t in schedule["pending_tranches"]] == [
        ("suite", "13333.34")
    ]
    await ok(
        await http.post(
            f"/v1/cooperations/{coop}/approvals",
            json={"line": pid, "tranche": "suite"},
            headers=funder,
        )
    )
    ledger = await eventually(
        http,
        f"/v1/cooperations/{coop}/ledger",
        funder,
        lambda body: body if len(body["items"] if isinstance(body, dict) else body) == 2 else None,
    )
    rows = ledger["items"] if isinstance(ledger, dict) else ledger
    assert [(r["tranche"], r["amount"], r["payee"]) for r in rows] == [
        ("amorcage", "19999.99", "pole-107"),
        ("suite", "13333.34", "pole-107"),
    ]
    events = await ok(await http.get(f"/v1/cooperations/{coop}/events", headers=funder))
    (attached,) = [e for e in events["items"] if e["type"] == "FundingLineAttached"]
    assert (attached["data"]["amount"], attached["data"]["granted"]) == ("33333.33", "33333.33")
    board = await eventually(
        http,
        f"/v1/programmes/{pid}/dashboard",
        funder,
        lambda b: b if b["released"] == "33333.33" else None,
    )
    assert board["committed"] == "33333.33"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"accept": True}, "required"),
        ({"accept": True, "amount": "9999.99"}, "below the programme's minimum grant"),
        ({"accept": True, "amount": "50000.01"}, "above the programme's maximum grant"),
        ({"accept": True, "amount": 20000}, "decimal string"),
        ({"accept": True, "amount": "vingt mille"}, "decimal"),
        ({"accept": True, "amount": "20000.001"}, "cents"),
        ({"accept": False, "amount": "20000.00"}, "declined line is granted nothing"),
    ],
)
async def test_an_amount_missing_or_out_of_bounds_is_422_naming_amount(
    http: httpx.AsyncClient, auth: Auth, body: dict[str, Any], words: str
) -> None:
    coop, pid, funder, _ = await _proposed(http, auth)
    decision = f"/v1/cooperations/{coop}/funding-lines/{pid}/decision"
    refused = await ok(await http.post(decision, json=body, headers=funder), 422)
    assert _paths(refused) == ["amount"]
    assert words in refused["errors"][0]["message"]
    line = await ok(await http.get(f"/v1/cooperations/{coop}/funding-lines/{pid}", headers=funder))
    assert (line["status"], line["granted"]) == ("proposed", None)
    # Still open to a right decision.
    accepted = await ok(
        await http.post(decision, json={"accept": True, "amount": "10000.00"}, headers=funder)
    )
    assert accepted["committed"] == "10000.00"


async def test_an_amount_for_a_fixed_programme_is_422_naming_amount(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    sfx = uuid.uuid4().hex[:6]
    funder_id, pid, coop = f"fondation-{sfx}", f"fixe-{sfx}", f"ruche-{sfx}"
    funder = await auth("funder", funder_id)
    anim = await auth("facilitator", f"anim-{sfx}")
    await ok(await http.post("/v1/programmes", json=programme(pid, funder_id), headers=funder), 201)
    await ok(await http.post("/v1/cooperations", json=cooperation(coop, [pid]), headers=anim), 201)
    refused = await ok(
        await http.post(
            f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
            json={"accept": True, "amount": "1000.00"},
            headers=funder,
        ),
        422,
    )
    assert _paths(refused) == ["amount"] and "fixed amounts" in refused["detail"]


async def test_beyond_the_budget_is_409_with_what_remains_and_what_is_needed(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    coop, pid, funder, _ = await _proposed(http, auth, budget="30000.00")
    decision = f"/v1/cooperations/{coop}/funding-lines/{pid}/decision"
    refused = await ok(
        await http.post(decision, json={"accept": True, "amount": "33333.33"}, headers=funder),
        409,
    )
    assert "30000.00" in refused["detail"] and "33333.33" in refused["detail"]
    assert (refused.get("remaining"), refused.get("needed")) == ("30000.00", "33333.33")
    line = await ok(await http.get(f"/v1/cooperations/{coop}/funding-lines/{pid}", headers=funder))
    assert (line["status"], line["granted"], line["committed"]) == ("proposed", None, "0.00")
    # A smaller grant fits.
    await ok(await http.post(decision, json={"accept": True, "amount": "30000.00"}, headers=funder))


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"grant": {"min": "500.00", "max": "100.00"}}, "grant.max"),
        ({"amounts": "sometimes"}, "amounts"),
        (
            {
                "phases": {
                    "emergence": {
                        "check_in_every": "P1M",
                        "tranches": [
                            {"id": "a", "share": "0.5", "purpose": "animation", "when": "entry"},
                            {"id": "b", "amount": "5.00", "purpose": "animation", "when": "entry"},
                        ],
                    }
                }
            },
            "phases.emergence.tranches.1.amount",
        ),
        (
            {
                "phases": {
                    "emergence": {
                        "check_in_every": "P1M",
                        "tranches": [
                            {"id": "a", "share": "0.5", "purpose": "animation", "when": "entry"}
                        ],
                    }
                }
            },
            "amounts",
        ),
    ],
)
async def test_a_granted_spec_at_fault_is_422_naming_the_field(
    http: httpx.AsyncClient, auth: Auth, changes: dict[str, Any], path: str
) -> None:
    sfx = uuid.uuid4().hex[:6]
    funder = await auth("funder", f"fondation-{sfx}")
    spec = granted_programme(f"accorde-{sfx}", f"fondation-{sfx}") | changes
    refused = await ok(await http.post("/v1/programmes", json=spec, headers=funder), 422)
    assert path in _paths(refused)


async def test_a_share_in_a_fixed_programme_is_422_and_versions_keep_working(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    sfx = uuid.uuid4().hex[:6]
    funder_id, pid = f"fondation-{sfx}", f"accorde-{sfx}"
    funder = await auth("funder", funder_id)
    spec = programme(pid, funder_id)
    spec["phases"]["emergence"]["tranches"][0] = {
        "id": "amorcage",
        "share": "1",
        "purpose": "animation",
        "when": "entry",
    }
    refused = await ok(await http.post("/v1/programmes", json=spec, headers=funder), 422)
    assert _paths(refused) == ["phases.emergence.tranches.0.share"]
    first = await ok(
        await http.post("/v1/programmes", json=granted_programme(pid, funder_id), headers=funder),
        201,
    )
    raised = granted_programme(pid, funder_id, grant={"min": "10000.00", "max": "60000.00"})
    second = await ok(await http.put(f"/v1/programmes/{pid}", json=raised, headers=funder))
    assert (first["version"], second["version"]) == (1, 2)
    assert second["grant"] == {"min": "10000.00", "max": "60000.00"}
    assert second["amounts"] == "granted"
    assert second["phases"]["emergence"]["tranches"][0]["share"] == "0.6"
    again = await ok(await http.put(f"/v1/programmes/{pid}", json=raised, headers=funder))
    assert again["version"] == 2  # an identical spec changes nothing
