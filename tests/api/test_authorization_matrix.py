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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from tests.api.conftest import Auth, cooperation, programme
from tests.api.world import CALLERS, CLOSED, COOP, World

pytestmark = [pytest.mark.integration]

COLUMNS = tuple(CALLERS)

Body = Callable[[World, str], Any]
"""A request body from the world and the caller's subject ("" without a token)."""


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    """The route's path template, as the app registers it."""
    expected: str
    """One cell per column, separated by spaces."""
    body: Body | None = None
    params: dict[str, Any] = field(default_factory=dict)
    """Path parameters other than the defaults (see `_url`)."""

    @property
    def cells(self) -> dict[str, str]:
        cells = self.expected.split()
        assert len(cells) == len(COLUMNS), f"{self.method} {self.path}: {len(cells)} cells"
        return dict(zip(COLUMNS, cells, strict=True))

    @property
    def cooperation(self) -> str:
        return str(self.params.get("cooperation_id", COOP))


def _own_programme(_: World, subject: str) -> dict[str, Any]:
    return programme(f"neuf-{subject or 'x'}", subject or "x")


def _fondation_programme(_: World, __: str) -> dict[str, Any]:
    return programme("usurpe", w.FUNDER)


def _new_version(world: World, subject: str) -> dict[str, Any]:
    # The spec names the caller as its funder: only ownership of the programme can refuse it.
    return world.programmes["fdt"] | {"name": "Programme fdt, v2", "funder": subject or "x"}


def _own_cooperation(world: World, subject: str) -> dict[str, Any]:
    return cooperation(f"{world.coop}-neuve-{subject or 'x'}", [])


def _for_the_facilitator(world: World, __: str) -> dict[str, Any]:
    return cooperation(f"{world.coop}-pour-anim", [], facilitator=w.FACILITATOR)


def _const(value: Any) -> Body:
    return lambda _world, _subject: value


PUBLIC = "200 200 200 200 200 200 200 200 200 200"
ANY_TOKEN = "200 200 200 200 200 200 200 200 401 401"
OWNER_ONLY = "200 403 403 403 403 403 403 403 401 401"
# The cooperation read by everyone in scope, its fiscal host included.
EVERYONE = "200 200 404 200 404 200 200 404 401 401"
# The shared parts (check-ins, requests): not the fiscal host's.
SHARED = "200 200 404 200 404 404 200 404 401 401"
# The funder's own line: invisible to another funder.
OWN_LINE = "200 404 404 200 404 200 200 404 401 401"
NOTHING = "404 404 404 404 404 404 404 404 401 401"
WEBHOOK_OWNER = "200 404 404 404 404 404 404 404 401 401"

