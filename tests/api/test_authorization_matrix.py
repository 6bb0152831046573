"""Who may call what (DESIGN.md, "HTTP API (v1), by role"), as one table: every endpoint of
the app, with the status each kind of caller gets. Out of scope is not found (404, reads and
actions alike: nothing tells that it exists), a forbidden action on something visible is 403,
no token or a revoked one is 401. The test is generated from the table and run against one
world (tests/api/world.py); a second test checks that no route of the app is missing from it.

Columns, in order (see world.CALLERS): the funder owning the resource (lines fdt and pret),
the co-funder (line reg of the same cooperation), a funder outside it, the cooperation's
facilitator, another facilitator, the fiscal host (not the facilitator), the cooperation's
collective, another cooperation's collective, no token, a revoked token.

A cell is a status, or `ok` where the caller is allowed and the rules decide the rest (2xx,
or 409 when an earlier row already did it: accepting a line twice, say). Rows run in table
order, on the one world: the world's check-in is reviewed before the collective checks in
again, a repayment comes before the write-off that settles the loan.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi.routing import iter_route_contexts

from api.app import create_app
from api.web import is_page
from runtime.config import Settings
from store import contacts
from store.tokens import create_token, revoke_token
from tests.api import world as w
from tests.api.authorization_table import CASES, PUBLIC, TABLE, Row, _Ids, _url
from tests.api.conftest import Auth
from tests.api.world import CALLERS, CLOSED, COOP, World

pytestmark = [pytest.mark.integration]


@pytest_asyncio.fixture(scope="module")
async def world(
    module_http: httpx.AsyncClient, module_auth: Auth, module_pool: asyncpg.Pool
) -> World:
    return await w.build(module_http, module_auth, module_pool)


def _subject(column: str) -> str:
    who = CALLERS[column]
    return who[1] if who is not None else ""


async def test_each_list_shows_what_is_in_the_callers_scope_only(
    module_http: httpx.AsyncClient, world: World
) -> None:
    """Before the table's rows change the world: what the lists hold for each caller."""
    http = module_http

    async def ids(column: str, url: str, key: str = "id") -> set[Any]:
        answer = await http.get(url, headers=world.caller(column))
        assert answer.status_code == 200, answer.text
        return {item[key] for item in answer.json()["items"]}

    expected = {
        "funder": {COOP, CLOSED},
        "co_funder": {COOP, CLOSED},
        "outside_funder": set(),
        "facilitator": {COOP, CLOSED},
        "other_facilitator": {w.NEIGHBOUR},
        "host": {COOP, CLOSED},
        "collective": {world.coop},
        "other_collective": {w.NEIGHBOUR},
    }
    for column, names in expected.items():
        coops = {world.id(name) for name in names}
        assert await ids(column, "/v1/cooperations") == coops, column

    # A funder's own lines only, in the list as in the detail, the ledger and the schedule.
    listed = (await http.get("/v1/cooperations", headers=world.caller("co_funder"))).json()
    assert {line["line"] for c in listed["items"] for line in c["lines"]} == {"reg"}
    detail = (
        await http.get(f"/v1/cooperations/{world.coop}", headers=world.caller("funder"))
    ).json()
    assert [line["line"] for line in detail["lines"]] == ["fdt", "pret"]
    assert detail["programmes"] == ["fdt", "pret"]
    ledger = await http.get(
        f"/v1/cooperations/{world.coop}/ledger", headers=world.caller("co_funder")
    )
    assert {row["line"] for row in ledger.json()} == {"reg"}
    schedule = await http.get(
        f"/v1/cooperations/{world.coop}/schedule", headers=world.caller("co_funder")
    )
    assert {t["line"] for t in schedule.json()["pending_tranches"]} <= {"reg"}
    assert schedule.json()["loans"] == []
    # The event about fdt keeps its seq, type and date for the co-funder, not its data.
    event = await http.get(
        f"/v1/cooperations/{world.coop}/events/{world.event}", headers=world.caller("co_funder")
    )
    assert event.json()["type"] == "FundingLineAttached" and event.json()["data"] == {}
    feed = await http.get(
        f"/v1/cooperations/{world.coop}/events?limit=500", headers=world.caller("co_funder")
    )
    assert not any(e["data"].get("line") in ("fdt", "pret") for e in feed.json()["items"])
    # Another funder's reports are not listed.
    reports = await http.get(
        f"/v1/cooperations/{world.id(CLOSED)}/reports", headers=world.caller("co_funder")
    )
    assert {r["line"] for r in reports.json()} == {"reg"}
    # The fiscal host lists the reports of the line that pays it, not of the one paying a
    # member.
    reports = await http.get(
        f"/v1/cooperations/{world.id(CLOSED)}/reports", headers=world.caller("host")
    )
    assert {r["line"] for r in reports.json()} == {"fdt"}

    # Queues: the facilitator's own cooperations; nothing for the fiscal host, who only reads.
    assert await ids("facilitator", "/v1/check-ins") == {world.check_in}
    assert await ids("host", "/v1/check-ins") == set()
    assert await ids("other_facilitator", "/v1/check-ins") == set()
    requests = "/v1/transition-requests"
    assert await ids("facilitator", requests, "cooperation") == {world.coop}
    assert await ids("funder", requests, "cooperation") == {world.coop}
    assert await ids("host", requests, "cooperation") == set()
    assert await ids("outside_funder", requests, "cooperation") == set()

    # What a fiscal host received: the cooperations it hosts only, not those it accompanies.
    async def hosted(column: str) -> set[str]:
        answer = await http.get("/v1/fiscal-host/funds", headers=world.caller(column))
        assert answer.status_code == 200, answer.text
        return {item["cooperation"] for item in answer.json()}

    assert await hosted("host") == {world.coop, world.id(CLOSED)}
    assert await hosted("facilitator") == set()
    assert await hosted("other_facilitator") == set()

    # Budgets and amounts of a programme for its funder only.
    seen = (await http.get("/v1/programmes/fdt", headers=world.caller("co_funder"))).json()
    assert "budget" not in seen
    assert all("amount" not in t for t in seen["phases"]["emergence"]["tranches"])
    own = (await http.get("/v1/programmes/fdt", headers=world.caller("funder"))).json()
    assert own["budget"] == "500000.00"


