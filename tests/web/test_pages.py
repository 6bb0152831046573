"""The web interface's pages over HTTP (no browser): every page renders for its people, and
who reaches which page (WEB_TABLE, every web route in it). One world (tests/api/world.py) built
through the API (tests/web/pages_site.py); signing in is in test_pages_signing_in.py, what each
person does through the pages in test_pages_actions.py, the browser flows in test_flows*.py."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.routing import iter_route_contexts

from api.app import create_app
from api.web import is_page
from runtime.config import Settings
from tests.api.world import CLOSED, COOP, FACILITATOR, FUNDER, NEIGHBOUR
from tests.web.pages_site import Site, live_settings, main_of, site

__all__ = ["live_settings", "site"]


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
