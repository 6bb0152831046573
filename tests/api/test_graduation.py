"""Rule 20 (rules 3) through HTTP on the real stack: a hosted collective graduates. A legal
form typed in French is refused; the collective founds its association (formalise); each
line is amended to pay it, each funder accepting in turn; a release falling due while an
amendment is open is held and ordered to the association at the acceptance; the patient loan
is lent to the association, never to the host; the hosting ends, the former host keeps what
it received on its funds page and leaves the cooperation's scope; one gapless sequence."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import Auth, cooperation, programme
from tests.api.world import eventually, ok

pytestmark = [pytest.mark.integration]

HOST = "pole-107"


def _loan_programme(pid: str, funder: str) -> dict[str, Any]:
    """The issue's patient loan: 40,000.00 at 2 %, grace P24M, term P84M, every P3M."""
    return programme(
        pid,
        funder,
        phases={
            "emergence": {
                "check_in_every": "P6M",
                "tranches": [
                    {
                        "id": "pret",
                        "amount": "40000.00",
                        "purpose": "investment",
                        "when": "approval",
                        "instrument": {
                            "loan": {
                                "annual_rate": "0.02",
                                "grace": "P24M",
                                "term": "P84M",
                                "installment_every": "P3M",
                            }
                        },
                    }
                ],
            }
        },
    )


def _paths(problem: dict[str, Any]) -> list[str]:
    return [e["path"] for e in problem.get("errors", [])]