@pytest.mark.parametrize(("row", "column"), CASES)
async def test_each_caller_gets_the_status_the_table_says(
    module_http: httpx.AsyncClient, world: World, row: Row, column: str
) -> None:
    body = row.body(world, _subject(column)) if row.body is not None else None
    answer = await module_http.request(
        row.method,
        _url(row, world),
        json=body,
        headers=world.caller(column, row.cooperation),
    )
    expected = row.cells[column]
    if expected == "ok":
        assert answer.is_success or answer.status_code == 409, answer.text
    else:
        assert answer.status_code == int(expected), answer.text
    if not answer.is_success:
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        problem = answer.json()
        assert problem["status"] == answer.status_code and problem["title"] and problem["detail"]
    if answer.status_code == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")


# -- web sessions: no longer than what opened them --------------------------------------------

SESSIONS = {
    "session_of_a_live_token": True,
    "session_of_a_revoked_token": False,
    "session_of_a_confirmed_contact": True,
    "session_of_a_removed_contact": False,
}
"""The facilitator's web sessions (their tokens are bearers of the API too), by what opened
them: a live one gets what the facilitator gets; one whose opener is gone, 401."""

READS = [row for row in TABLE if row.method == "GET" and row.expected != PUBLIC]


@pytest_asyncio.fixture(scope="module")
async def sessions(world: World, module_pool: asyncpg.Pool) -> dict[str, dict[str, str]]:
    """Made after the table's rows ran (they replace the facilitator's contacts)."""
    made: dict[str, dict[str, str]] = {}
    lasting = timedelta(hours=1)
    async with module_pool.acquire() as conn:
        for kind in ("live", "revoked"):
            opener, _ = await create_token(conn, "facilitator", w.FACILITATOR)
            _, session = await create_token(
                conn, "facilitator", w.FACILITATOR, expires_in=lasting, opened_by=opener.id
            )
            if kind == "revoked":
                await revoke_token(conn, opener.id)
            made[f"session_of_a_{kind}_token"] = {"Authorization": f"Bearer {session}"}
        kept, removed = "garde@example.org", "retire@example.org"
        await contacts.add_confirmed(conn, "facilitator", w.FACILITATOR, [kept, removed])
        for kind, address in (("confirmed", kept), ("removed", removed)):
            _, session = await create_token(
                conn, "facilitator", w.FACILITATOR, expires_in=lasting, opened_by_address=address
            )
            made[f"session_of_a_{kind}_contact"] = {"Authorization": f"Bearer {session}"}
        await conn.execute(
            "DELETE FROM contact_addresses WHERE role = 'facilitator' AND subject = $1"
            " AND address = $2",
            w.FACILITATOR,
            removed,
        )
    return made


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        pytest.param(row, kind, id=f"GET {row.path.format_map(_Ids(row.params))} as {kind}")
        for row in READS
        for kind in SESSIONS
    ],
)
async def test_a_session_gets_what_its_opener_would_and_401_once_that_is_gone(
    module_http: httpx.AsyncClient,
    world: World,
    sessions: dict[str, dict[str, str]],
    row: Row,
    kind: str,
) -> None:
    answer = await module_http.get(_url(row, world), headers=sessions[kind])
    if SESSIONS[kind]:
        expected = row.cells["facilitator"]
        assert answer.status_code == (200 if expected == "ok" else int(expected)), answer.text
    else:
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_every_route_of_the_app_is_in_the_table() -> None:
    """A new endpoint cannot be forgotten: each (method, path) of the API has a row (HEAD
    comes with GET). The web pages, which call these endpoints, have a table of their own
    (tests/web/test_pages.py)."""
    app = create_app(Settings(public_url="http://t"))
    served = {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        for method in route.methods or ()
        if method != "HEAD" and not is_page(route.path)
    }
    tabled = {(row.method, row.path) for row in TABLE}
    assert served - tabled == set(), "routes without a row in TABLE"
    assert tabled - served == set(), "rows of TABLE for no route"
    assert len(served) > 40


