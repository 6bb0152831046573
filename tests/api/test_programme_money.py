"""A programme's money to the cent through HTTP on the real stack: the dashboard's loans block
counts what was written off (a written-off loan is settled, and still written off), and the
budget is the spec's at creation plus every raise, moved by each version only by the change
of the spec's figure, never below what is committed, whatever runs at the same time (rule 9:
first come first served, atomically in PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.api.conftest import Auth, cooperation, programme
from tests.api.world import eventually, loan_programme, ok

pytestmark = [pytest.mark.integration]

LEGAL = [{"id": "asso", "name": "Association du Bourg", "legal_form": "association"}]
"""One member that is a legal entity and no fiscal host: the borrower of a loan line."""

POTENTIAL = Decimal("46000.00")
"""What accepting a line of tests.api.conftest.programme commits (8000 + 7000 + 1000 + 30000)."""


def _suffix() -> str:
    return uuid.uuid4().hex[:6]


async def _accepted(
    http: httpx.AsyncClient,
    coop: str,
    pid: str,
    anim: dict[str, str],
    funder: dict[str, str],
    members: list[dict[str, Any]] | None = None,
) -> httpx.Response:
    """A cooperation registered with a line of `pid`, and its funder's decision (as answered)."""
    body = cooperation(coop, [pid], members=members or LEGAL, fiscal_host=None)
    await ok(await http.post("/v1/cooperations", json=body, headers=anim), 201)
    return await http.post(
        f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
        json={"accept": True},
        headers=funder,
    )


async def _board(http: httpx.AsyncClient, pid: str, funder: dict[str, str]) -> Any:
    return await ok(await http.get(f"/v1/programmes/{pid}/dashboard", headers=funder))


def _version(pid: str, funder: str, budget: str, name: str) -> dict[str, Any]:
    return programme(pid, funder, budget=budget, name=name)


# -- the loans block: count, outstanding, in arrears, written off ---------------------------


