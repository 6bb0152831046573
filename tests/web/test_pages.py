"""The web interface's pages over HTTP (no browser): who sees which page, signing in and out,
CSRF, and forms that lose nothing on a refusal. One world (tests/api/world.py) built through
the API; each person's browser is an httpx client with its cookie jar. The browser flows are
in test_flows.py."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi.routing import iter_route_contexts
from starlette.datastructures import FormData

from api.app import create_app
from api.web import is_page
from api.web.pages.collective import indicators_of
from api.web.session import CSRF_COOKIE, SESSION_COOKIE
from runtime.config import Settings
from store.tokens import create_token
from tests.api.conftest import cooperation
from tests.api.world import CLOSED, COOP, FACILITATOR, FUNDER, NEIGHBOUR, World, build
from tests.web.browser import Live, put_confirmed_contacts


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # httpx keeps Secure cookies for https only; Chromium's tests keep them on.
    # The world subscribes a webhook receiver on loopback, as an operator's allow-list permits.
    return {"web_secure_cookies": False, "webhook_allow_networks": "127.0.0.0/8"}


@dataclass
class Site:
    live: Live
    world: World

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.live.base_url, follow_redirects=False)

    async def signed_in(self, role: str, subject: str) -> httpx.AsyncClient:
        """A browser with a session of `role` and `subject`."""
        async with self.live.pool.acquire() as conn:
            _, token = await create_token(conn, role, subject, expires_in=timedelta(hours=1))  # type: ignore[arg-type]
        client = self.browser()
        client.cookies.set(SESSION_COOKIE, token)
        return client


@pytest_asyncio.fixture(scope="module")
async def site(module_live_server: Live) -> AsyncIterator[Site]:
    world = await build(module_live_server.http, module_live_server.auth, module_live_server.pool)
    yield Site(module_live_server, world)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def form_key_of(html: str) -> str:
    found = re.search(r'name="form_key" value="([^"]+)"', html)
    assert found, "no form key in the page"
    return found.group(1)


async def test_every_page_renders_for_its_people(site: Site) -> None:
    w = site.world
    coop = w.coop
    pages = {
        ("facilitator", FACILITATOR): [
            "/",
            "/?overdue=1",
            f"/cooperations/{coop}",
            f"/cooperations/{coop}/check-ins/{w.check_in}",
            f"/cooperations/{coop}/move?action=advance",
            f"/cooperations/{coop}/move?action=restart",
            f"/cooperations/{coop}/move?action=pivot",
            f"/cooperations/{coop}/move?action=close",
            f"/cooperations/{coop}/lines",
            f"/cooperations/{coop}/members",
            f"/cooperations/{coop}/invitations",
            "/register",
            "/?phase=emergence",
            "/review-queue",
            "/funds",
            "/accessibility",
        ],
        ("funder", FUNDER): ["/", "/programmes/fdt", f"/cooperations/{coop}"],
        ("collective", coop): [
            f"/cooperations/{coop}",
            f"/cooperations/{coop}/check-in",
            f"/cooperations/{coop}/request",
            f"/cooperations/{coop}/check-ins/{w.check_in}",
        ],
        ("facilitator", "pole-107"): ["/funds", f"/cooperations/{coop}"],
    }
    for (role, subject), paths in pages.items():
        async with await site.signed_in(role, subject) as browser:
            for path in paths:
                answer = await browser.get(path)
                assert answer.status_code == 200, (role, path, main_of(answer.text))
                assert answer.headers["content-type"].startswith("text/html")
                assert 'lang="fr"' in answer.text
                assert "default-src 'self'" in answer.headers["content-security-policy"]


def main_of(html: str) -> str:
    """The page's main content on one line (for assertion messages)."""
    return re.sub(r"\s+", " ", html.split("<main", 1)[-1].split("</main>", 1)[0])[:1500]


# -- who reaches which page -----------------------------------------------------------------

