"""Rule 19 through HTTP on the real stack: a release is an order to pay. The ledger carries
the versement's `due_by` and, once its funder records it (`POST …/payments`), `paid_on`; the
fiscal host's funds count as received only what is paid.

Real time here: the order is today, so a payment is recorded today, on time; the issue's
example (ordered 2027-02-15, late 2027-04-17, paid 24 days late) runs through `coopflow
simulate` in tests/integration/test_simulate_versements.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from domain.durations import add
from domain.events import Event
from store import money
from tests.api.conftest import Auth, cooperation, programme

pytestmark = [pytest.mark.integration]

COOP = "ressourcerie-versements"


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def _fields(response: httpx.Response) -> list[str]:
    return [e["path"] for e in response.json().get("errors", [])]


async def _ledger_until(
    http: httpx.AsyncClient, headers: dict[str, str], done: Any
) -> list[dict[str, Any]]:
    for _ in range(200):
        rows: list[dict[str, Any]] = await _ok(
            await http.get(f"/v1/cooperations/{COOP}/ledger", headers=headers)
        )
        if done(rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"the ledger never got there: {rows}")


async def test_a_versement_is_ordered_then_paid_and_only_then_received(
    http: httpx.AsyncClient, auth: Auth, pool: asyncpg.Pool
) -> None:
    fondation = await auth("funder", "fondation")
    region = await auth("funder", "region")
    pole = await auth("facilitator", "pole-107")

    bad = await http.post(
        "/v1/programmes",
        json=programme("fdt-bad", "fondation", payment_within="soixante jours"),
        headers=fondation,
    )
    assert bad.status_code == 422 and _fields(bad) == ["payment_within"]
    await _ok(
        await http.post(
            "/v1/programmes",
            json=programme("fdt", "fondation", payment_within="P60D"),
            headers=fondation,
        ),
        201,
    )
    await _ok(
        await http.post("/v1/programmes", json=programme("reg", "region"), headers=region), 201
    )
    await _ok(
        await http.post("/v1/cooperations", json=cooperation(COOP, ["fdt", "reg"]), headers=pole),
        201,
    )
    for line, headers in (("fdt", fondation), ("reg", region)):
        await _ok(
            await http.post(
                f"/v1/cooperations/{COOP}/funding-lines/{line}/decision",
                json={"accept": True},
                headers=headers,
            )
        )

    # Ordered: the host's part of amorcage, due 60 days after the order; nothing received.
    rows = await _ledger_until(http, pole, lambda rows: len(rows) == 2)
    fdt = next(r for r in rows if r["line"] == "fdt")
    ordered_on = datetime.fromisoformat(fdt["at"]).astimezone(UTC).date()
    assert fdt["due_by"] == add(ordered_on, "P60D").isoformat()
    assert (fdt["status"], fdt["paid_on"]) == ("ordered", None)
    reg = next(r for r in rows if r["line"] == "reg")
    assert (reg["status"], reg["due_by"]) == ("ordered", None)  # no payment_within: no due date
    (funds,) = await _ok(await http.get("/v1/fiscal-host/funds", headers=pole))
    assert funds["received"] == "0.00" and funds["unpaid"] == "16000.00"
    assert [(v["line"], v["status"], v["due_by"]) for v in funds["versements"]] == [
        ("fdt", "ordered", fdt["due_by"]),
        ("reg", "ordered", None),
    ]
    state = await _ok(await http.get(f"/v1/cooperations/{COOP}", headers=fondation))
    (view,) = next(x for x in state["lines"] if x["line"] == "fdt")["versements"]
    assert (view["status"], view["due_on"], view["payee"]) == ("ordered", fdt["due_by"], "pole-107")

    # The funder's inbox lists it to pay; its dashboard counts none late.
    inbox = await _ok(await http.get("/v1/programmes/fdt/inbox", headers=fondation))
    assert [
        (v["cooperation"], v["tranche"], v["payee"], v["amount"], v["due_by"], v["late"])
        for v in inbox["versements_to_pay"]
    ] == [(COOP, "amorcage", "pole-107", "8000.00", fdt["due_by"], False)]
    board = await _ok(await http.get("/v1/programmes/fdt/dashboard", headers=fondation))
    assert (board["versements_late"], board["versements_late_amount"]) == (0, "0.00")
    # Sixty days cannot pass here: the read model's due date is moved into the past, as if
    # they had (the rules' own VersementLate is tested in tests/domain and through simulate).
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE ledger SET due_by = current_date - 1"
            " WHERE cooperation_id = $1 AND line = 'fdt'",
            COOP,
        )
    inbox = await _ok(await http.get("/v1/programmes/fdt/inbox", headers=fondation))
    assert [v["late"] for v in inbox["versements_to_pay"]] == [True]
    board = await _ok(await http.get("/v1/programmes/fdt/dashboard", headers=fondation))
    assert (board["versements_late"], board["versements_late_amount"]) == (1, "8000.00")
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE ledger SET due_by = $2 WHERE cooperation_id = $1 AND line = 'fdt'",
            COOP,
            date.fromisoformat(fdt["due_by"]),
        )

    today = datetime.now(UTC).date()
    url = f"/v1/cooperations/{COOP}/payments"

    async def paid(body: dict[str, Any], headers: dict[str, str] = fondation) -> httpx.Response:
        return await http.post(
            url, json={"line": "fdt", "tranche": "amorcage"} | body, headers=headers
        )

    # Refusals, each naming its field.
    for body, status, field in (
        ({"paid_on": (today + timedelta(days=1)).isoformat()}, 422, "paid_on"),
        ({"paid_on": (ordered_on - timedelta(days=1)).isoformat()}, 422, "paid_on"),
        ({"paid_on": "10 mai"}, 422, "paid_on"),
        ({"paid_on": today.isoformat(), "tranche": "inconnue"}, 422, "tranche"),
        ({"paid_on": today.isoformat(), "payee": "quelqu-un"}, 422, "payee"),
        ({"paid_on": today.isoformat(), "occurrence": 1}, 422, "occurrence"),
        ({"paid_on": today.isoformat(), "tranche": "feu-vert"}, 409, None),
    ):
        answer = await paid(body)
        assert answer.status_code == status, (body, answer.text)
        assert _fields(answer) == ([field] if field else [])
    assert (await paid({"paid_on": today.isoformat()}, region)).status_code == 404
    assert (await paid({"paid_on": today.isoformat()}, pole)).status_code == 403

    answer = await paid({"paid_on": today.isoformat()})
    recorded = await _ok(answer, 201)
    (event,) = recorded["events"]
    assert event["type"] == "VersementPaid"
    assert (event["data"]["payee"], event["data"]["days_late"]) == ("pole-107", 0)
    assert event["data"]["due_on"] == fdt["due_by"]
    assert answer.headers["location"] == f"/v1/cooperations/{COOP}/events/{event['seq']}"
    assert (await _ok(await http.get(answer.headers["location"], headers=fondation)))["seq"] == (
        event["seq"]
    )
    again = await paid({"paid_on": today.isoformat()})
    assert again.status_code == 409, again.text

    # Paid: the ledger says when, the host counts it as received, the other line still not.
    rows = await _ledger_until(
        http, pole, lambda rows: any(r["paid_on"] for r in rows if r["line"] == "fdt")
    )
    fdt = next(r for r in rows if r["line"] == "fdt")
    assert (fdt["status"], fdt["paid_on"], fdt["due_by"]) == (
        "paid",
        today.isoformat(),
        add(ordered_on, "P60D").isoformat(),
    )
    inbox = await _ok(await http.get("/v1/programmes/fdt/inbox", headers=fondation))
    assert inbox["versements_to_pay"] == []
    (funds,) = await _ok(await http.get("/v1/fiscal-host/funds", headers=pole))
    assert (funds["received"], funds["unpaid"]) == ("8000.00", "8000.00")
    assert [(v["line"], v["status"], v["paid_on"]) for v in funds["versements"]] == [
        ("fdt", "paid", today.isoformat()),
        ("reg", "ordered", None),
    ]
    by_line = {x["line"]: x for x in funds["by_line"]}
    assert (by_line["fdt"]["unpaid"], by_line["reg"]["unpaid"]) == ("0.00", "8000.00")

    # The projection sets paid_on once: the same event projected again changes nothing.
    later = Event.model_validate(event | {"data": event["data"] | {"paid_on": "2030-01-01"}})
    async with pool.acquire() as conn:
        await money.record_paid(conn, COOP, [later])
        kept = await conn.fetchval(
            "SELECT paid_on FROM ledger WHERE cooperation_id = $1 AND line = 'fdt'", COOP
        )
    assert kept == today
    assert Decimal(funds["released"]) == Decimal("16000.00")
