"""What the web UI reads besides the resources themselves, on the real stack: a transition
foreseen before it is made (the rules decide on a copy, nothing changes), a programme's
releases month by month, and what a fiscal host received for the cooperations it carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from runtime.temporal import cooperation_workflow_id
from tests.api.conftest import Auth, cooperation, programme
from tests.api.world import eventually, loan_programme, ok
from workflows.cooperation import CooperationWorkflow

pytestmark = [pytest.mark.integration]


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


async def _last_seq(client: Client, cooperation_id: str) -> int:
    handle = client.get_workflow_handle(cooperation_workflow_id(cooperation_id))
    seq: int = await handle.query(CooperationWorkflow.last_seq)
    return seq


async def _funded(
    http: httpx.AsyncClient,
    auth: Auth,
    sfx: str,
    name: str,
    lines: list[Any],
    facilitator: str,
    **changes: Any,
) -> str:
    """A cooperation registered by `facilitator`, each of its lines accepted by its funder
    (the programmes' funder is `fondation-<sfx>`)."""
    coop_id = f"{sfx}-{name}"
    body = cooperation(coop_id, lines, facilitator=facilitator, **changes)
    await ok(
        await http.post(
            "/v1/cooperations", json=body, headers=await auth("facilitator", facilitator)
        ),
        201,
    )
    fondation = await auth("funder", f"fondation-{sfx}")
    for line in lines:
        programme_id = line if isinstance(line, str) else line["programme"]
        await ok(
            await http.post(
                f"/v1/cooperations/{coop_id}/funding-lines/{programme_id}/decision",
                json={"accept": True},
                headers=fondation,
            )
        )
    return coop_id


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- a transition foreseen ------------------------------------------------------------------


async def test_an_advance_foreseen_lists_its_entry_release_and_the_new_schedule_and_changes_nothing(
    module_http: httpx.AsyncClient, module_auth: Auth, temporal_client: Client
) -> None:
    http, sfx = module_http, _suffix()
    fondation = await module_auth("funder", f"fondation-{sfx}")
    anim = await module_auth("facilitator", f"anim-{sfx}")
    fdt = f"fdt-{sfx}"
    await ok(
        await http.post(
            "/v1/programmes", json=programme(fdt, f"fondation-{sfx}"), headers=fondation
        ),
        201,
    )
    coop = await _funded(http, module_auth, sfx, "ruche", [fdt], f"anim-{sfx}")
    url = f"/v1/cooperations/{coop}"

    state = await ok(await http.get(url, headers=anim))
    schedule = await ok(await http.get(f"{url}/schedule", headers=anim))
    seq = await _last_seq(temporal_client, coop)

    asked_at = datetime.now(UTC)
    preview = await ok(
        await http.post(f"{url}/transitions/preview", json={"action": "advance"}, headers=anim)
    )
    assert preview["action"] == "advance"
    assert preview["phase_after"] == "experimentation"
    assert preview["paused_after"] is False and preview["outcome_after"] is None
    # Experimentation's entry tranche, released by the advance itself.
    assert preview["releases"] == [
        {
            "line": fdt,
            "programme": fdt,
            "tranche": "experimentation-1",
            "occurrence": None,
            "kind": "release",
            "purpose": "investment",
            "amount": "30000.00",
            "currency": "EUR",
        }
    ]
    types = [e["type"] for e in preview["events"]]
    assert types[:2] == ["PhaseEntered", "TrancheReleased"], types
    assert [e["seq"] for e in preview["events"]] == list(range(seq + 1, seq + 1 + len(types)))
    released = preview["events"][1]["data"]
    assert released["tranche"] == "experimentation-1" and released["amount"] == "30000.00"
    # The schedule starts again with the new stint: experimentation checks in every 2 months.
    assert preview["next_check_in_before"] == schedule["next_check_in"]
    assert preview["next_check_in"]["period"] == 1
    due = _at(preview["next_check_in"]["due"])
    assert asked_at + timedelta(days=58) <= due <= asked_at + timedelta(days=63)
    assert preview["reanchored"] is True

    # Nothing changed: the same state, no event recorded.
    assert await ok(await http.get(url, headers=anim)) == state
    assert await _last_seq(temporal_client, coop) == seq

    # The move itself does what was foreseen.
    moved = await ok(
        await http.post(f"{url}/transitions", json={"action": "advance"}, headers=anim)
    )
    assert moved["phase"] == "experimentation"
    assert moved["next_check_in"]["period"] == preview["next_check_in"]["period"]
    assert abs(_at(moved["next_check_in"]["due"]) - due) < timedelta(seconds=30)
    recorded = await eventually(
        http,
        f"{url}/events?after={seq}",
        anim,
        lambda feed: feed["items"] if len(feed["items"]) >= len(types) else None,
    )
    assert [e["type"] for e in recorded] == types
    ledger = await eventually(
        http,
        f"{url}/ledger",
        anim,
        lambda rows: [r for r in rows if r["tranche"] == "experimentation-1"],
    )
    assert [(r["payee"], r["amount"]) for r in ledger] == [("pole-107", "30000.00")]


async def _problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    body = dict(response.json())
    body.pop("instance")  # the path asked, which differs
    return body


async def test_a_move_the_rules_refuse_is_foreseen_with_the_very_problem_the_move_gets(
    module_http: httpx.AsyncClient, module_auth: Auth, temporal_client: Client
) -> None:
    http, sfx = module_http, _suffix()
    fondation = await module_auth("funder", f"fondation-{sfx}")
    anim = await module_auth("facilitator", f"anim-{sfx}")
    fdt = f"fdt-{sfx}"
    await ok(
        await http.post(
            "/v1/programmes", json=programme(fdt, f"fondation-{sfx}"), headers=fondation
        ),
        201,
    )
    running = await _funded(http, module_auth, sfx, "ruche", [fdt], f"anim-{sfx}")
    closed = await _funded(http, module_auth, sfx, "fermee", [fdt], f"anim-{sfx}")
    await ok(
        await http.post(
            f"/v1/cooperations/{closed}/transitions",
            json={"action": "close", "outcome": "abandoned"},
            headers=anim,
        )
    )
    seq = await _last_seq(temporal_client, running)

    cases = [
        # The rules' conflict (409) and invalid input naming its field (422).
        (running, {"action": "resume"}, 409),
        (running, {"action": "advance", "to": "emergence"}, 422),
        (running, {"action": "restart", "to": "structuring", "reason": "Trop tôt"}, 422),
        # A field the action does not take (422, at the door).
        (running, {"action": "pause", "outcome": "completed"}, 422),
        # Closed: its workflow has ended, the rules' answer on its last state.
        (closed, {"action": "advance"}, 409),
    ]
    for coop, body, status in cases:
        url = f"/v1/cooperations/{coop}/transitions"
        foreseen = await http.post(f"{url}/preview", json=body, headers=anim)
        made = await http.post(url, json=body, headers=anim)
        assert foreseen.status_code == made.status_code == status, (body, made.text)
        assert await _problem(foreseen) == await _problem(made), body
    assert (
        (
            await http.post(
                f"/v1/cooperations/{closed}/transitions/preview",
                json={"action": "advance"},
                headers=anim,
            )
        )
        .json()["detail"]
        .startswith("cannot advance: the cooperation is closed")
    )
    assert await _last_seq(temporal_client, running) == seq


# -- a programme's releases month by month ---------------------------------------------------


async def test_the_dashboard_sums_releases_by_month_then_purpose(
    module_http: httpx.AsyncClient, module_auth: Auth, module_pool: asyncpg.Pool
) -> None:
    http, sfx = module_http, _suffix()
    fondation = await module_auth("funder", f"fondation-{sfx}")
    fdt = f"fdt-{sfx}"
    await ok(
        await http.post(
            "/v1/programmes", json=programme(fdt, f"fondation-{sfx}"), headers=fondation
        ),
        201,
    )
    await _funded(http, module_auth, sfx, "ruche", [fdt], f"anim-{sfx}")
    url = f"/v1/programmes/{fdt}/dashboard"
    # The entry tranche released at the acceptance, projected a moment later.
    await eventually(http, url, fondation, lambda board: board["released"] == "8000.00")

    # Earlier releases of another cooperation, as the projection writes them (the month is
    # UTC's: 00:30 on 1 February in Paris is still January).
    earlier = [
        ("2026-01-05T10:00:00+00:00", "animation", "100.00"),
        ("2026-01-20T10:00:00+00:00", "investment", "50.00"),
        ("2026-02-01T00:30:00+01:00", "investment", "25.00"),
        ("2026-02-01T00:00:00+00:00", "operating", "10.00"),
        ("2026-02-10T10:00:00+00:00", "animation", "1.50"),
    ]
    async with module_pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO releases (cooperation_id, seq, line, programme, tranche, phase,"
            " purpose, kind, amount, currency, at)"
            " VALUES ($1, $2, $3, $3, 't', 'emergence', $4, 'release', $5, 'EUR', $6)",
            [
                (f"{sfx}-ancienne", seq, fdt, purpose, Decimal(amount), datetime.fromisoformat(at))
                for seq, (at, purpose, amount) in enumerate(earlier, start=1)
            ],
        )

    board = await ok(await http.get(url, headers=fondation))
    this_month = datetime.now(UTC).strftime("%Y-%m")
    assert board["releases_over_time"] == [
        {"month": "2026-01", "purpose": "animation", "amount": "100.00"},
        {"month": "2026-01", "purpose": "investment", "amount": "75.00"},
        {"month": "2026-02", "purpose": "animation", "amount": "1.50"},
        {"month": "2026-02", "purpose": "operating", "amount": "10.00"},
        {"month": this_month, "purpose": "animation", "amount": "8000.00"},
    ]
    # The other figures read the same rows, as they did.
    assert board["released"] == "8186.50"
    assert board["released_by_purpose"] == {
        "animation": "8101.50",
        "investment": "75.00",
        "operating": "10.00",
    }
    assert board["animation"] == "8101.50"
    assert board["lines"] == {"active": 1}
    assert board["cooperations_per_phase"] == {"emergence": 1}
    assert board["budget"] == "500000.00" and board["committed"] == "46000.00"
    assert board["loans"] == {
        "open": 0,
        "outstanding": "0",
        "in_arrears": 0,
        "outstanding_in_arrears": "0",
        "written_off": "0",
        "written_off_count": 0,
    }


# -- what a fiscal host received -------------------------------------------------------------


async def test_a_fiscal_host_reads_what_it_received_for_the_cooperations_it_hosts_only(
    module_http: httpx.AsyncClient, module_auth: Auth
) -> None:
    http, sfx = module_http, _suffix()
    host, other_host, anim = f"hote-{sfx}", f"hote2-{sfx}", f"anim-{sfx}"
    fondation = await module_auth("funder", f"fondation-{sfx}")
    grant, loan = f"don-{sfx}", f"pret-{sfx}"
    await ok(
        await http.post(
            "/v1/programmes", json=programme(grant, f"fondation-{sfx}"), headers=fondation
        ),
        201,
    )
    await ok(
        await http.post(
            "/v1/programmes", json=loan_programme(loan, f"fondation-{sfx}"), headers=fondation
        ),
        201,
    )
    informal = [
        {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
        {"id": "repair-cafe", "name": "Repair café", "legal_form": "informal"},
    ]
    # A: the host gets the grant's entry tranche; the loan is lent to the association (a
    # borrower is never the fiscal host, rule 20): none of it is the host's.
    lent = {"programme": loan, "allocation": [{"payee": "asso", "share": "1"}]}
    a = await _funded(
        http,
        module_auth,
        sfx,
        "a",
        [grant, lent],
        anim,
        fiscal_host=host,
        members=[
            *informal,
            {"id": "asso", "name": "Association du Bourg", "legal_form": "association"},
        ],
    )
    # B: a quarter of the grant; the rest goes to a member that is a legal entity.
    b = await _funded(
        http,
        module_auth,
        sfx,
        "b",
        [
            {
                "programme": grant,
                "allocation": [
                    {"payee": host, "share": "0.25"},
                    {"payee": "asso", "share": "0.75"},
                ],
            }
        ],
        anim,
        fiscal_host=host,
        members=[
            informal[0],
            {"id": "asso", "name": "Association du Bourg", "legal_form": "association"},
        ],
    )
    # C: another host's. D: hosted, no line yet.
    c = await _funded(http, module_auth, sfx, "c", [grant], anim, fiscal_host=other_host)
    d = await _funded(http, module_auth, sfx, "d", [], anim, fiscal_host=host)
    await ok(
        await http.post(
            f"/v1/cooperations/{a}/repayments",
            json={"line": loan, "tranche": "pret", "amount": "100.00"},
            headers=fondation,
        ),
        201,
    )

    # Rule 19: what is ordered is received once its funder records it paid (b's member's
    # part, not the host's, stays unpaid).
    today = datetime.now(UTC).date().isoformat()
    for coop, line, tranche, payee in (
        (a, grant, "amorcage", None),
        (a, loan, "pret", None),
        (b, grant, "amorcage", host),
    ):
        await ok(
            await http.post(
                f"/v1/cooperations/{coop}/payments",
                json={"line": line, "tranche": tranche, "payee": payee, "paid_on": today},
                headers=fondation,
            ),
            201,
        )

    as_host = await module_auth("facilitator", host)
    # Postings follow the answers by a moment.
    funds = await eventually(
        http,
        "/v1/fiscal-host/funds",
        as_host,
        lambda items: (
            items
            if [(x["cooperation"], x["received"], x["repaid"]) for x in items]
            == [(a, "8000.00", "0.00"), (b, "2000.00", "0.00"), (d, "0.00", "0.00")]
            else None
        ),
    )
    assert [
        [(v["line"], v["kind"], v["status"], v["paid_on"]) for v in x.pop("versements")]
        for x in funds
    ] == [
        [(grant, "release", "paid", today)],
        [(grant, "release", "paid", today)],
        [],
    ]
    assert funds == [
        {
            "cooperation": a,
            "name": "Ressourcerie du Bourg",
            "phase": "emergence",
            "outcome": None,
            "currency": "EUR",
            "received": "8000.00",
            "released": "8000.00",
            "loans": "0.00",
            "repaid": "0.00",
            "unpaid": "0.00",
            "by_line": [
                {
                    "line": grant,
                    "released": "8000.00",
                    "loans": "0.00",
                    "repaid": "0.00",
                    "unpaid": "0.00",
                },
            ],
            "hosting_ended_at": None,
            "informal_members": [
                {"member": "habitants", "name": "Collectif des habitants"},
                {"member": "repair-cafe", "name": "Repair café"},
            ],
        },
        {
            "cooperation": b,
            "name": "Ressourcerie du Bourg",
            "phase": "emergence",
            "outcome": None,
            "currency": "EUR",
            "received": "2000.00",
            "released": "2000.00",
            "loans": "0.00",
            "repaid": "0.00",
            "unpaid": "0.00",
            "by_line": [
                {
                    "line": grant,
                    "released": "2000.00",
                    "loans": "0.00",
                    "repaid": "0.00",
                    "unpaid": "0.00",
                }
            ],
            "hosting_ended_at": None,
            "informal_members": [{"member": "habitants", "name": "Collectif des habitants"}],
        },
        {
            "cooperation": d,
            "name": "Ressourcerie du Bourg",
            "phase": "emergence",
            "outcome": None,
            "currency": None,
            "received": "0.00",
            "released": "0.00",
            "loans": "0.00",
            "repaid": "0.00",
            "unpaid": "0.00",
            "by_line": [],
            "hosting_ended_at": None,
            "informal_members": [
                {"member": "habitants", "name": "Collectif des habitants"},
                {"member": "repair-cafe", "name": "Repair café"},
            ],
        },
    ]

    # Another host sees its own only; the facilitator of all four hosts none of them.
    others = await ok(
        await http.get(
            "/v1/fiscal-host/funds", headers=await module_auth("facilitator", other_host)
        )
    )
    # Ordered, never recorded paid: not received.
    assert [(x["cooperation"], x["received"], x["unpaid"]) for x in others] == [
        (c, "0.00", "8000.00")
    ]
    assert (
        await ok(
            await http.get("/v1/fiscal-host/funds", headers=await module_auth("facilitator", anim))
        )
        == []
    )
    # Not a funder's nor a collective's to read, even the cooperation's own.
    for role, subject in (("funder", f"fondation-{sfx}"), ("collective", a)):
        refused = await http.get("/v1/fiscal-host/funds", headers=await module_auth(role, subject))
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
