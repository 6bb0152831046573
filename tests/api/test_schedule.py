"""The échéancier prévisionnel through HTTP on the real stack (`GET …/schedule`, `tranches`):
what each reader sees of the tranches still to come, dated by the rules from the line's
attachment where they can be, else with what they wait for; a funder sees its own line's
only; an approval takes its tranche off; a closed cooperation has none to come."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest

from domain.durations import add
from tests.api.conftest import Auth, cooperation, programme

pytestmark = [pytest.mark.integration]

COOP = "ressourcerie-echeancier"
URL = f"/v1/cooperations/{COOP}"


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def _sched() -> dict[str, Any]:
    spec = programme("sched", "fondation")
    spec["phases"]["emergence"]["tranches"] += [
        {"id": "suite", "amount": "7000.00", "purpose": "operating", "when": {"elapsed": "P6M"}},
        {
            "id": "coordination",
            "amount": "600.00",
            "purpose": "animation",
            "when": {"elapsed": "P3M"},
            "repeat": {"every": "P1Y", "times": 2},
        },
    ]
    return spec


async def _attached_at(http: httpx.AsyncClient, headers: dict[str, str], line: str) -> datetime:
    for _ in range(200):
        feed = await _ok(await http.get(f"{URL}/events?limit=500", headers=headers))
        for event in feed["items"]:
            if event["type"] == "FundingLineAttached" and event["data"].get("line") == line:
                return datetime.fromisoformat(event["at"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"line {line} never attached in the log")


def _rows(schedule: dict[str, Any]) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (t["line"], t["tranche"] + (f":{t['occurrence']}" if t["occurrence"] else ""),
         t["expected_on"], t["waits_for"])
        for t in schedule["tranches"]
    ]  # fmt: skip


async def test_the_schedule_dates_what_it_can_says_what_waits_and_shows_a_funder_its_own(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    fondation = await auth("funder", "fondation")
    region = await auth("funder", "region")
    pole = await auth("facilitator", "pole-107")
    collectif = await auth("collective", COOP)

    await _ok(await http.post("/v1/programmes", json=_sched(), headers=fondation), 201)
    await _ok(
        await http.post("/v1/programmes", json=programme("reg", "region"), headers=region), 201
    )
    await _ok(
        await http.post("/v1/cooperations", json=cooperation(COOP, ["sched", "reg"]), headers=pole),
        201,
    )
    # Both lines proposed: every tranche waits for its funder's word.
    proposed = await _ok(await http.get(f"{URL}/schedule", headers=collectif))
    assert {t["waits_for"] for t in proposed["tranches"]} == {"the funder's acceptance of the line"}
    assert {t["expected_on"] for t in proposed["tranches"]} == {None}

    await _ok(
        await http.post(
            f"{URL}/funding-lines/sched/decision", json={"accept": True}, headers=fondation
        )
    )
    attached = await _attached_at(http, collectif, "sched")

    def day(duration: str, then_every: str | None = None, k: int = 0) -> str:
        moment = add(attached, duration)
        return (add(moment, then_every, k) if then_every else moment).date().isoformat()

    schedule = await _ok(await http.get(f"{URL}/schedule", headers=collectif))
    # Rule 3: elapsed from the attachment (later than the stint start); rule 4: the repeats
    # from the first release. amorcage went at the acceptance; reg is still proposed.
    waiting = "the funder's acceptance of the line"
    assert _rows(schedule) == [
        ("sched", "coordination", day("P3M"), None),
        ("sched", "suite", day("P6M"), None),
        ("sched", "coordination:1", day("P3M", "P1Y", 1), None),
        ("sched", "coordination:2", day("P3M", "P1Y", 2), None),
        ("sched", "emergence-2", None, "1 more accepted check-in"),
        ("sched", "feu-vert", None, "approval"),
        ("sched", "experimentation-1", None, "the move to experimentation"),
        ("reg", "amorcage", None, waiting),
        ("reg", "emergence-2", None, waiting),
        ("reg", "feu-vert", None, waiting),
        ("reg", "experimentation-1", None, waiting),
    ]
    suite = schedule["tranches"][1]
    assert (suite["amount"], suite["currency"], suite["purpose"], suite["phase"]) == (
        "7000.00",
        "EUR",
        "operating",
        "emergence",
    )
    assert schedule["tranches"][4]["waiting"] == [
        {
            "kind": "accepted_check_ins",
            "count": 1,
            "phase": None,
            "words": "1 more accepted check-in",
        }
    ]
    # The facilitator (and fiscal host) reads the same; each funder only its own line's.
    assert (await _ok(await http.get(f"{URL}/schedule", headers=pole)))["tranches"] == schedule[
        "tranches"
    ]
    own = await _ok(await http.get(f"{URL}/schedule", headers=fondation))
    assert own["tranches"] == [t for t in schedule["tranches"] if t["line"] == "sched"]
    theirs = await _ok(await http.get(f"{URL}/schedule", headers=region))
    assert theirs["tranches"] == [t for t in schedule["tranches"] if t["line"] == "reg"]
    assert {t["line"] for t in theirs["pending_tranches"]} == {"reg"}

    # The funder approves (the facilitator, hosting, is a payee): the tranche is no longer to come.
    await _ok(
        await http.post(
            f"{URL}/approvals",
            json={"line": "sched", "tranche": "feu-vert"},
            headers=fondation,
        )
    )
    after = await _ok(await http.get(f"{URL}/schedule", headers=collectif))
    assert "feu-vert" not in [t for line, t, _, _ in _rows(after) if line == "sched"]

    # Paused: what the clock would date waits for the resume.
    await _ok(
        await http.post(
            f"{URL}/transitions", json={"action": "pause", "reason": "été"}, headers=pole
        )
    )
    paused = await _ok(await http.get(f"{URL}/schedule", headers=collectif))
    assert ("sched", "suite", None, "the resume") in _rows(paused)

    await _ok(
        await http.post(
            f"{URL}/transitions",
            json={"action": "close", "outcome": "abandoned"},
            headers=pole,
        )
    )
    closed = await _ok(await http.get(f"{URL}/schedule", headers=collectif))
    assert closed["tranches"] == []


async def test_out_of_scope_the_schedule_is_not_found(http: httpx.AsyncClient, auth: Auth) -> None:
    other = await auth("collective", "ailleurs")
    answer = await http.get(f"{URL}/schedule", headers=other)
    assert answer.status_code == 404
