"""The web interface's pages over HTTP (no browser): who sees which page, signing in and out,
CSRF, and forms that lose nothing on a refusal. One world (tests/api/world.py) built through
the API; each person's browser is an httpx client with its cookie jar. The browser flows are
in test_flows.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi.routing import APIRoute

from api.app import create_app
from api.web.session import CSRF_COOKIE, SESSION_COOKIE
from runtime.config import Settings
from store.tokens import create_token
from tests.api.test_authorization_matrix import web_page
from tests.api.world import CLOSED, COOP, FACILITATOR, FUNDER, NEIGHBOUR, World, build
from tests.web.browser import Live


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # httpx keeps Secure cookies for https only; Chromium's tests keep them on.
    return {"web_secure_cookies": False}


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
    Row("POST", "/signout", everyone(403)),
    Row("GET", "/language/en", everyone(303)),
    Row("GET", "/accessibility", everyone(200)),
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
    Row("POST", "/cooperations/{coop}/approvals", FORM_POST),
    Row("GET", "/cooperations/{coop}/members", COOP_PAGE),
    Row("POST", "/cooperations/{coop}/members", FORM_POST),
    Row("POST", "/cooperations/{coop}/members/partant/leave", FORM_POST),
    Row("GET", "/funds", signed_in(403, facilitator=200, other_facilitator=200)),
    Row(
        "GET",
        "/programmes/fdt",
        signed_in(403, funder=200, outside_funder=403),
    ),
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
    app = create_app(Settings())
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and web_page(route.path)
        for method in route.methods
        if method != "HEAD"
    }
    tabled = {(row.method, _template(row.path)) for row in WEB_TABLE}
    assert served - tabled == set(), "web routes without a row in WEB_TABLE"


def _template(path: str) -> str:
    """A row's path as the route declares it."""
    return (
        path.replace("/cooperations/{coop}", "/cooperations/{cooperation_id}")
        .replace("/cooperations/{closed}", "/cooperations/{cooperation_id}")
        .replace("/check-ins/{check_in}", "/check-ins/{check_in_id}")
        .replace("/requests/{request}", "/requests/{seq}")
        .replace("/signin/{report}", "/signin/{link}")
        .replace("/reports/{report}", "/reports/{report_id}")
        .replace("/lines/fdt/", "/lines/{programme}/")
        .replace("/members/partant/", "/members/{member}/")
        .replace("/programmes/fdt", "/programmes/{programme_id}")
        .replace("/language/en", "/language/{locale}")
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
    api = site.live.http
    put = await api.put("/v1/me/contacts", json={"emails": [address]}, headers=w.collectives[COOP])
    assert put.status_code == 200, put.text
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
        opened = await browser.post("/signin/token", data={"csrf": csrf, "token": token})
        assert opened.status_code == 303
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