PEOPLE: dict[str, tuple[str, str] | None] = {
    "anonymous": None,
    "facilitator": ("facilitator", FACILITATOR),
    "other_facilitator": ("facilitator", "autre-anim"),
    "funder": ("funder", FUNDER),
    "outside_funder": ("funder", "mecene"),
    "collective": ("collective", COOP),
    "other_collective": ("collective", NEIGHBOUR),
}
"""Who browses, by column of WEB_TABLE (a collective's subject is its cooperation's name)."""


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    """With {coop}, {check_in}, {request}, {report} and {closed} filled in from the world."""
    expected: dict[str, int]
    """Status by person; 303 for anonymous is the way to the sign-in page."""


def everyone(status: int, **but: int) -> dict[str, int]:
    return {person: but.get(person, status) for person in PEOPLE}


def signed_in(status: int, **but: int) -> dict[str, int]:
    return everyone(status, anonymous=303, **but)


# Anonymous people are sent to the sign-in page; a POST without the form's CSRF token is
# refused (403) before anything is read; what is out of scope is not found (404, as the API).
COOP_PAGE = signed_in(200, other_facilitator=404, outside_funder=404, other_collective=404)
FORM_POST = signed_in(403)
WEB_TABLE: list[Row] = [
    Row(
        "GET",
        "/",
        everyone(303, facilitator=200, other_facilitator=200, funder=200, outside_funder=200),
    ),
    Row("GET", "/signin", everyone(200)),
    Row("POST", "/signin", everyone(403)),
    Row("POST", "/signin/token", everyone(403)),
    Row("GET", "/signin/{report}", everyone(410)),
    Row("POST", "/signin/{report}", everyone(403)),
    Row("GET", "/contacts/{report}", everyone(410)),
    Row("POST", "/contacts/{report}", everyone(403)),
    Row("POST", "/signout", everyone(403)),
    Row("GET", "/language/en", everyone(303)),
    Row("GET", "/accessibility", everyone(200)),
    # Each signed-in subject's own contact addresses (GET/PUT /v1/me/contacts).
    Row("GET", "/me/contacts", signed_in(200)),
    Row("POST", "/me/contacts", FORM_POST),
    Row("POST", "/me/contacts/remove", FORM_POST),
    Row("GET", "/cooperations/{coop}", COOP_PAGE),
    Row("GET", "/cooperations/{coop}/check-in", COOP_PAGE),
    Row("POST", "/cooperations/{coop}/check-in", FORM_POST),
    Row(
        "GET",
        "/cooperations/{coop}/check-ins/{check_in}",
        signed_in(200, other_facilitator=404, outside_funder=404, other_collective=404),
    ),
    Row("POST", "/cooperations/{coop}/check-ins/{check_in}", FORM_POST),
    Row("GET", "/review-queue", signed_in(403, facilitator=200, other_facilitator=200)),
    Row("GET", "/cooperations/{coop}/move", COOP_PAGE),
    Row("POST", "/cooperations/{coop}/move", FORM_POST),
    Row("GET", "/cooperations/{coop}/request", COOP_PAGE),
    Row("POST", "/cooperations/{coop}/request", FORM_POST),
    Row("POST", "/cooperations/{coop}/requests/{request}/decline", FORM_POST),
    Row("GET", "/cooperations/{coop}/lines", COOP_PAGE),
    Row("POST", "/cooperations/{coop}/lines", FORM_POST),
    Row("POST", "/cooperations/{coop}/lines/fdt/decision", FORM_POST),
    Row("GET", "/cooperations/{coop}/lines/fdt/convention", COOP_PAGE),
    Row("POST", "/cooperations/{coop}/lines/fdt/convention", FORM_POST),
    Row("POST", "/cooperations/{coop}/approvals", FORM_POST),
    Row("POST", "/cooperations/{coop}/payments", FORM_POST),
    Row("GET", "/cooperations/{coop}/members", COOP_PAGE),
    Row("POST", "/cooperations/{coop}/members", FORM_POST),
    Row("POST", "/cooperations/{coop}/members/partant/leave", FORM_POST),
    # Rule 20: a member's legal form, amendments (avenants), the end of hosting.
    Row("GET", "/cooperations/{coop}/formalise", COOP_PAGE),
    Row("POST", "/cooperations/{coop}/formalise", FORM_POST),
    Row("GET", "/cooperations/{coop}/lines/fdt/amendment", COOP_PAGE),
    Row("POST", "/cooperations/{coop}/lines/fdt/amendment", FORM_POST),
    Row("POST", "/cooperations/{coop}/lines/fdt/amendment/decision", FORM_POST),
    Row("POST", "/cooperations/{coop}/hosting/end", FORM_POST),
    # Issue 19: the facilitator registers a cooperation and invites its collective.
    Row("GET", "/register", signed_in(403, facilitator=200, other_facilitator=200)),
    Row("POST", "/register", FORM_POST),
    Row(
        "GET",
        "/cooperations/{coop}/invitations",
        signed_in(
            403,
            facilitator=200,
            other_facilitator=404,
            outside_funder=404,
            other_collective=404,
        ),
    ),
    Row("POST", "/cooperations/{coop}/invitations", FORM_POST),
    Row("GET", "/funds", signed_in(403, facilitator=200, other_facilitator=200)),
    Row(
        "GET",
        "/programmes/fdt",
        signed_in(403, funder=200, outside_funder=403),
    ),
    # The funder's set-up (issue 19): its programme's pages are its own (the API's 403 for
    # anyone else); webhooks are for funders and facilitators.
    Row("GET", "/new/programme", signed_in(403, funder=200, outside_funder=200)),
    Row("POST", "/new/programme", FORM_POST),
    Row("GET", "/new/programme/yaml", signed_in(403, funder=200, outside_funder=200)),
    Row("POST", "/new/programme/yaml", FORM_POST),
    Row("GET", "/programmes/fdt/edit", signed_in(403, funder=200)),
    Row("POST", "/programmes/fdt/edit", FORM_POST),
    Row("GET", "/programmes/fdt/yaml", signed_in(403, funder=200)),
    Row("POST", "/programmes/fdt/yaml", FORM_POST),
    Row("GET", "/programmes/fdt/spec.yaml", signed_in(403, funder=200)),
    Row("GET", "/programmes/fdt/versions", signed_in(403, funder=200)),
    Row("GET", "/programmes/fdt/budget", signed_in(403, funder=200)),
    Row("POST", "/programmes/fdt/budget", FORM_POST),
    Row("POST", "/cooperations/{coop}/repayments", FORM_POST),
    Row("POST", "/cooperations/{coop}/write-offs", FORM_POST),
    Row("GET", "/webhooks", signed_in(200, collective=403, other_collective=403)),
    Row("POST", "/webhooks", FORM_POST),
    Row("GET", "/webhooks/nope", signed_in(404)),
    Row("POST", "/webhooks/nope/deliveries/1/retry", FORM_POST),
    Row("POST", "/webhooks/nope/delete", FORM_POST),
    Row(
        "GET",
        "/cooperations/{closed}/reports/{report}",
        signed_in(404, facilitator=200, funder=200),
    ),
]


