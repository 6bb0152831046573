"""Hostile input and what every answer carries, on the live stack (the app over TCP, its
worker, PostgreSQL, Temporal): a NUL byte or a lone surrogate in a path, a query or a body
(JSON, YAML, a web form) is 400 or 422, never 500; bodies nested past 64 levels (10,000
deep, YAML aliases) are 400 before any parser recurses; every answer says nosniff, every HTML
page has its Content-Security-Policy with frame-ancestors 'none', HSTS when cookies are
Secure; /docs loads nothing from another host; /healthz names what is down, never an error's
text; a collective's one-word reasons cannot widen another person's page."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page
from temporalio.client import Client

from api.guard import HSTS
from api.web.session import SESSION_COOKIE
from runtime.connect import DOWN
from runtime.localstack import free_port
from tests.api.conftest import cooperation, programme
from tests.web.browser import (
    Live,
    Mailbox,
    assert_accessible,
    live,
    no_third_party,
    page_errors,
)
from tests.web.conftest import browser, page, viewport

__all__ = ["browser", "page", "viewport"]

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # httpx keeps Secure cookies for https only (the forms' CSRF cookie); HSTS with Secure
    # cookies is its own test, on a server of its own.
    return {"web_secure_cookies": False}


@dataclass
class World:
    live: Live
    coop: str
    facilitator: str
    anim: dict[str, str]
    collective: dict[str, str]
    funder: dict[str, str]

    @property
    def http(self) -> httpx.AsyncClient:
        return self.live.http


@pytest_asyncio.fixture(scope="module")
async def world(module_live_server: Live) -> AsyncIterator[World]:
    live_ = module_live_server
    suffix = uuid.uuid4().hex[:6]
    facilitator, coop = f"anim-{suffix}", f"ruche-{suffix}"
    anim = await live_.auth("facilitator", facilitator)
    body = cooperation(coop, [], facilitator=facilitator, fiscal_host=facilitator)
    made = await live_.http.post("/v1/cooperations", json=body, headers=anim)
    assert made.status_code == 201, made.text
    yield World(
        live=live_,
        coop=coop,
        facilitator=facilitator,
        anim=anim,
        collective=await live_.auth("collective", coop),
        funder=await live_.auth("funder", f"fondation-{suffix}"),
    )


def assert_refused(answer: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A problem+json refusal (400 or 422 unless said), never a 500."""
    assert answer.status_code in (statuses or (400, 422)), (answer.status_code, answer.text)
    assert answer.headers["content-type"] == PROBLEM, answer.headers
    body: dict[str, Any] = answer.json()
    assert body["status"] == answer.status_code
    return body


def fields_of(body: dict[str, Any]) -> list[str]:
    return [e["path"] for e in body.get("errors", [])]


# -- NUL and lone surrogates ---------------------------------------------------------------

FIVE = ("", "/check-ins", "/funding-lines", "/members", "/schedule")
"""Endpoints whose path id went to PostgreSQL as it came (a NUL there was a 500)."""
BAD_IDS = ("nul%00byte", "%00", "%ED%A0%80", "lone%ED%B0%80low", "stray%FF")


async def test_a_nul_or_a_lone_surrogate_in_a_path_id_is_400_on_every_endpoint(
    world: World,
) -> None:
    for suffix in FIVE:
        for bad in BAD_IDS:
            path = f"/v1/cooperations/{bad}{suffix}"
            body = assert_refused(await world.http.get(path, headers=world.anim), 400)
            assert "path" in body["detail"], path
            # The answer never echoes the NUL (nor stray bytes) back.
            assert "\x00" not in json.dumps(body) and "\\u0000" not in json.dumps(body)
    for path in ("/v1/programmes/nul%00byte", "/v1/programmes/%ED%A0%80/versions"):
        assert_refused(await world.http.get(path, headers=world.funder), 400)
    # A POST too, Idempotency-Key and all: refused, and the key's record holds no NUL.
    post = await world.http.post(
        "/v1/cooperations/nul%00byte/transition-requests",
        json={"action": "pause", "reason": "r"},
        headers={**world.collective, "Idempotency-Key": "nul-path"},
    )
    assert_refused(post, 400)
    # The same ids, spelled right, reach the routes: not found.
    assert (
        await world.http.get("/v1/cooperations/nul-byte", headers=world.anim)
    ).status_code == 404


