"""Roles are namespaces (DESIGN.md, "Who may get in, and what nobody may abuse"): a subject is
always read with its role. Ids of funders, facilitators and cooperations may collide, and a
caller whose id equals another role's gets nothing of that other's: not a programme's budget,
dashboard, inbox or versions, not its amounts, not its cooperations, not its Idempotency-Keys'
answers. Each case, through HTTP on the live stack: the attack and what it must get."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import cooperation, programme
from tests.web.browser import Live

pytestmark = [pytest.mark.integration]


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    assert "idempotent-replayed" not in response.headers
    body: dict[str, Any] = response.json()
    return body


def _suffix() -> str:
    return uuid.uuid4().hex[:6]


async def _funded(live: Live, funder: str, coop: str, **changes: Any) -> dict[str, Any]:
    """A programme of `funder` (named as the funder), a cooperation `coop` of facilitator
    `anim-…` proposing a line to it, accepted."""
    http = live.http
    owner = await live.auth("funder", funder)
    facilitator = f"anim-{_suffix()}"
    spec = programme(f"prog-{_suffix()}", funder)
    await ok(await http.post("/v1/programmes", json=spec, headers=owner), 201)
    body = cooperation(coop, [spec["id"]], facilitator=facilitator, **changes)
    await ok(
        await http.post(
            "/v1/cooperations", json=body, headers=await live.auth("facilitator", facilitator)
        ),
        201,
    )
    await ok(
        await http.post(
            f"/v1/cooperations/{coop}/funding-lines/{spec['id']}/decision",
            json={"accept": True},
            headers=owner,
        )
    )
    return {"programme": spec, "owner": owner, "facilitator": facilitator}


async def test_a_facilitator_or_collective_named_as_a_funder_owns_none_of_its_programmes(
    module_live_server: Live,
) -> None:
    live = module_live_server
    http = live.http
    funder = f"fondation-{_suffix()}"
    world = await _funded(live, funder, f"ruche-{_suffix()}")
    spec, owner = world["programme"], world["owner"]
    pid = spec["id"]
    before = await ok(await http.get(f"/v1/programmes/{pid}/dashboard", headers=owner))

    for role in ("facilitator", "collective"):
        impostor = await live.auth(role, funder)
        # Its budget is not theirs to raise, nor its dashboard, inbox or versions to read.
        _problem(
            await http.post(
                f"/v1/programmes/{pid}/budget", json={"amount": "1000000.00"}, headers=impostor
            ),
            403,
        )
        for part in ("dashboard", "inbox", "versions"):
            _problem(await http.get(f"/v1/programmes/{pid}/{part}", headers=impostor), 403)
        # Nor a version to publish, nor a programme to configure in the funder's name.
        _problem(
            await http.put(
                f"/v1/programmes/{pid}", json=spec | {"budget": "1.00"}, headers=impostor
            ),
            403,
        )
        _problem(
            await http.post(
                "/v1/programmes", json=programme(f"faux-{_suffix()}", funder), headers=impostor
            ),
            403,
        )
        # Read as anyone reads it: no budget, no cap, no amounts.
        for shown in (
            await ok(await http.get(f"/v1/programmes/{pid}", headers=impostor)),
            *(await ok(await http.get(f"/v1/programmes?funder={funder}", headers=impostor)))[
                "items"
            ],
        ):
            assert "budget" not in shown and "cap_per_cooperation" not in shown, shown
            tranches = [t for phase in shown["phases"].values() for t in phase["tranches"]]
            assert tranches and all("amount" not in t for t in tranches), shown

    # Nothing changed; the funder itself still reads and raises it.
    after = await ok(await http.get(f"/v1/programmes/{pid}/dashboard", headers=owner))
    assert after["budget"] == before["budget"] == "500000.00"
    own = await ok(await http.get(f"/v1/programmes/{pid}", headers=owner))
    assert own["budget"] == "500000.00"
    raised = await ok(
        await http.post(f"/v1/programmes/{pid}/budget", json={"amount": "10.00"}, headers=owner)
    )
    assert raised["budget"] == "500010.00"


async def test_a_funder_named_as_a_cooperation_or_a_facilitator_reaches_none_of_their_parts(
    module_live_server: Live,
) -> None:
    live = module_live_server
    http = live.http
    coop, host = f"ruche-{_suffix()}", f"pole-{_suffix()}"
    world = await _funded(live, f"fondation-{_suffix()}", coop, fiscal_host=host)
    collective = await live.auth("collective", coop)
    await ok(
        await http.post(
            f"/v1/cooperations/{coop}/check-ins", json={"narrative": "Atelier."}, headers=collective
        ),
        201,
    )
    base = f"/v1/cooperations/{coop}"

    # A funder whose id is the cooperation's is not its collective.
    as_coop = await live.auth("funder", coop)
    for part in ("", "/check-ins", "/events", "/ledger", "/members", "/transition-requests"):
        _problem(await http.get(base + part, headers=as_coop), 404)
    _problem(
        await http.post(f"{base}/check-ins", json={"narrative": "Faux."}, headers=as_coop), 404
    )
    _problem(
        await http.post(
            f"{base}/transition-requests",
            json={"action": "pause", "reason": "Faux"},
            headers=as_coop,
        ),
        404,
    )
    listed = await ok(await http.get("/v1/cooperations", headers=as_coop))
    assert listed["items"] == []

    # A funder whose id is the facilitator's does not accompany it.
    as_facilitator = await live.auth("funder", world["facilitator"])
    _problem(await http.get(base, headers=as_facilitator), 404)
    _problem(
        await http.post(f"{base}/transitions", json={"action": "pause"}, headers=as_facilitator),
        404,
    )
    _problem(await http.get("/v1/check-ins", headers=as_facilitator), 403)
    _problem(
        await http.post(
            "/v1/cooperations",
            json=cooperation(f"autre-{_suffix()}", [], facilitator=world["facilitator"]),
            headers=as_facilitator,
        ),
        403,
    )
    assert (await ok(await http.get("/v1/cooperations", headers=as_facilitator)))["items"] == []

    # A funder whose id is the fiscal host's holds none of its funds.
    as_host = await live.auth("funder", host)
    _problem(await http.get("/v1/fiscal-host/funds", headers=as_host), 403)
    for part in ("", "/ledger", "/schedule"):
        _problem(await http.get(base + part, headers=as_host), 404)
    # The host itself (a facilitator token of its id) still reads what it carries.
    funds = await ok(
        await http.get("/v1/fiscal-host/funds", headers=await live.auth("facilitator", host))
    )
    assert [f["cooperation"] for f in funds] == [coop]


async def test_a_funder_whose_id_is_its_cooperations_host_keeps_its_own_reads(
    module_live_server: Live,
) -> None:
    """The other way round: sharing an id with a fiscal host takes nothing from a funder. The
    requests of the cooperations it funds are in its queue, though a host's are not."""
    live = module_live_server
    http = live.http
    shared, coop = f"commun-{_suffix()}", f"ruche-{_suffix()}"
    world = await _funded(live, shared, coop, fiscal_host=shared)
    await ok(
        await http.post(
            f"/v1/cooperations/{coop}/transition-requests",
            json={"action": "advance", "reason": "Prets"},
            headers=await live.auth("collective", coop),
        ),
        201,
    )
    for _ in range(100):
        queue = await ok(await http.get("/v1/transition-requests", headers=world["owner"]))
        if queue["items"]:
            break
        await asyncio.sleep(0.05)
    assert [r["cooperation"] for r in queue["items"]] == [coop]
    as_host = await live.auth("facilitator", shared)
    assert (await ok(await http.get("/v1/transition-requests", headers=as_host)))["items"] == []
    # As funder it reads its line and its amounts; as host, every line of what it carries.
    line = world["programme"]["id"]
    seen = await ok(await http.get(f"/v1/cooperations/{coop}", headers=world["owner"]))
    assert [x["line"] for x in seen["lines"]] == [line]
    await ok(await http.get(f"/v1/programmes/{line}/dashboard", headers=world["owner"]))
    _problem(await http.get(f"/v1/programmes/{line}/dashboard", headers=as_host), 403)