async def test_the_dashboard_counts_what_was_written_off(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    sfx = _suffix()
    funder_id, pid = f"fondation-{sfx}", f"pret-{sfx}"
    funder = await auth("funder", funder_id)
    anim = await auth("facilitator", f"anim-{sfx}")
    await ok(
        await http.post("/v1/programmes", json=loan_programme(pid, funder_id), headers=funder),
        201,
    )
    lost, running = f"perdu-{sfx}", f"en-cours-{sfx}"
    for coop in (lost, running):
        await ok(await _accepted(http, coop, pid, anim, funder))
    # Both loans disbursed (20000 each), projected a moment after the answers.
    await eventually(
        http,
        f"/v1/programmes/{pid}/dashboard",
        funder,
        lambda board: board["loans"]["open"] == 2,
    )
    await ok(
        await http.post(
            f"/v1/cooperations/{lost}/repayments",
            json={"line": pid, "tranche": "pret", "amount": "500.00"},
            headers=funder,
        ),
        201,
    )
    written = await ok(
        await http.post(
            f"/v1/cooperations/{lost}/write-offs",
            json={"line": pid, "tranche": "pret", "reason": "Activité arrêtée"},
            headers=funder,
        ),
        201,
    )
    amount = Decimal(written["amount"])
    # What the schedule still expected: the principal left (19500) and its interest.
    assert amount > Decimal("19500.00")

    board = await eventually(
        http,
        f"/v1/programmes/{pid}/dashboard",
        funder,
        lambda board: board if board["loans"]["open"] == 1 else None,
    )
    assert board["loans"] == {
        "open": 1,
        # The running loan, disbursed the same day: what the lost one owed before its 500.
        "outstanding": str(amount + Decimal("500.00")),
        "in_arrears": 0,
        "outstanding_in_arrears": "0",
        "written_off": str(amount),
        "written_off_count": 1,
    }
    # The OpenAPI document says so too.
    document = (await http.get("/openapi.json")).json()
    fields = document["components"]["schemas"]["DashboardLoans"]["properties"]
    assert {"written_off", "written_off_count"} <= set(fields)


# -- the budget across versions -------------------------------------------------------------


async def test_a_version_moves_the_budget_by_its_change_and_never_below_what_is_committed(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    sfx = _suffix()
    funder_id, pid = f"fondation-{sfx}", f"fdt-{sfx}"
    funder = await auth("funder", funder_id)
    anim = await auth("facilitator", f"anim-{sfx}")
    await ok(
        await http.post(
            "/v1/programmes", json=_version(pid, funder_id, "100000.00", "v1"), headers=funder
        ),
        201,
    )
    await ok(await _accepted(http, f"ruche-{sfx}", pid, anim, funder))
    raised = await ok(
        await http.post(f"/v1/programmes/{pid}/budget", json={"amount": "10000.00"}, headers=funder)
    )
    assert (raised["budget"], raised["committed"]) == ("110000.00", "46000.00")

    # Another name, the same budget: the raise is kept.
    await ok(
        await http.put(
            f"/v1/programmes/{pid}",
            json=_version(pid, funder_id, "100000.00", "v2"),
            headers=funder,
        )
    )
    board = await _board(http, pid, funder)
    assert (board["version"], board["budget"], board["remaining"]) == (2, "110000.00", "64000.00")

    # The spec's budget lowered by 50000: so is the budget, raise kept.
    await ok(
        await http.put(
            f"/v1/programmes/{pid}", json=_version(pid, funder_id, "50000.00", "v3"), headers=funder
        )
    )
    board = await _board(http, pid, funder)
    assert (board["version"], board["budget"], board["committed"]) == (3, "60000.00", "46000.00")

    # 20000 less would leave 40000 for 46000 committed: refused, saying both, nothing stored.
    refused = await http.put(
        f"/v1/programmes/{pid}", json=_version(pid, funder_id, "30000.00", "v4"), headers=funder
    )
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert "46000.00" in problem["detail"] and "40000.00" in problem["detail"]
    assert (problem["committed"], problem["budget"]) == ("46000.00", "40000.00")
    assert [e["path"] for e in problem["errors"]] == ["budget"]
    board = await _board(http, pid, funder)
    assert (board["version"], board["budget"]) == (3, "60000.00")
    versions = await ok(await http.get(f"/v1/programmes/{pid}/versions", headers=funder))
    assert [v["version"] for v in versions] == [1, 2, 3]

    # Down to what is committed exactly is allowed; then raised again, and kept by the next
    # version that leaves the budget as it was.
    await ok(
        await http.put(
            f"/v1/programmes/{pid}", json=_version(pid, funder_id, "36000.00", "v4"), headers=funder
        )
    )
    assert (await _board(http, pid, funder))["remaining"] == "0.00"
    await ok(
        await http.post(f"/v1/programmes/{pid}/budget", json={"amount": "4000.00"}, headers=funder)
    )
    await ok(
        await http.put(
            f"/v1/programmes/{pid}", json=_version(pid, funder_id, "36000.00", "v5"), headers=funder
        )
    )
    board = await _board(http, pid, funder)
    assert (board["version"], board["budget"]) == (5, "50000.00")
    # The same spec again changes nothing.
    again = await http.put(
        f"/v1/programmes/{pid}", json=_version(pid, funder_id, "36000.00", "v5"), headers=funder
    )
    assert (await ok(again))["version"] == 5
    assert (await _board(http, pid, funder))["budget"] == "50000.00"


async def test_concurrent_versions_and_raises_give_the_last_specs_budget_plus_every_raise(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    sfx = _suffix()
    funder_id, pid = f"fondation-{sfx}", f"fdt-{sfx}"
    funder = await auth("funder", funder_id)
    await ok(
        await http.post(
            "/v1/programmes", json=_version(pid, funder_id, "100000.00", "v0"), headers=funder
        ),
        201,
    )
    budgets = ["150000.00", "80000.00", "120000.00", "90000.00", "200000.00", "110000.00"]
    raises = ["1000.00", "2500.00", "700.00", "12000.00", "300.00", "4000.00"]
    calls = [
        http.put(
            f"/v1/programmes/{pid}",
            json=_version(pid, funder_id, budget, f"v-{i}"),
            headers=funder,
        )
        for i, budget in enumerate(budgets)
    ] + [
        http.post(f"/v1/programmes/{pid}/budget", json={"amount": amount}, headers=funder)
        for amount in raises
    ]
    # Interleaved: a version, a raise, a version...
    calls[::2], calls[1::2] = calls[: len(budgets)], calls[len(budgets) :]
    for answer in await asyncio.gather(*calls):
        await ok(answer)

    board = await _board(http, pid, funder)
    current = await ok(await http.get(f"/v1/programmes/{pid}", headers=funder))
    assert board["version"] == current["version"] == 1 + len(budgets)
    assert Decimal(board["budget"]) == Decimal(current["budget"]) + sum(map(Decimal, raises))


async def test_versions_lowering_the_budget_and_acceptances_at_once_never_overcommit(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    sfx = _suffix()
    funder_id, pid = f"fondation-{sfx}", f"fdt-{sfx}"
    funder = await auth("funder", funder_id)
    anim = await auth("facilitator", f"anim-{sfx}")
    await ok(
        await http.post(
            "/v1/programmes", json=_version(pid, funder_id, "100000.00", "v1"), headers=funder
        ),
        201,
    )
    coops = [f"coop{i}-{sfx}" for i in range(3)]
    for coop in coops:
        body = cooperation(coop, [pid], members=LEGAL, fiscal_host=None)
        await ok(await http.post("/v1/cooperations", json=body, headers=anim), 201)
    # Each version lowers the budget by 20000; three lines of 46000 ask for 138000.
    lowered = ["80000.00", "60000.00"]

    async def publish_in_turn() -> list[httpx.Response]:
        # Each version is based on the one before: published in order, while lines commit.
        return [
            await http.put(
                f"/v1/programmes/{pid}",
                json=_version(pid, funder_id, budget, f"v-{budget}"),
                headers=funder,
            )
            for budget in lowered
        ]

    decisions = [
        http.post(
            f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
            json={"accept": True},
            headers=funder,
        )
        for coop in coops
    ]
    published, *answers = await asyncio.gather(publish_in_turn(), *decisions)
    accepted = [a for a in answers if a.status_code == 200]
    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
    assert all(p.status_code in (200, 409) for p in published), [p.text for p in published]

    board = await _board(http, pid, funder)
    current = await ok(await http.get(f"/v1/programmes/{pid}", headers=funder))
    # No raise: the budget is the current version's figure, whichever versions were kept.
    assert (
        board["version"] == current["version"] == 1 + sum(p.status_code == 200 for p in published)
    )
    assert board["budget"] == current["budget"]
    assert Decimal(board["committed"]) == POTENTIAL * len(accepted)
    assert Decimal(board["committed"]) <= Decimal(board["budget"])
    # 100000 holds two lines at most, 60000 one: whoever came first, the rest was refused.
    assert 1 <= len(accepted) <= 2
