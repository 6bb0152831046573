"""One small world for the API's tests, set up through HTTP as its users would: two funders
co-funding a cooperation whose fiscal host is not its facilitator (with a loan line), a
neighbouring cooperation of another facilitator, a closed cooperation with its final reports,
an open check-in and an open transition request; a token for each kind of caller."""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from store.tokens import create_token, revoke_token
from tests.api.conftest import Auth, cooperation, programme

# The cooperations by name; each world gives them ids of its own (the name and a suffix), as
# their workflows' ids must be unique on the one Temporal server of a test session.
COOP = "ruche"
"""The cooperation most tests act on: lines fdt, reg (another funder) and pret (a loan)."""
NEIGHBOUR = "voisine"
"""Another facilitator's cooperation."""
CLOSED = "fermee"
"""Closed at once: its workflow has ended and its final reports are issued."""

FUNDER = "fondation"
CO_FUNDER = "region"
OUTSIDE_FUNDER = "mecene"
FACILITATOR = "anim"
OTHER_FACILITATOR = "autre-anim"
HOST = "pole-107"
UNHOSTED = {"payee": "partant", "share": "1"}
"""The allocation of CLOSED's line reg: the association member, not the fiscal host."""

CALLERS: dict[str, tuple[str, str] | None] = {
    "funder": ("funder", FUNDER),
    "co_funder": ("funder", CO_FUNDER),
    "outside_funder": ("funder", OUTSIDE_FUNDER),
    "facilitator": ("facilitator", FACILITATOR),
    "other_facilitator": ("facilitator", OTHER_FACILITATOR),
    "host": ("facilitator", HOST),
    "collective": ("collective", COOP),
    "other_collective": ("collective", NEIGHBOUR),
    "no_token": None,
    "revoked": None,
}
"""Who calls, by column of the authorization matrix: (role, subject; a collective's subject
is its cooperation's name, made an id by the world). The funder owns the lines fdt and pret,
the co-funder owns reg of the same cooperation, the outside funder funds nothing there; the
host is the fiscal host (a facilitator token of its id). The collective is the target
cooperation's (the closed one's for rows about it)."""


def loan_programme(pid: str, funder: str) -> dict[str, Any]:
    """Patient capital disbursed on entry, repaid over years."""
    return programme(
        pid,
        funder,
        phases={
            "emergence": {
                "check_in_every": "P1M",
                "tranches": [
                    {
                        "id": "pret",
                        "amount": "20000.00",
                        "purpose": "investment",
                        "instrument": {
                            "loan": {
                                "annual_rate": "0.01",
                                "grace": "P24M",
                                "term": "P84M",
                                "installment_every": "P3M",
                            }
                        },
                        "when": "entry",
                    }
                ],
            }
        },
    )


@dataclass
class World:
    ids: dict[str, str]
    """The cooperations' ids by name (COOP, NEIGHBOUR, CLOSED)."""
    headers: dict[str, dict[str, str]]
    """Headers by caller (column), for the cooperation COOP."""
    collectives: dict[str, dict[str, str]]
    """A collective's headers by cooperation name."""
    check_in: str
    """An unreviewed check-in of COOP."""
    request: int
    """The seq of an open transition request of COOP."""
    event: int
    """The seq of an event about the funder's line fdt (data withheld from the co-funder)."""
    report: str
    """The final report of line fdt of CLOSED (a line paying the fiscal host)."""
    reports: dict[str, str]
    """CLOSED's final reports by line: reg's pays a member, not the host."""
    webhook: str
    """The funder's webhook subscription (to a port nobody listens on)."""
    delivery: int
    """A delivery of that webhook (nothing delivers in these tests: it waits)."""
    programmes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def coop(self) -> str:
        return self.ids[COOP]

    def id(self, name: str) -> str:
        """The id of the cooperation named `name` (any other name as it is: not found)."""
        return self.ids.get(name, name)

    def caller(self, column: str, cooperation: str = COOP) -> dict[str, str]:
        if column == "collective":
            # An unknown cooperation's "collective" is COOP's: it must see nothing there either.
            return self.collectives.get(cooperation, self.collectives[COOP])
        return self.headers[column]


def webhook_body(url: str = "http://127.0.0.1:9/hook") -> dict[str, str]:
    """A subscription to every event, with a secret of the specification's form."""
    return {"url": url, "secret": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()}


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


async def eventually(http: httpx.AsyncClient, url: str, headers: dict[str, str], found: Any) -> Any:
    """What `found` picks from GET url once it is there: effects follow the answers."""
    for _ in range(200):
        picked = found(await ok(await http.get(url, headers=headers)))
        if picked:
            return picked
        await asyncio.sleep(0.05)
    raise AssertionError(f"never found in {url}")