async def test_every_page_answers_each_person_as_the_table_says(site: Site) -> None:
    w = site.world
    values = {
        "coop": w.coop,
        "closed": w.ids[CLOSED],
        "check_in": w.check_in,
        "request": str(w.request),
        "report": w.report,
    }
    wrong: list[str] = []
    for person, who in PEOPLE.items():
        if who is None:
            browser = site.browser()
        else:
            role, subject = who
            browser = await site.signed_in(role, w.ids.get(subject, subject))
        async with browser:
            for row in WEB_TABLE:
                path = row.path.format(**values)
                answer = await browser.request(
                    row.method, path, data={"x": "1"} if row.method == "POST" else None
                )
                expected = row.expected[person]
                if answer.status_code != expected:
                    wrong.append(
                        f"{person} {row.method} {path}: {answer.status_code}, not {expected}"
                    )
                elif (
                    expected == 303
                    and person == "anonymous"
                    and row.path not in ("/", "/language/en")
                ):
                    assert answer.headers["location"].startswith("/signin?next=")
    assert wrong == [], "\n".join(wrong)


def test_every_web_route_is_in_the_table() -> None:
    app = create_app(Settings(public_url="http://t"))
    # Every route, those of included routers too (app.routes alone may not list them).
    served = {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if is_page(route.path)
        for method in route.methods or ()
        if method != "HEAD"
    }
    tabled = {(row.method, _template(row.path)) for row in WEB_TABLE}
    assert len(served) > 20
    assert served - tabled == set(), "web routes without a row in WEB_TABLE"