async def test_a_page_with_a_nul_in_its_path_is_a_page_refusing_it(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.live.base_url) as browser_:
        browser_.cookies.set(SESSION_COOKIE, world.anim["Authorization"].removeprefix("Bearer "))
        for path in ("/cooperations/nul%00byte", "/cooperations/%ED%A0%80/members"):
            answer = await browser_.get(path)
            assert answer.status_code == 400, path
            assert answer.headers["content-type"].startswith("text/html")
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
            assert "\x00" not in answer.text


async def test_a_nul_or_a_lone_surrogate_in_a_query_is_400_naming_the_parameter(
    world: World,
) -> None:
    cases = {
        "/v1/cooperations?programme=a%00b": "programme",
        "/v1/cooperations?phase=%ED%A0%80": "phase",
        "/v1/cooperations?cursor=%00": "cursor",
        f"/v1/cooperations/{world.coop}/events?after=1%00": "after",
        "/v1/programmes?funder=%ED%BF%BF": "funder",
        "/v1/cooperations?%00=1": "",
    }
    for path, name in cases.items():
        body = assert_refused(await world.http.get(path, headers=world.anim), 400)
        assert fields_of(body) == [name], (path, body)
    # Real text in a query is text.
    ok = await world.http.get("/v1/cooperations?programme=caf%C3%A9", headers=world.anim)
    assert ok.status_code == 200, ok.text


async def test_a_nul_or_a_lone_surrogate_in_a_json_body_is_422_naming_where(
    world: World,
) -> None:
    asked = f"/v1/cooperations/{world.coop}/transition-requests"
    cases: list[tuple[bytes, str, str]] = [
        (b'{"action": "pause", "reason": "a\\u0000b"}', "reason", "NUL"),
        (b'{"action": "pause", "reason": "\\ud800"}', "reason", "lone surrogate"),
        (b'{"action": "pause", "reason": "\\udfff tail"}', "reason", "lone surrogate"),
        # A bad key is named by its position, never repeated.
        (b'{"action": "pause", "reason": "r", "\\ud800": 1}', "", "key #3"),
        (b'{"action": "pause", "reason": "r", "x\\u0000": 1}', "", "key #3"),
    ]
    for raw, where, why in cases:
        answer = await world.http.post(
            asked, content=raw, headers={**world.collective, "content-type": "application/json"}
        )
        body = assert_refused(answer, 422)
        assert fields_of(body) == [where], (raw, body)
        assert why in body["errors"][0]["message"], body
    # A surrogate pair is a character, an escaped backslash before u0000 is text: both pass
    # the guard (the rules then take the request).
    fine = await world.http.post(
        asked,
        content=b'{"action": "pause", "reason": "\\ud83c\\udf3b \\\\u0000"}',
        headers={**world.collective, "content-type": "application/json"},
    )
    assert fine.status_code == 201, fine.text
    # Raw bytes that are not UTF-8 (a surrogate's encoding, a NUL) do not parse: 400.
    for raw in (b'{"action": "pause", "reason": "\xed\xa0\x80"}', b'{"reason": "a\x00"}'):
        answer = await world.http.post(
            asked, content=raw, headers={**world.collective, "content-type": "application/json"}
        )
        assert_refused(answer, 400)
    # Elsewhere too: a webhook's URL, a programme's name, deep in a spec.
    hook = await world.http.post(
        "/v1/webhooks",
        content=b'{"url": "https://example.org/\\u0000", "secret": "s3cret-s3cret-s3cret"}',
        headers={**world.anim, "content-type": "application/json"},
    )
    assert fields_of(assert_refused(hook, 422)) == ["url"]
    spec = programme(f"p-{uuid.uuid4().hex[:6]}", "fondation")
    spec["phases"]["emergence"]["tranches"][0]["purpose"] = "\ud800"
    raw = json.dumps(spec).encode()  # ensure_ascii: the surrogate as an escape
    made = await world.http.post(
        "/v1/programmes", content=raw, headers={**world.funder, "content-type": "application/json"}
    )
    body = assert_refused(made, 422)
    assert fields_of(body) == ["phases.emergence.tranches.0.purpose"]
    assert body["errors"][0]["pointer"] == "/phases/emergence/tranches/0/purpose"