# -- roles are namespaces ------------------------------------------------------------------
# Callers whose subject equals another role's id (DESIGN.md, "Roles are namespaces"): each
# gets what its own role and id get, nothing of the other's. (role, subject) -> rows of
# (method, path, status); paths name the world's programme fdt and cooperation COOP.
_AS_FUNDERS_ID = (
    ("POST", "/v1/programmes/fdt/budget", 403),
    ("GET", "/v1/programmes/fdt/dashboard", 403),
    ("GET", "/v1/programmes/fdt/forecast", 403),
    ("GET", "/v1/programmes/fdt/inbox", 403),
    ("GET", "/v1/programmes/fdt/versions", 403),
    ("PUT", "/v1/programmes/fdt", 403),
    ("GET", "/v1/cooperations/{coop}", 404),
    ("GET", "/v1/cooperations/{coop}/funding-lines/fdt", 404),
    ("POST", "/v1/cooperations/{coop}/approvals", 404),
)
_IMPOSTORS: dict[tuple[str, str], tuple[tuple[str, str, int], ...]] = {
    ("facilitator", w.FUNDER): _AS_FUNDERS_ID,
    ("collective", w.FUNDER): _AS_FUNDERS_ID,
    # A funder named as the cooperation is not its collective.
    ("funder", COOP): (
        ("GET", "/v1/cooperations/{coop}", 404),
        ("GET", "/v1/cooperations/{coop}/check-ins", 404),
        ("POST", "/v1/cooperations/{coop}/check-ins", 404),
        ("POST", "/v1/cooperations/{coop}/transition-requests", 404),
    ),
    # A funder named as the facilitator does not accompany it, nor as the host carry it.
    ("funder", w.FACILITATOR): (
        ("GET", "/v1/cooperations/{coop}", 404),
        ("POST", "/v1/cooperations/{coop}/transitions", 404),
        ("POST", "/v1/cooperations/{coop}/members", 404),
        ("GET", "/v1/check-ins", 403),
    ),
    ("funder", w.HOST): (
        ("GET", "/v1/cooperations/{coop}", 404),
        ("GET", "/v1/cooperations/{coop}/ledger", 404),
        ("GET", "/v1/fiscal-host/funds", 403),
    ),
}
_IMPOSTOR_BODIES: dict[str, Any] = {
    "/v1/programmes/fdt/budget": {"amount": "10.00"},
    "/v1/cooperations/{coop}/approvals": {"line": "fdt", "tranche": "feu-vert"},
    "/v1/cooperations/{coop}/check-ins": {"narrative": "Usurpé."},
    "/v1/cooperations/{coop}/transition-requests": {"action": "pause", "reason": "Usurpé"},
    "/v1/cooperations/{coop}/transitions": {"action": "pause"},
    "/v1/cooperations/{coop}/members": {"id": "x", "name": "X", "legal_form": "association"},
}


async def test_a_subject_is_read_with_its_role(
    module_http: httpx.AsyncClient, world: World, module_auth: Auth
) -> None:
    http = module_http
    for (role, name), rows in _IMPOSTORS.items():
        headers = await module_auth(role, world.id(name))
        for method, template, status in rows:
            body = _IMPOSTOR_BODIES.get(template)
            if template == "/v1/programmes/fdt":
                # Names the caller's id as funder: only the programme's owner may refuse it.
                body = world.programmes["fdt"] | {"funder": world.id(name)}
            path = template.format(coop=world.coop)
            answer = await http.request(method, path, json=body, headers=headers)
            assert answer.status_code == status, f"{role} {name}: {method} {path}: {answer.text}"
        if name == w.FUNDER:
            # Read as anyone reads it: no budget, no cap, no amounts.
            for shown in (
                (await http.get("/v1/programmes/fdt", headers=headers)).json(),
                *(await http.get(f"/v1/programmes?funder={w.FUNDER}", headers=headers)).json()[
                    "items"
                ],
            ):
                assert "budget" not in shown and "cap_per_cooperation" not in shown, shown
                tranches = [t for p in shown["phases"].values() for t in p["tranches"]]
                assert tranches and all("amount" not in t for t in tranches), shown