async def build(
    http: httpx.AsyncClient, auth: Auth, pool: asyncpg.Pool, suffix: str | None = None
) -> World:
    suffix = suffix or uuid.uuid4().hex[:6]
    ids = {name: f"{name}-{suffix}" for name in (COOP, NEIGHBOUR, CLOSED)}
    headers: dict[str, dict[str, str]] = {}
    for column, who in CALLERS.items():
        if who is not None:
            role, subject = who
            headers[column] = await auth(role, ids.get(subject, subject))
    headers["no_token"] = {}
    async with pool.acquire() as conn:
        # The facilitator's second token, revoked: it would be let in everywhere it is not.
        record, token = await create_token(conn, "facilitator", FACILITATOR)
        await revoke_token(conn, record.id)
    headers["revoked"] = {"Authorization": f"Bearer {token}"}
    fondation, region, anim = headers["funder"], headers["co_funder"], headers["facilitator"]

    specs = {
        "fdt": (programme("fdt", FUNDER), fondation),
        "fdt-bis": (programme("fdt-bis", FUNDER), fondation),
        "pret": (loan_programme("pret", FUNDER), fondation),
        "reg": (programme("reg", CO_FUNDER), region),
    }
    for spec, owner in specs.values():
        await ok(await http.post("/v1/programmes", json=spec, headers=owner), 201)
    webhook = await ok(await http.post("/v1/webhooks", json=webhook_body(), headers=fondation), 201)

    members = [
        {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
        {"id": "repair-cafe", "name": "Repair café", "legal_form": "informal"},
        {"id": "partant", "name": "Association partante", "legal_form": "association"},
        {"id": "emprunteur", "name": "SCIC du Bourg", "legal_form": "scic"},
    ]
    # CLOSED's line reg pays a member, not the host: the host reads none of its reports.
    closed_lines: list[Any] = ["fdt", {"programme": "reg", "allocation": [UNHOSTED]}]
    # COOP's loan is lent to the SCIC: a borrower is never the fiscal host (rule 20).
    lent = {"payee": "emprunteur", "share": "1"}
    coop_lines: list[Any] = ["fdt", "reg", {"programme": "pret", "allocation": [lent]}]
    for name, lines in ((COOP, coop_lines), (CLOSED, closed_lines)):
        coop_id = ids[name]
        body = cooperation(coop_id, lines, members=members, fiscal_host=HOST)
        await ok(await http.post("/v1/cooperations", json=body, headers=anim), 201)
        for line in (x if isinstance(x, str) else x["programme"] for x in lines):
            owner = region if line == "reg" else fondation
            await ok(
                await http.post(
                    f"/v1/cooperations/{coop_id}/funding-lines/{line}/decision",
                    json={"accept": True},
                    headers=owner,
                )
            )
    neighbour = cooperation(
        ids[NEIGHBOUR],
        [],
        members=[{"id": "asso", "name": "Association voisine", "legal_form": "association"}],
        fiscal_host=None,
    )
    await ok(
        await http.post("/v1/cooperations", json=neighbour, headers=headers["other_facilitator"]),
        201,
    )

    collectif = headers["collective"]
    check_in = await ok(
        await http.post(
            f"/v1/cooperations/{ids[COOP]}/check-ins",
            json={"narrative": "Deux ateliers.", "indicators": {"participants": 9}},
            headers=collectif,
        ),
        201,
    )
    request = await ok(
        await http.post(
            f"/v1/cooperations/{ids[COOP]}/transition-requests",
            json={"action": "advance", "reason": "Prêts"},
            headers=collectif,
        ),
        201,
    )
    await ok(
        await http.post(
            f"/v1/cooperations/{ids[CLOSED]}/transitions",
            json={"action": "close", "outcome": "completed"},
            headers=anim,
        )
    )
    reports = await eventually(
        http,
        f"/v1/cooperations/{ids[CLOSED]}/reports",
        anim,
        lambda items: {r["line"]: r["id"] for r in items} if len(items) >= 2 else None,
    )
    event = await eventually(
        http,
        f"/v1/cooperations/{ids[COOP]}/events?limit=500",
        anim,
        lambda feed: next(
            (
                e["seq"]
                for e in feed["items"]
                if e["type"] == "FundingLineAttached" and e["data"]["line"] == "fdt"
            ),
            None,
        ),
    )
    delivery = None
    for _ in range(200):
        async with pool.acquire() as conn:
            delivery = await conn.fetchval(
                "SELECT min(id) FROM webhook_deliveries WHERE webhook_id = $1", webhook["id"]
            )
        if delivery is not None:
            break
        await asyncio.sleep(0.05)
    assert delivery is not None, "no delivery for the funder's webhook"
    return World(
        ids=ids,
        headers=headers,
        collectives={
            COOP: collectif,
            NEIGHBOUR: headers["other_collective"],
            CLOSED: await auth("collective", ids[CLOSED]),
        },
        check_in=check_in["id"],
        request=request["seq"],
        event=event,
        report=reports["fdt"],
        reports=reports,
        webhook=webhook["id"],
        delivery=delivery,
        programmes={pid: spec for pid, (spec, _) in specs.items()},
    )