async def test_a_nul_or_a_lone_surrogate_in_a_yaml_spec_is_422_naming_where(
    world: World,
) -> None:
    yaml_headers = {**world.funder, "content-type": "application/yaml"}
    cases = {
        b'id: p\nname: "Fonds\\0"\n': ("name", "NUL"),
        b'id: p\nname: "Fonds\\x00"\n': ("name", "NUL"),
        b'id: p\nphases:\n  emergence:\n    tranches:\n      - {id: "t\\0"}\n': (
            "phases.emergence.tranches.0.id",
            "NUL",
        ),
        b'id: p\nphases:\n  "\\0": {}\n': ("phases", "key #1"),
    }
    for raw, (where, why) in cases.items():
        body = assert_refused(
            await world.http.post("/v1/programmes", content=raw, headers=yaml_headers), 422
        )
        assert fields_of(body) == [where], (raw, body)
        assert why in body["errors"][0]["message"]
    # An escaped lone surrogate is not YAML (libyaml refuses it): 400, as any bad YAML.
    for raw in (b'id: "t\\ud800"\n', b'phases:\n  "\\uDC00": {}\n'):
        answer = await world.http.post("/v1/programmes", content=raw, headers=yaml_headers)
        assert "not valid application/yaml" in assert_refused(answer, 400)["detail"]


