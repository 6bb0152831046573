"""What every answer carries, on the live stack (the app over TCP, its worker, PostgreSQL,
Temporal): every answer says nosniff, every HTML page has its Content-Security-Policy with
frame-ancestors 'none', HSTS when cookies are Secure; /docs loads nothing from another host;
/healthz names what is down, never an error's text."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import asyncpg
import httpx
from playwright.async_api import Page
from temporalio.client import Client

from api.guard import HSTS
from runtime.connect import DOWN
from runtime.localstack import free_port
from tests.security.hostile_world import World, live_settings, world
from tests.web.browser import Live, live, no_third_party, page_errors
from tests.web.conftest import browser, page, viewport
from tests.web.smtp_mailbox import Mailbox

__all__ = ["browser", "live_settings", "page", "viewport", "world"]


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