async def test_a_hosted_collective_graduates_through_http(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    sfx = uuid.uuid4().hex[:6]
    coop = f"ruche-{sfx}"
    base = f"/v1/cooperations/{coop}"
    a, b, pret = f"grad-a-{sfx}", f"grad-b-{sfx}", f"grad-pret-{sfx}"
    fondation_a = await auth("funder", f"fondation-a-{sfx}")
    fondation_b = await auth("funder", f"fondation-b-{sfx}")
    patient = await auth("funder", f"patient-{sfx}")
    anim = await auth("facilitator", f"anim-{sfx}")
    host = await auth("facilitator", HOST)
    for spec, owner in (
        (programme(a, f"fondation-a-{sfx}"), fondation_a),
        (programme(b, f"fondation-b-{sfx}"), fondation_b),
        (_loan_programme(pret, f"patient-{sfx}"), patient),
    ):
        await ok(await http.post("/v1/programmes", json=spec, headers=owner), 201)

    # "informel" is no legal form: before rules 3 it made the group a payable entity.
    typo = cooperation(
        coop,
        [a],
        members=[{"id": "habitants", "name": "Collectif", "legal_form": "informel"}],
        fiscal_host=None,
    )
    refused = await http.post("/v1/cooperations", json=typo, headers=anim)
    assert refused.status_code == 422, refused.text
    assert _paths(refused.json()) == ["members[0].legal_form"]

    body = cooperation(
        coop,
        [a, b],
        members=[{"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"}],
        fiscal_host=HOST,
    )
    await ok(await http.post("/v1/cooperations", json=body, headers=anim), 201)
    for line, funder in ((a, fondation_a), (b, fondation_b)):
        await ok(
            await http.post(
                f"{base}/funding-lines/{line}/decision", json={"accept": True}, headers=funder
            )
        )

    # The loan proposed to the host (by default) before graduation: refused.
    refused = await http.post(f"{base}/funding-lines", json={"programme": pret}, headers=anim)
    assert refused.status_code == 422, refused.text
    assert _paths(refused.json()) == ["allocation"]
    # The hosting cannot end while a line pays the host.
    refused = await http.post(f"{base}/hosting/end", headers=anim)
    assert refused.status_code == 409, refused.text
    assert a in refused.json()["detail"] and b in refused.json()["detail"]
    # A member joining with a form that is not one of rule 20's.
    joining = {"id": "asso", "name": "Asso", "legal_form": "asso loi 1901"}
    refused = await http.post(f"{base}/members", json=joining, headers=anim)
    assert refused.status_code == 422, refused.text
    assert _paths(refused.json()) == ["legal_form"]

    # The collective founds its association.
    refused = await http.post(
        f"{base}/members/habitants/formalise",
        json={"legal_form": "association", "rna": "W12345"},
        headers=anim,
    )
    assert refused.status_code == 422, refused.text
    assert _paths(refused.json()) == ["rna"]
    member = await ok(
        await http.post(
            f"{base}/members/habitants/formalise",
            json={"legal_form": "association", "rna": "W123456789"},
            headers=anim,
        )
    )
    assert member == {
        "id": "habitants",
        "legal_form": "association",
        "informal": False,
        "name": "Collectif des habitants",
    }

    to_asso = {"allocation": [{"payee": "habitants", "share": "1"}]}
    # The first funder accepts at once.
    proposed = await ok(
        await http.post(f"{base}/funding-lines/{a}/amendments", json=to_asso, headers=anim), 201
    )
    assert proposed["amendment"]["allocation"] == [{"payee": "habitants", "share": "1"}]
    assert proposed["allocation"] == [{"payee": HOST, "share": "1"}]
    # Another funder does not see the line: nor its amendment.
    other = await http.post(
        f"{base}/funding-lines/{a}/amendments/decision",
        json={"accept": True},
        headers=fondation_b,
    )
    assert other.status_code == 404, other.text
    amended = await ok(
        await http.post(
            f"{base}/funding-lines/{a}/amendments/decision",
            json={"accept": True},
            headers=fondation_a,
        )
    )
    assert amended["amendment"] is None
    assert amended["allocation"] == [{"payee": "habitants", "share": "1"}]

    # The second: one amendment open at a time; a release falling due meanwhile is held.
    await ok(
        await http.post(f"{base}/funding-lines/{b}/amendments", json=to_asso, headers=anim), 201
    )
    again = await http.post(f"{base}/funding-lines/{b}/amendments", json=to_asso, headers=anim)
    assert again.status_code == 409, again.text
    # In the funder's inbox: who the line pays now, who it would pay.
    waiting = await eventually(
        http,
        f"/v1/programmes/{b}/inbox",
        fondation_b,
        lambda inbox: [x for x in inbox["amendments"] if x["cooperation"] == coop],
    )
    assert [(x["payees"], x["current"]) for x in waiting] == [
        (
            [
                {
                    "payee": "habitants",
                    "share": "1",
                    "kind": "member",
                    "name": "Collectif des habitants",
                }
            ],
            [{"payee": HOST, "share": "1", "kind": "fiscal_host", "name": None}],
        )
    ]
    await ok(
        await http.post(
            f"{base}/approvals", json={"line": b, "tranche": "feu-vert"}, headers=fondation_b
        )
    )
    held = await ok(await http.get(f"{base}/funding-lines/{b}", headers=fondation_b))
    assert {t["tranche"]: t["status"] for t in held["tranches"]}["feu-vert"] == "pending"
    await ok(
        await http.post(
            f"{base}/funding-lines/{b}/amendments/decision",
            json={"accept": True, "note": "Avenant n°1 signé"},
            headers=fondation_b,
        )
    )
    ledger = await eventually(
        http,
        f"{base}/ledger",
        anim,
        lambda rows: rows if any(r["tranche"] == "feu-vert" for r in rows) else None,
    )
    assert [(r["line"], r["tranche"], r["payee"]) for r in ledger] == [
        (a, "amorcage", HOST),
        (b, "amorcage", HOST),
        (b, "feu-vert", "habitants"),
    ]

    # The patient loan, lent to the association.
    await ok(
        await http.post(
            f"{base}/funding-lines",
            json={"programme": pret, "allocation": [{"payee": "habitants", "share": "1"}]},
            headers=anim,
        ),
        201,
    )
    # The new funder reads the cooperation once the proposal is projected.
    for _ in range(200):
        if (await http.get(base, headers=patient)).status_code == 200:
            break
        await asyncio.sleep(0.05)
    await ok(
        await http.post(
            f"{base}/funding-lines/{pret}/decision", json={"accept": True}, headers=patient
        )
    )
    await ok(
        await http.post(
            f"{base}/approvals", json={"line": pret, "tranche": "pret"}, headers=patient
        )
    )
    loan_rows = await eventually(
        http,
        f"{base}/ledger",
        anim,
        lambda rows: [r for r in rows if r["kind"] == "loan"],
    )
    assert [(r["payee"], r["amount"]) for r in loan_rows] == [("habitants", "40000.00")]
    refused = await http.post(f"{base}/funding-lines/{pret}/amendments", json=to_asso, headers=anim)
    assert refused.status_code == 409, refused.text

    # Nothing pays the host any more: the hosting ends.
    ended = await ok(await http.post(f"{base}/hosting/end", headers=anim))
    assert ended["fiscal_host"] is None and ended["former_fiscal_host"] == HOST
    assert ended["hosting_ended_at"]

    funds = await eventually(
        http,
        "/v1/fiscal-host/funds",
        host,
        lambda items: [x for x in items if x["cooperation"] == coop and x["hosting_ended_at"]],
    )
    # Ordered to the host while it carried the collective, none of it recorded paid yet
    # (rule 19: received means paid).
    assert [(x["released"], x["received"], x["hosting_ended_at"]) for x in funds] == [
        ("16000.00", "0.00", ended["hosting_ended_at"])
    ]
    # The former host has left the cooperation's scope.
    for path in (base, f"{base}/ledger", f"{base}/events"):
        gone = await http.get(path, headers=host)
        assert gone.status_code == 404, (path, gone.text)

    feed = await eventually(
        http,
        f"{base}/events?limit=500",
        anim,
        lambda feed: feed if feed["items"][-1]["type"] == "FiscalHostEnded" else None,
    )
    seqs = [e["seq"] for e in feed["items"]]
    assert seqs == list(range(1, len(seqs) + 1))
    types = [e["type"] for e in feed["items"]]
    assert types.count("LineAmended") == 2 and "MemberFormalised" in types
    declined_or_amended = [e for e in feed["items"] if e["type"] == "LineAmended"]
    assert declined_or_amended[-1]["data"]["note"] == "Avenant n°1 signé"