async def test_a_web_form_with_a_nul_or_a_lone_surrogate_is_refused_as_a_page(
    world: World,
) -> None:
    async with httpx.AsyncClient(base_url=world.live.base_url) as person:
        person.cookies.set(
            SESSION_COOKIE, world.collective["Authorization"].removeprefix("Bearer ")
        )
        shown = await person.get(f"/cooperations/{world.coop}/request")
        assert shown.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', shown.text)
        assert csrf
        for reason in ("a%00b", "%ED%A0%80", "ok%ED%B3%BF"):
            sent = await person.post(
                f"/cooperations/{world.coop}/request",
                content=f"csrf={csrf.group(1)}&action=close&reason={reason}".encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert sent.status_code == 422, (reason, sent.text[:500])
            assert sent.headers["content-type"].startswith("text/html")
            assert "(reason)" in sent.text
            assert "frame-ancestors 'none'" in sent.headers["content-security-policy"]
        # The same as multipart: refused before Starlette's parser hands it on.
        for reason in ("a\x00b", "\ud800"):
            sent = await person.post(
                f"/cooperations/{world.coop}/request",
                files={"reason": (None, reason.encode("utf-8", "surrogatepass"))},
                data={"csrf": csrf.group(1), "action": "close"},
            )
            assert sent.status_code == 400, (reason, sent.text[:500])
            assert sent.headers["content-type"].startswith("text/html")
        # A sign-in address with a NUL, as a form of either kind: refused, never a 500.
        for form in (
            {"content": b"email=a%00%40example.org"},
            {"files": {"email": (None, b"a\x00@example.org")}},
        ):
            headers = (
                {"content-type": "application/x-www-form-urlencoded"} if "content" in form else {}
            )
            sent = await person.post("/signin", headers=headers, **form)  # type: ignore[arg-type]
            assert sent.status_code in (400, 422), sent.text[:300]
    asked = await world.http.get(
        f"/v1/cooperations/{world.coop}/transition-requests", headers=world.anim
    )
    assert [r for r in asked.json() if r["action"] == "close"] == []


# -- depth ----------------------------------------------------------------------------------


def nested(levels: int, leaf: bytes = b"1") -> dict[str, bytes]:
    """A body `levels` deep, three ways."""
    opening = [b'{"a":' if i % 2 else b"[" for i in range(levels)]
    closing = [b"}" if i % 2 else b"]" for i in reversed(range(levels))]
    return {
        "arrays": b"[" * levels + leaf + b"]" * levels,
        "objects": b'{"a":' * levels + leaf + b"}" * levels,
        "mixed": b"".join(opening) + leaf + b"".join(closing),
    }


async def test_bodies_nested_10000_deep_are_400_on_every_json_route(world: World) -> None:
    routes = {
        "/v1/programmes": world.funder,
        "/v1/webhooks": world.anim,
        "/v1/cooperations": world.anim,
        f"/v1/cooperations/{world.coop}/transition-requests": world.collective,
        f"/v1/cooperations/{world.coop}/check-ins": world.collective,
    }
    for path, headers in routes.items():
        for shape, raw in nested(10_000).items():
            answer = await world.http.post(
                path, content=raw, headers={**headers, "content-type": "application/json"}
            )
            body = assert_refused(answer, 400)
            assert "nested more than 64 levels" in body["detail"], (path, shape)
        # Without a Content-Type, read as JSON all the same.
        bare = await world.http.post(path, content=nested(10_000)["arrays"], headers=headers)
        assert_refused(bare, 400)
    # The web's forms, sent JSON in place of a form: refused the same way, as a page.
    page_ = await world.http.post(
        "/signin", content=nested(10_000)["objects"], headers={"content-type": "application/json"}
    )
    assert page_.status_code == 400
    assert page_.headers["content-type"].startswith("text/html")


async def test_sixty_four_levels_pass_and_sixty_five_do_not(world: World) -> None:
    headers = {**world.funder, "content-type": "application/json"}
    for shape, raw in nested(64).items():
        fits = await world.http.post("/v1/programmes", content=raw, headers=headers)
        # Past the guard, the spec's own validation answers (a list or a number is no spec).
        assert fits.status_code == 422, (shape, fits.text)
    for raw in nested(65).values():
        assert_refused(await world.http.post("/v1/programmes", content=raw, headers=headers), 400)
    # Brackets inside strings are text, not depth.
    text = json.dumps({"id": "x", "name": "[" * 5000}).encode()
    assert (
        await world.http.post("/v1/programmes", content=text, headers=headers)
    ).status_code == 422


async def test_yaml_bombs_are_400(world: World) -> None:
    yaml_headers = {**world.funder, "content-type": "application/yaml"}
    laughs = [b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[level]
        laughs.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]".encode())
    bombs = {
        "flow 10,000 deep": b"[" * 10_000 + b"]" * 10_000,
        "block 100 deep": b"".join(b"  " * i + b"k:\n" for i in range(100)) + b"  " * 100 + b"v",
        "billion laughs": b"\n".join(laughs) + b"\n",
        "depth through aliases": b"a: &a "
        + b"[" * 40
        + b"]" * 40
        + b"\nb: "
        + b"[" * 30
        + b"*a"
        + b"]" * 30
        + b"\n",
        "an alias to itself": b"a: &a [1, *a]\n",
    }
    for name, raw in bombs.items():
        answer = await world.http.post("/v1/programmes", content=raw, headers=yaml_headers)
        assert_refused(answer, 400)
        assert answer.json()["detail"].startswith("the body"), (name, answer.json())
    # Anchors and aliases as people use them still read.
    reused = (
        b"id: p\nname: P\nfunder: f\nx: &tranche {id: t, amount: '1.00'}\ny: [*tranche, *tranche]\n"
    )
    answer = await world.http.post("/v1/programmes", content=reused, headers=yaml_headers)
    assert answer.status_code == 422  # the spec's own fields, past the guard
    assert all("key #" not in e["message"] for e in answer.json().get("errors", []))


# -- headers --------------------------------------------------------------------------------


async def _every_kind_of_answer(live_: Live, headers: dict[str, str]) -> dict[str, httpx.Response]:
    http = live_.http
    return {
        "api json": await http.get("/v1/me", headers=headers),
        "problem 401": await http.get("/v1/me"),
        "api 404": await http.get("/v1/nowhere", headers=headers),
        "guard 400": await http.get("/v1/cooperations/%00", headers=headers),
        "gate 413": await http.post(
            "/v1/programmes", content=b"x" * (1024 * 1024 + 1), headers=headers
        ),
        "page": await http.get("/signin"),
        "page 404": await http.get("/nowhere"),
        "redirect": await http.get("/"),
        "static": await http.get("/static/coopflow.css"),
        "docs": await http.get("/docs"),
        "docs asset": await http.get("/docs/static/swagger-ui-bundle.js"),
        "schema": await http.get("/openapi.json"),
        "health": await http.get("/healthz"),
        "liveness": await http.get("/livez"),
    }


async def test_every_kind_of_answer_carries_the_security_headers(world: World) -> None:
    answers = await _every_kind_of_answer(world.live, world.anim)
    assert answers["gate 413"].status_code == 413
    assert answers["redirect"].status_code == 303
    assert answers["page 404"].status_code == 404
    html = 0
    for kind, answer in answers.items():
        assert answer.status_code < 500, kind
        assert answer.headers.get("x-content-type-options") == "nosniff", kind
        # Cookies are not Secure here: no HSTS.
        assert "strict-transport-security" not in answer.headers, kind
        if answer.headers.get("content-type", "").startswith("text/html"):
            html += 1
            policy = answer.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy, kind
            assert "default-src 'self'" in policy, kind
            assert answer.headers["x-frame-options"] == "DENY", kind
    assert html == 3  # the sign-in page, the page not found, the docs


async def test_hsts_on_every_answer_when_cookies_are_secure(
    pool: asyncpg.Pool, database_url: str, temporal_client: Client, mailbox: Mailbox
) -> None:
    async with live(pool, database_url, temporal_client, mailbox, web_secure_cookies=True) as s:
        answers = await _every_kind_of_answer(s, await s.auth("facilitator", "anim"))
    for kind, answer in answers.items():
        assert answer.headers.get("strict-transport-security") == HSTS, kind
        assert answer.headers.get("x-content-type-options") == "nosniff", kind


# -- the docs -------------------------------------------------------------------------------


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "data") and value:
                self.found.append(value)