def _template(path: str) -> str:
    """A row's path as the route declares it."""
    return (
        path.replace("/cooperations/{coop}", "/cooperations/{cooperation_id}")
        .replace("/cooperations/{closed}", "/cooperations/{cooperation_id}")
        .replace("/check-ins/{check_in}", "/check-ins/{check_in_id}")
        .replace("/requests/{request}", "/requests/{seq}")
        .replace("/signin/{report}", "/signin/{link}")
        .replace("/contacts/{report}", "/contacts/{link}")
        .replace("/reports/{report}", "/reports/{report_id}")
        .replace("/lines/fdt/", "/lines/{programme}/")
        .replace("/members/partant/", "/members/{member}/")
        .replace("/programmes/fdt", "/programmes/{programme_id}")
        .replace("/language/en", "/language/{locale}")
        .replace("/webhooks/nope", "/webhooks/{webhook_id}")
        .replace("/deliveries/1/", "/deliveries/{delivery_id}/")
    )


# -- signing in and out ---------------------------------------------------------------------


async def _signin_form(browser: httpx.AsyncClient) -> str:
    answer = await browser.get("/signin")
    assert answer.status_code == 200
    assert CSRF_COOKIE in browser.cookies
    return csrf_of(answer.text)


async def test_an_e_mailed_link_signs_in_once_and_unknown_addresses_learn_nothing(
    site: Site,
) -> None:
    w = site.world
    address = f"collectif-{w.coop}@example.org"
    await put_confirmed_contacts(site.live, w.collectives[COOP], address)
    async with site.browser() as browser:
        csrf = await _signin_form(browser)
        sent = await browser.post("/signin", data={"csrf": csrf, "email": address.upper()})
        assert sent.status_code == 200 and address.upper() in sent.text
        unknown = await browser.post("/signin", data={"csrf": csrf, "email": "x@example.org"})
        # The same page: nobody learns whether an address is a contact.
        assert unknown.status_code == 200
        assert main_of(unknown.text).replace("x@example.org", "") == main_of(sent.text).replace(
            address.upper(), ""
        )

        mail = await site.live.mailbox.next(address)
        link = mail.link("/signin/")
        assert link.startswith(site.live.base_url)
        path = link.removeprefix(site.live.base_url)
        # Opening the link (as a mail scanner would) does not use it up.
        for _ in range(2):
            shown = await browser.get(path)
            assert shown.status_code == 200 and 'method="post"' in shown.text
        used = await browser.post(path, data={"csrf": csrf_of(shown.text)})
        assert used.status_code == 303 and SESSION_COOKIE in browser.cookies
        home = await browser.get("/")
        assert home.headers["location"] == f"/cooperations/{w.coop}"
        again = await browser.post(path, data={"csrf": csrf_of(shown.text)})
        assert again.status_code == 410
    assert not any("x@example.org" in m.to for m in site.live.mailbox.messages)