# fmt: off
TABLE: tuple[Row, ...] = (
    # Columns:                                          fnd co  out fac ofa hst col oco -   rev
    Row("GET", "/healthz", PUBLIC),
    Row("GET", "/livez", PUBLIC),
    Row("GET", "/openapi.json", PUBLIC),
    Row("GET", "/docs", PUBLIC),
    Row("GET", "/docs/static/start.js", PUBLIC),
    Row("GET", "/docs/static/{name}", PUBLIC, params={"name": "swagger-ui.css"}),
    Row("GET", "/v1/me", ANY_TOKEN),
    # -- programmes: read by all, configured by their funder ----------------------------------
    Row("POST", "/v1/programmes",                       "201 201 201 403 403 403 403 403 401 401",
        _own_programme),
    Row("POST", "/v1/programmes",                       "201 403 403 403 403 403 403 403 401 401",
        _fondation_programme),
    Row("GET", "/v1/programmes", ANY_TOKEN),
    Row("GET", "/v1/programmes/{programme_id}", ANY_TOKEN),
    Row("GET", "/v1/programmes/{programme_id}", NOTHING, params={"programme_id": "inconnu"}),
    Row("PUT", "/v1/programmes/{programme_id}", OWNER_ONLY, _new_version),
    Row("GET", "/v1/programmes/{programme_id}/versions", OWNER_ONLY),
    Row("POST", "/v1/programmes/{programme_id}/budget", OWNER_ONLY, _const({"amount": "10.00"})),
    Row("GET", "/v1/programmes/{programme_id}/dashboard", OWNER_ONLY),
    Row("GET", "/v1/programmes/{programme_id}/forecast", OWNER_ONLY),
    Row("GET", "/v1/programmes/{programme_id}/inbox", OWNER_ONLY),
    # -- cooperations: registered by facilitators, read by everyone in scope -----------------
    Row("POST", "/v1/cooperations",                     "403 403 403 201 201 201 403 403 401 401",
        _own_cooperation),
    Row("POST", "/v1/cooperations",                     "403 403 403 201 403 403 403 403 401 401",
        _for_the_facilitator),
    Row("GET", "/v1/cooperations", ANY_TOKEN),
    Row("GET", "/v1/cooperations/{cooperation_id}", EVERYONE),
    Row("GET", "/v1/cooperations/{cooperation_id}", NOTHING, params={"cooperation_id": "inconnue"}),
    # Closed, its workflow ended: read from PostgreSQL with the same scope.
    Row("GET", "/v1/cooperations/{cooperation_id}", EVERYONE, params={"cooperation_id": CLOSED}),
    Row("GET", "/v1/cooperations/{cooperation_id}/schedule", EVERYONE),
    Row("GET", "/v1/cooperations/{cooperation_id}/ledger", EVERYONE),
    Row("GET", "/v1/cooperations/{cooperation_id}/ledger", EVERYONE,
        params={"cooperation_id": CLOSED}),
    Row("GET", "/v1/cooperations/{cooperation_id}/events", EVERYONE),
    # An event about the funder's line: the co-funder reads its seq, type and date only.
    Row("GET", "/v1/cooperations/{cooperation_id}/events/{seq}", EVERYONE),
    # -- funding lines ------------------------------------------------------------------------
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines",
                                                        "403 403 404 201 404 403 403 404 401 401",
        _const({"programme": "fdt-bis"})),
    Row("GET", "/v1/cooperations/{cooperation_id}/funding-lines", EVERYONE),
    Row("GET", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}", OWN_LINE),
    Row("GET", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}",
                                                        "404 200 404 200 404 200 200 404 401 401",
        params={"programme": "reg"}),
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/decision",
                                                        "ok  404 404 403 404 403 403 404 401 401",
        _const({"accept": True})),
    # Rule 18: the line's funder records its convention (a second one is 409).
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/convention",
                                                        "201 404 404 403 404 403 403 404 401 401",
        _const({"reference": "CONV-1", "signed_on": "2026-01-05"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/convention",
                                                        "404 201 404 403 404 403 403 404 401 401",
        _const({"reference": "CONV-2", "signed_on": "2026-01-05"}), params={"programme": "reg"}),
    # Rule 20: an amendment (avenant) of the funder's line fdt, proposed by the facilitator and
    # decided by the line's funder (another funder does not see the line); the hosting cannot
    # end while reg still pays the host.
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/amendments",
                                                        "403 404 404 201 404 403 403 404 401 401",
        _const({"allocation": [{"payee": "emprunteur", "share": "1"}]})),
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/amendments/decision",
                                                        "200 404 404 403 404 403 403 404 401 401",
        _const({"accept": True})),
    Row("POST", "/v1/cooperations/{cooperation_id}/hosting/end",
                                                        "403 403 404 409 404 403 403 404 401 401"),
    # -- moves and requests -------------------------------------------------------------------
    # Foreseen by whoever may make the move, changing nothing.
    Row("POST", "/v1/cooperations/{cooperation_id}/transitions/preview",
                                                        "403 403 404 200 404 403 403 404 401 401",
        _const({"action": "advance"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/transitions/preview", NOTHING,
        _const({"action": "advance"}), params={"cooperation_id": "inconnue"}),
    # Closed, its workflow ended: the rules' refusal, as the move itself would get.
    Row("POST", "/v1/cooperations/{cooperation_id}/transitions/preview",
                                                        "403 403 404 409 404 403 403 404 401 401",
        _const({"action": "advance"}), params={"cooperation_id": CLOSED}),
    Row("POST", "/v1/cooperations/{cooperation_id}/transitions",
                                                        "403 403 404 200 404 403 403 404 401 401",
        _const({"action": "pivot", "objectives": "Atelier vélo", "reason": "Nouveau local"})),
    Row("GET", "/v1/cooperations/{cooperation_id}/transition-requests", SHARED),
    Row("GET", "/v1/cooperations/{cooperation_id}/transition-requests/{seq}", SHARED),
    Row("POST", "/v1/cooperations/{cooperation_id}/transition-requests/{seq}/decline",
                                                        "403 403 404 ok  404 404 403 404 401 401",
        _const({"reason": "Pas encore"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/transition-requests",
                                                        "403 403 404 403 404 404 201 404 401 401",
        _const({"action": "pause", "reason": "Saison des récoltes"})),
    # -- members ------------------------------------------------------------------------------
    Row("POST", "/v1/cooperations/{cooperation_id}/members",
                                                        "403 403 404 201 404 403 403 404 401 401",
        _const({"id": "nouveau", "name": "Nouveau membre", "legal_form": "association"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/members/{member}/formalise",
                                                        "403 403 404 200 404 403 403 404 401 401",
        _const({"legal_form": "association", "rna": "W123456789"})),
    Row("GET", "/v1/cooperations/{cooperation_id}/members", EVERYONE),
    Row("GET", "/v1/cooperations/{cooperation_id}/members/{member}", EVERYONE),
    Row("DELETE", "/v1/cooperations/{cooperation_id}/members/{member}",
                                                        "403 403 404 200 404 403 403 404 401 401",
        params={"member": "partant"}),
    # -- check-ins and reviews ----------------------------------------------------------------
    Row("GET", "/v1/cooperations/{cooperation_id}/check-ins", SHARED),
    Row("GET", "/v1/cooperations/{cooperation_id}/check-ins/{check_in_id}", SHARED),
    Row("POST", "/v1/cooperations/{cooperation_id}/check-ins/{check_in_id}/review",
                                                        "403 403 404 200 404 404 403 404 401 401",
        _const({"decision": "accepted"})),
    # Period 1 now holds a reviewed check-in: the rules refuse (409) once the collective is in.
    Row("POST", "/v1/cooperations/{cooperation_id}/check-ins",
                                                        "403 403 404 403 404 404 409 404 401 401",
        _const({"narrative": "Encore un atelier."})),
    Row("GET", "/v1/check-ins",                         "403 403 403 200 200 200 403 403 401 401"),
    # Facilitator tokens only; a facilitator hosting nothing gets an empty list.
    Row("GET", "/v1/fiscal-host/funds",                 "403 403 403 200 200 200 403 403 401 401"),
    Row("GET", "/v1/transition-requests",               "200 200 200 200 200 200 403 403 401 401"),
    # -- approvals, repayments, write-offs ----------------------------------------------------
    # A grant's approval tranche: its funder or the facilitator (not paid by the line).
    Row("POST", "/v1/cooperations/{cooperation_id}/approvals",
                                                        "200 404 404 ok  404 403 403 404 401 401",
        _const({"line": "fdt", "tranche": "feu-vert"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/approvals",
                                                        "404 200 404 ok  404 403 403 404 401 401",
        _const({"line": "reg", "tranche": "feu-vert"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/repayments",
                                                        "201 404 404 403 404 403 403 404 401 401",
        _const({"line": "pret", "tranche": "pret", "amount": "100.00"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/write-offs",
                                                        "201 404 404 403 404 403 403 404 401 401",
        _const({"line": "pret", "tranche": "pret", "reason": "Projet arrêté"})),
    # Rule 19: a versement recorded paid by its line's funder alone.
    Row("POST", "/v1/cooperations/{cooperation_id}/payments",
                                                        "201 404 404 403 404 403 403 404 401 401",
        lambda _world, _subject: {"line": "fdt", "tranche": "amorcage",
                                  "paid_on": datetime.now(UTC).date().isoformat()}),
    # -- reports (of the closed cooperation, whose collective is the one in scope) ------------
    # The fiscal host lists the reports of the lines that pay it (checked below).
    Row("GET", "/v1/cooperations/{cooperation_id}/reports", EVERYONE,
        params={"cooperation_id": CLOSED}),
    # The funder's line's report: the co-funder's lines have their own; the line pays the
    # fiscal host, which reads it.
    Row("GET", "/v1/reports/{report_id}",               "200 404 404 200 404 200 200 404 401 401",
        params={"cooperation_id": CLOSED}),
    # The co-funder's line pays a member, not the host: its report is not the host's.
    Row("GET", "/v1/reports/{report_id}",               "404 200 404 200 404 404 200 404 401 401",
        params={"cooperation_id": CLOSED, "report_id": "reg"}),
    # -- notifications: contacts for every subject, webhooks for funders and facilitators -----
    Row("PUT", "/v1/me/contacts", ANY_TOKEN, _const({"emails": ["suivi@example.org"]})),
    Row("GET", "/v1/me/contacts", ANY_TOKEN),
    # An invitation of the cooperation's collective by e-mail: its facilitator's only.
    Row("POST", "/v1/cooperations/{cooperation_id}/invitations",
                                                        "403 403 404 202 404 403 403 404 401 401",
        _const({"email": "collectif@example.org"})),
    Row("POST", "/v1/webhooks",                         "201 201 201 201 201 201 403 403 401 401",
        lambda _world, _subject: w.webhook_body()),
    Row("GET", "/v1/webhooks",                          "200 200 200 200 200 200 403 403 401 401"),
    # One's own subscription only: another's is not found.
    Row("GET", "/v1/webhooks/{webhook_id}", WEBHOOK_OWNER),
    Row("GET", "/v1/webhooks/{webhook_id}/deliveries", WEBHOOK_OWNER),
    Row("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", WEBHOOK_OWNER),
    Row("DELETE", "/v1/webhooks/{webhook_id}", WEBHOOK_OWNER),
)
# fmt: on


def _url(row: Row, world: World) -> str:
    values: dict[str, Any] = {
        "cooperation_id": COOP,
        "programme_id": "fdt",
        "programme": "fdt",
        "seq": world.event,
        "check_in_id": world.check_in,
        "member": "habitants",
        "report_id": world.report,
        "webhook_id": world.webhook,
        "delivery_id": world.delivery,
    }
    if "transition-requests/{seq}" in row.path:
        values["seq"] = world.request
    values |= row.params
    if "report_id" in row.params:
        values["report_id"] = world.reports[row.params["report_id"]]
    values["cooperation_id"] = world.id(values["cooperation_id"])
    return row.path.format(**values)


class _Ids(dict[str, Any]):
    """Test ids show the path template, with the parameters a row overrides."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


CASES = [
    pytest.param(
        row, column, id=f"{row.method} {row.path.format_map(_Ids(row.params))} as {column}"
    )
    for row in TABLE
    for column in COLUMNS
]


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