async def test_an_idempotency_key_replayed_by_another_role_of_the_same_id_is_its_own(
    module_live_server: Live,
) -> None:
    """A funder's key, used by a collective (and a facilitator) whose id is the funder's, on
    the very same request: each gets its own fresh handling, never the funder's answer."""
    live = module_live_server
    http = live.http
    shared = f"commun-{_suffix()}"
    world = await _funded(live, shared, shared)
    pid = world["programme"]["id"]
    key = {"Idempotency-Key": "cle-commune"}

    raised = await http.post(
        f"/v1/programmes/{pid}/budget", json={"amount": "10.00"}, headers=world["owner"] | key
    )
    assert (await ok(raised))["budget"] == "500010.00"
    again = await http.post(
        f"/v1/programmes/{pid}/budget", json={"amount": "10.00"}, headers=world["owner"] | key
    )
    assert again.headers["idempotent-replayed"] == "true" and again.content == raised.content
    for role in ("collective", "facilitator"):
        same_id = await live.auth(role, shared)
        refused = await http.post(
            f"/v1/programmes/{pid}/budget", json={"amount": "10.00"}, headers=same_id | key
        )
        assert "funder" in _problem(refused, 403)["detail"]
        assert "500010.00" not in refused.text

    # The other way round: the collective's check-in with a key the funder used there first.
    checks = f"/v1/cooperations/{shared}/check-ins"
    other = {"Idempotency-Key": "cle-du-point"}
    body = {"narrative": "Trois ateliers."}
    by_funder = await http.post(checks, json=body, headers=world["owner"] | other)
    _problem(by_funder, 403)
    collective = await live.auth("collective", shared)
    created = await http.post(checks, json=body, headers=collective | other)
    assert created.status_code == 201, created.text
    assert "idempotent-replayed" not in created.headers
    # Its own answer is kept for it, and only for it.
    replayed = await http.post(checks, json=body, headers=collective | other)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == created.content
    again_by_funder = await http.post(checks, json=body, headers=world["owner"] | other)
    assert again_by_funder.headers["idempotent-replayed"] == "true"
    assert again_by_funder.status_code == 403 and again_by_funder.content == by_funder.content

    async with live.pool.acquire() as conn:
        kept = await conn.fetch(
            "SELECT key, role, path, status FROM idempotency WHERE subject = $1 ORDER BY key, role",
            shared,
        )
    budget = f"/v1/programmes/{pid}/budget"
    assert [(r["key"], r["role"], r["path"], r["status"]) for r in kept] == [
        ("cle-commune", "collective", budget, 403),
        ("cle-commune", "facilitator", budget, 403),
        ("cle-commune", "funder", budget, 200),
        ("cle-du-point", "collective", checks, 201),
        ("cle-du-point", "funder", checks, 403),
    ]