async def test_an_operator_token_opens_a_session_that_signing_out_ends_and_the_token_survives(
    site: Site,
) -> None:
    headers = site.world.headers["facilitator"]
    token = headers["Authorization"].removeprefix("Bearer ")
    async with site.browser() as browser:
        csrf = await _signin_form(browser)
        wrong = await browser.post("/signin/token", data={"csrf": csrf, "token": "cf_nope"})
        assert wrong.status_code == 401 and 'aria-invalid="true"' in wrong.text
        asked = await browser.get("/review-queue")
        assert asked.headers["location"] == "/signin?next=%2Freview-queue"
        back = re.search(
            r'name="back" value="([^"]+)"', (await browser.get(asked.headers["location"])).text
        )
        assert back and back.group(1) == "/review-queue"
        opened = await browser.post(
            "/signin/token", data={"csrf": csrf, "token": token, "back": back.group(1)}
        )
        assert opened.status_code == 303 and opened.headers["location"] == "/review-queue"
        session = browser.cookies[SESSION_COOKIE]
        assert session != token, "the operator's token itself never goes to the browser"
        assert (await browser.get("/review-queue")).status_code == 200
        page = await browser.get("/review-queue")
        out = await browser.post("/signout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
    async with site.browser() as stolen:
        stolen.cookies.set(SESSION_COOKIE, session)
        after = await stolen.get("/review-queue")
        assert after.status_code == 303 and after.headers["location"].startswith("/signin")
    assert (await site.live.http.get("/v1/me", headers=headers)).status_code == 200


async def test_an_expired_session_signs_in_again(site: Site) -> None:
    async with site.live.pool.acquire() as conn:
        _, token = await create_token(
            conn, "facilitator", FACILITATOR, expires_in=timedelta(seconds=-1)
        )
    async with site.browser() as browser:
        browser.cookies.set(SESSION_COOKIE, token)
        answer = await browser.get("/review-queue")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/signin?next=%2Freview-queue"
    # Sessions expired a day ago are forgotten when the next one opens.
    async with site.live.pool.acquire() as conn:
        old, _ = await create_token(conn, "facilitator", FACILITATOR, expires_in=timedelta(days=-2))
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        csrf = await _signin_form(browser)
        token = site.world.headers["facilitator"]["Authorization"].removeprefix("Bearer ")
        opened = await browser.post("/signin/token", data={"csrf": csrf, "token": token})
        assert opened.status_code == 303
    async with site.live.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM tokens WHERE id = $1", old.id) == 0


async def test_a_form_from_elsewhere_is_refused(site: Site) -> None:
    async with await site.signed_in("collective", site.world.coop) as browser:
        form = await browser.get(f"/cooperations/{site.world.coop}/check-in")
        csrf = csrf_of(form.text)
        body = {"csrf": csrf, "narrative": "Un point"}
        path = f"/cooperations/{site.world.coop}/check-in"
        forged = await browser.post(path, data={**body, "csrf": "another"})
        assert forged.status_code == 403
        elsewhere = await browser.post(path, data=body, headers={"origin": "https://evil.test"})
        assert elsewhere.status_code == 403
        check_ins = await site.live.http.get(
            f"/v1/cooperations/{site.world.coop}/check-ins", headers=site.world.collectives[COOP]
        )
        assert all(k["narrative"] != "Un point" for k in check_ins.json())


async def test_a_refused_check_in_keeps_everything_typed_and_names_the_field(site: Site) -> None:
    async with await site.signed_in("collective", site.world.coop) as browser:
        path = f"/cooperations/{site.world.coop}/check-in"
        form = await browser.get(path)
        answer = await browser.post(
            path,
            data={
                "csrf": csrf_of(form.text),
                "form_key": form_key_of(form.text),
                "narrative": "",
                "needs": "Un local pour l'hiver",
                "indicator_name_0": "participants",
                "indicator_value_0": "23",
                "indicator_value_1": "41",
            },
        )
        assert answer.status_code == 422
        html = answer.text
        assert 'href="#narrative"' in html and 'href="#indicator_name_1"' in html
        assert 'value="participants"' in html and 'value="23"' in html and 'value="41"' in html
        assert "Un local pour l&#39;hiver" in html
        assert 'id="narrative" name="narrative" rows="8" required aria-describedby=' in html


# -- what each person does through the pages ------------------------------------------------


async def _post_form(
    browser: httpx.AsyncClient, shown_at: str, sent_to: str, /, **fields: str
) -> Any:
    """The form of the page at `shown_at` sent to `sent_to` with `fields`, as a browser would:
    with the page's CSRF token and form key."""
    shown = await browser.get(shown_at)
    assert shown.status_code == 200, main_of(shown.text)
    data = {"csrf": csrf_of(shown.text), "form_key": form_key_of(shown.text), **fields}
    return await browser.post(sent_to, data=data)


async def test_a_story_of_pivots_restarts_and_pauses_is_told_with_its_milestones(
    site: Site,
) -> None:
    coop = f"histoire-{uuid.uuid4().hex[:6]}"
    anim = site.world.headers["facilitator"]
    api = site.live.http
    members = [{"id": "asso", "name": "Association du lieu", "legal_form": "association"}]
    body = cooperation(coop, [], members=members, fiscal_host=None, facilitator=FACILITATOR)
    assert (await api.post("/v1/cooperations", json=body, headers=anim)).status_code == 201
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        moves = [
            {"action": "advance"},
            {"action": "pivot", "objectives": "Atelier vélo", "reason": "Nouveau local"},
            {"action": "restart", "to": "emergence", "reason": "Le groupe a changé"},
            {"action": "pause", "reason": "Saison des récoltes"},
            {"action": "resume"},
        ]
        for move in moves:
            preview = await _post_form(
                browser,
                f"/cooperations/{coop}/move?action={move['action']}",
                f"/cooperations/{coop}/move",
                step="preview",
                **move,
            )
            assert preview.status_code == 200, main_of(preview.text)
            assert "Ce qui va se passer" in preview.text
            done = await browser.post(
                f"/cooperations/{coop}/move",
                data={
                    "csrf": csrf_of(preview.text),
                    "form_key": form_key_of(preview.text),
                    "step": "confirm",
                    **move,
                },
            )
            assert done.status_code == 303, main_of(done.text)
    async with await site.signed_in("collective", coop) as browser:
        # Read again until the log holds the last move (the projection follows the workflow).
        for _ in range(100):
            story = (await browser.get(f"/cooperations/{coop}")).text
            if "<strong>Reprise</strong>" in story:
                break
            await asyncio.sleep(0.1)
    milestones = re.findall(r'<li class="milestone">(.*?)</li>', story, re.S)
    told = [re.sub(r"\s+", " ", m) for m in milestones]

    def where(label: str) -> int:
        return next(i for i, m in enumerate(told) if f"<strong>{label}</strong>" in m)

    # Told newest first, each move a milestone of the story with the reason given.
    assert where("Reprise") < where("Pause") < where("Redémarrage") < where("Réorientation")
    assert "redémarre : retour à la phase d&#39;émergence" in told[where("Redémarrage")]
    assert "Le groupe a changé" in told[where("Redémarrage")]
    assert "Nouveau local" in told[where("Réorientation")]
    assert "Saison des récoltes" in told[where("Pause")]
    assert "<strong>Coopération enregistrée</strong>" in told[-1]


async def test_a_transition_without_its_reason_is_asked_again_and_nothing_moves(
    site: Site,
) -> None:
    coop = site.world.coop
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        answer = await _post_form(
            browser,
            f"/cooperations/{coop}/move?action=pivot",
            f"/cooperations/{coop}/move",
            step="confirm",
            action="pivot",
            objectives="Un nouveau cap",
        )
        assert answer.status_code == 422
        assert "Donnez le motif de cette transition." in answer.text
        assert "Un nouveau cap" in answer.text
    summary = await site.live.http.get(
        f"/v1/cooperations/{coop}", headers=site.world.headers["facilitator"]
    )
    assert summary.json()["stint"]["number"] == 1


async def test_a_refused_move_shows_the_rules_refusal_before_anything_is_sent(site: Site) -> None:
    closed = site.world.ids[CLOSED]
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        answer = await _post_form(
            browser,
            f"/cooperations/{closed}/move?action=advance",
            f"/cooperations/{closed}/move",
            step="preview",
            action="advance",
        )
    assert answer.status_code == 422
    assert "closed" in main_of(answer.text)


async def test_a_line_proposed_from_its_page_waits_in_the_funders_inbox_and_an_approval_releases(
    site: Site,
) -> None:
    w = site.world
    async with await site.signed_in("facilitator", FACILITATOR) as facilitator:
        proposed = await _post_form(
            facilitator,
            f"/cooperations/{w.coop}/lines",
            f"/cooperations/{w.coop}/lines",
            programme="fdt-bis",
            angle="Un lieu pour réparer ensemble",
        )
        assert proposed.status_code == 303, main_of(proposed.text)
        again = await _post_form(
            facilitator,
            f"/cooperations/{w.coop}/lines",
            f"/cooperations/{w.coop}/lines",
            programme="fdt-bis",
        )
        # Proposed already: the rules' refusal, on the form kept as it was.
        assert again.status_code == 422 and 'role="alert"' in again.text
    async with await site.signed_in("funder", FUNDER) as funder:
        inbox = await funder.get("/programmes/fdt-bis")
        assert f"/cooperations/{w.coop}/lines/fdt-bis/decision" in inbox.text
        approvals = await funder.get("/programmes/fdt")
        assert "Approuver la tranche feu-vert" in approvals.text
        approved = await _post_form(
            funder,
            "/programmes/fdt",
            f"/cooperations/{w.coop}/approvals",
            line="fdt",
            tranche="feu-vert",
            back="/programmes/fdt",
        )
        assert approved.status_code == 303
        assert approved.headers["location"] == "/programmes/fdt?done=approved"
    line = await site.live.http.get(
        f"/v1/cooperations/{w.coop}/funding-lines/fdt", headers=w.headers["funder"]
    )
    statuses = {t["tranche"]: t["status"] for t in line.json()["tranches"]}
    assert statuses["feu-vert"] == "released"


async def test_members_join_and_leave_through_their_page(site: Site) -> None:
    w = site.world
    page = f"/cooperations/{w.coop}/members"
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        joined = await _post_form(
            browser, page, page, id="amap-bourg", name="AMAP du Bourg", legal_form="association"
        )
        assert joined.status_code == 303
        listed = await browser.get(joined.headers["location"])
        assert "AMAP du Bourg" in listed.text and "Le membre a rejoint" in listed.text
        bad = await _post_form(browser, page, page, id="Pas Un Id", name="X", legal_form="y")
        assert bad.status_code == 422 and 'value="Pas Un Id"' in bad.text
        left = await _post_form(browser, page, f"{page}/amap-bourg/leave")
        assert left.status_code == 303
        assert "AMAP du Bourg" not in (await browser.get(page)).text


async def test_a_report_is_read_in_html_and_downloaded_in_markdown(site: Site) -> None:
    w = site.world
    path = f"/cooperations/{w.ids[CLOSED]}/reports/{w.report}"
    async with await site.signed_in("funder", FUNDER) as browser:
        listed = await browser.get(f"/cooperations/{w.ids[CLOSED]}")
        assert path in listed.text
        html = await browser.get(path)
        assert html.status_code == 200 and html.text.startswith("<!DOCTYPE html>")
        markdown = await browser.get(f"{path}?format=markdown")
        assert markdown.headers["content-type"].startswith("text/markdown")
        assert markdown.headers["content-disposition"] == f'attachment; filename="{w.report}.md"'
        assert markdown.text.startswith("#")


async def test_a_page_that_does_not_exist_is_a_page_and_the_api_keeps_its_problems(
    site: Site,
) -> None:
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        for path in ("/nowhere", f"/cooperations/{site.world.coop}/requests/abc/decline"):
            method = "POST" if path.endswith("decline") else "GET"
            answer = await browser.request(method, path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"].startswith("text/html")
            assert "Cette page n&#39;existe pas" in answer.text
        api = await browser.get("/v1/nowhere")
        assert api.status_code == 404
        assert api.headers["content-type"] == "application/problem+json"


def test_indicators_are_numbers_where_they_read_as_numbers() -> None:
    form = FormData(
        [
            ("indicator_name_0", "participants"),
            ("indicator_value_0", "1 234"),
            ("indicator_name_1", "heures"),
            ("indicator_value_1", "12,5"),
            ("indicator_name_2", "humeur"),
            ("indicator_value_2", "nan"),
            ("indicator_name_3", "lieu"),
            ("indicator_value_3", "la grange"),
            ("indicator_value_4", "7"),
        ]
    )
    indicators, errors = indicators_of(form)
    assert indicators == {
        "participants": 1234,
        "heures": 12.5,
        "humeur": "nan",
        "lieu": "la grange",
    }
    assert errors == {"indicator_name_4": "web.check_in.indicator_unnamed"}