async def test_the_docs_reference_only_this_host(world: World) -> None:
    docs = await world.http.get("/docs")
    assert docs.status_code == 200
    parser = _References()
    parser.feed(docs.text)
    assert len(parser.found) >= 3, parser.found
    for reference in parser.found:
        url = urljoin(world.live.url("/docs"), reference)
        assert urlsplit(url).netloc == urlsplit(world.live.base_url).netloc, reference
        asset = await world.http.get(url)
        assert asset.status_code == 200, reference
    assert "<script>" not in docs.text  # no inline script (the policy would refuse it)
    assert (await world.http.get("/openapi.json")).json()["info"]["title"] == "coopflow"
    # The bundle's other files (its index.html points to a petstore elsewhere) are not served.
    gone = await world.http.get("/docs/static/index.html")
    assert gone.status_code == 404
    assert (await world.http.get("/redoc")).status_code == 404


async def test_the_docs_load_in_a_browser_from_this_host_alone(world: World, page: Page) -> None:
    errors = page_errors(page)
    await page.goto(world.live.url("/docs"))
    await page.locator(".opblock").first.wait_for()
    assert await page.locator(".opblock").count() > 20
    assert await no_third_party(page) == []
    assert errors == []


# -- /healthz -------------------------------------------------------------------------------


async def test_healthz_names_what_is_down_never_the_errors_text(world: World) -> None:
    app = world.live.app
    kept = app.state.pool
    port = free_port()
    nowhere = await asyncpg.create_pool(
        f"postgresql://secret-user:secret-password@127.0.0.1:{port}/secret_db",
        min_size=0,
        max_size=1,
    )
    closed = await asyncpg.create_pool(world.live.database_url, min_size=0, max_size=1)
    await closed.close()
    try:
        answers = {}
        for name, broken in (("unreachable", nowhere), ("closed", closed)):
            app.state.pool = broken
            answers[name] = await world.http.get("/healthz")
    finally:
        app.state.pool = kept
        await nowhere.close()
    for name, answer in answers.items():
        assert answer.status_code == 503, name
        body = answer.json()
        assert body["status"] == "degraded" and body["temporal"] == "up", body
        assert body["postgres"] in {f"down: {why}" for why in DOWN.values()}, body
        for secret in (str(port), "secret", "127.0.0.1", "Errno", "refused", "closing", "pool"):
            assert secret not in answer.text, (name, secret, answer.text)
    assert answers["unreachable"].json()["postgres"] == "down: unreachable"
    assert (await world.http.get("/healthz")).json()["postgres"] == "up"


# -- what a collective writes, on another person's page -------------------------------------

WORD = "Longtemps" * 211 + "x"  # one unbroken word of 1,900 characters
PHONE_320 = {"width": 320, "height": 700}
ACTIONS = ("advance", "restart", "pivot", "pause", "close")


@pytest.mark.parametrize("viewport", [PHONE_320])
async def test_thirty_one_word_reasons_do_not_widen_the_facilitators_pages(
    world: World, page: Page
) -> None:
    live_ = world.live
    suffix = uuid.uuid4().hex[:6]
    facilitator = f"anim-long-{suffix}"
    anim = await live_.auth("facilitator", facilitator)
    coops = [f"mot-{suffix}-{i}" for i in range(6)]

    async def one_cooperation(coop: str) -> None:
        body = cooperation(
            coop, [], facilitator=facilitator, fiscal_host=facilitator, name=WORD[:200]
        )
        made = await live_.http.post("/v1/cooperations", json=body, headers=anim)
        assert made.status_code == 201, made.text
        collective = await live_.auth("collective", coop)
        for action in ACTIONS:
            asked = await live_.http.post(
                f"/v1/cooperations/{coop}/transition-requests",
                json={"action": action, "reason": WORD},
                headers=collective,
            )
            assert asked.status_code == 201, (action, asked.text)

    await asyncio.gather(*(one_cooperation(coop) for coop in coops))
    queue = await live_.http.get("/v1/transition-requests?limit=200", headers=anim)
    assert sum(r["reason"] == WORD for r in queue.json()["items"]) == 30

    await page.context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "value": anim["Authorization"].removeprefix("Bearer "),
                "url": live_.base_url,
            }
        ]
    )
    for path in ("/", f"/cooperations/{coops[0]}"):
        await page.goto(live_.url(path))
        shown = await page.locator("main").inner_text()
        assert WORD in shown.replace("\n", ""), path
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, (path, width)
        await assert_accessible(page, f"long words at {path}")