async def test_a_key_older_than_a_day_is_forgotten(module_live_server: Live) -> None:
    live = module_live_server
    http = live.http
    coop = f"ruche-{_suffix()}"
    await _funded(live, f"fondation-{_suffix()}", coop)
    collective = await live.auth("collective", coop)
    checks = f"/v1/cooperations/{coop}/check-ins"
    key = {"Idempotency-Key": "point-du-jour"}
    body = {"narrative": "Un atelier."}
    first = await ok(await http.post(checks, json=body, headers=collective | key), 201)

    async def age(key: str, by: timedelta) -> None:
        async with live.pool.acquire() as conn:
            await conn.execute(
                "UPDATE idempotency SET created_at = created_at - $3::interval"
                " WHERE role = 'collective' AND subject = $1 AND key = $2",
                coop,
                key,
                by,
            )

    # Within the day: the first answer again.
    await age("point-du-jour", timedelta(hours=23))
    within = await http.post(checks, json=body, headers=collective | key)
    assert within.headers["idempotent-replayed"] == "true" and within.json() == first

    # Past it: a new request, executed as such (another check-in, replacing the first).
    await age("point-du-jour", timedelta(hours=2))
    later = await http.post(checks, json=body, headers=collective | key)
    assert later.status_code == 201, later.text
    assert "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first["id"]
    # And kept afresh from then on.
    assert (await http.post(checks, json=body, headers=collective | key)).headers[
        "idempotent-replayed"
    ] == "true"

    # Expired keys are deleted as new ones are claimed.
    stale = {"Idempotency-Key": "oublie"}
    await ok(
        await http.post(
            f"/v1/cooperations/{coop}/transition-requests",
            json={"action": "pause", "reason": "Recoltes"},
            headers=collective | stale,
        ),
        201,
    )
    await age("oublie", timedelta(hours=25))
    await ok(await http.post(checks, json=body, headers=collective | {"Idempotency-Key": "x"}), 201)
    async with live.pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT count(*) FROM idempotency WHERE created_at < now() - interval '24 hours'"
        )
        gone = await conn.fetchval(
            "SELECT count(*) FROM idempotency WHERE subject = $1 AND key = 'oublie'", coop
        )
    assert left == 0 and gone == 0
