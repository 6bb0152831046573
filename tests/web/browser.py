"""Helpers for the end-to-end tests in a real browser (Debian's Chromium, driven by
Playwright): the browser and its pages, accessibility audits with the vendored axe-core,
screenshots, a guard against requests leaving the machine, and the whole app served over TCP
(`live`; its mail goes to tests/web/smtp_mailbox.py). The fixtures in tests/web/conftest.py are
built from these."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    Route,
    ViewportSize,
    WebSocketRoute,
)
from temporalio.client import Client

from api.app import create_app
from notify import outbox, webhooks
from notify.mail import Mailer
from runtime.config import Settings
from tests.api.conftest import Auth, tokens
from tests.web.smtp_mailbox import Mailbox, listening_socket
from worker.main import build_worker

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
# The README's pictures are taken again by `make screenshots` (COOPFLOW_SCREENSHOTS=docs/...);
# a plain test run keeps its own out of the work tree.
SCREENSHOTS = Path(
    os.environ.get("COOPFLOW_SCREENSHOTS") or Path(tempfile.gettempdir()) / "coopflow-screenshots"
)

# --- The browser -----------------------------------------------------------------------------

CHROMIUM = os.environ.get("COOPFLOW_TEST_CHROMIUM", "/usr/bin/chromium")
# Headless, as root (no sandbox), and quiet: without the background-networking flags Chromium
# keeps trying to reach Google's hosts, which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


async def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium (never a browser that `playwright install` downloads), each launch
    with a new, empty profile."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(
            f"no Chromium at {CHROMIUM}: `make chromium` installs Debian's "
            "(or set COOPFLOW_TEST_CHROMIUM to another binary)"
        )
    return await playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )


@contextlib.asynccontextmanager
async def new_page(
    browser: Browser,
    viewport: ViewportSize = PHONE,
    locale: str = "fr-FR",
    **options: Any,
) -> AsyncIterator[Page]:
    """A page in a context of its own (its own cookies and storage: one person), closed after.
    Requests that would leave the machine are blocked and recorded (`no_third_party`).
    `options` go to `browser.new_context` (`base_url=`, `storage_state=`, ...)."""
    context = await browser.new_context(
        viewport=viewport,
        locale=locale,
        timezone_id="Europe/Paris",
        color_scheme="light",
        reduced_motion="reduce",
        **options,
    )
    context.set_default_timeout(15_000)
    try:
        page = await context.new_page()
        await no_third_party(page)
        yield page
    finally:
        await context.close()


# --- Nothing from elsewhere ------------------------------------------------------------------

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_elsewhere: weakref.WeakKeyDictionary[BrowserContext, list[str]] = weakref.WeakKeyDictionary()


async def no_third_party(page: Page) -> list[str]:
    """The URLs that the page's context asked for on a host other than this machine's
    (localhost, 127.0.0.1, ::1): a list that fills as the pages load, for a test to assert
    empty. Such requests are aborted, never sent. Idempotent: the pages from `new_page` (and so
    the `page` fixture) have it from their creation, and a call returns the same list."""
    context = page.context
    if context in _elsewhere:
        return _elsewhere[context]
    elsewhere: list[str] = []
    _elsewhere[context] = elsewhere

    def is_elsewhere(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS

    async def block(route: Route, request: Request) -> None:
        elsewhere.append(request.url)
        await route.abort("blockedbyclient")

    async def refuse(ws: WebSocketRoute) -> None:
        # Not connected to the server: the page's socket is closed at once.
        elsewhere.append(ws.url)
        await ws.close()

    await context.route(is_elsewhere, block)
    await context.route_web_socket(is_elsewhere, refuse)
    return elsewhere


def page_errors(page: Page) -> list[str]:
    """Uncaught exceptions in the page and console errors (a script or a resource refused by
    the Content-Security-Policy, a failed fetch), from now on: for a test to assert empty."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    return errors


# --- Accessibility ---------------------------------------------------------------------------

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
_axe_source: str | None = None


async def audit(page: Page, label: str) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0/2.1 A and AA violations in the page as it is now: axe's own
    dicts (`id`, `impact`, `help`, `helpUrl`, `nodes` with each `target` and `html`).

    axe is evaluated from tests/web/vendor, never loaded from a URL, and through the DevTools
    protocol rather than an inline <script> (`page.add_script_tag`), which the app's
    Content-Security-Policy would refuse, as it should."""
    global _axe_source
    if _axe_source is None:
        _axe_source = AXE_JS.read_text(encoding="utf-8")
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(_axe_source)
    try:
        violations: list[dict[str, Any]] = await page.evaluate(
            """tags => axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            }).then(results => results.violations)""",
            WCAG_TAGS,
        )
    except Exception as error:
        raise AssertionError(f"{label}: axe-core could not audit {page.url}: {error}") from error
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation, then its first three elements (CSS selectors)."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} — {v.get('helpUrl', '')}")
        for node in v.get("nodes", [])[:3]:
            lines.append(f"    at {' '.join(map(str, node.get('target', [])))}")
        if len(v.get("nodes", [])) > 3:
            lines.append(f"    and {len(v['nodes']) - 3} more")
    return "\n".join(lines)


async def assert_accessible(
    page: Page, label: str, impacts: tuple[str, ...] = BLOCKING
) -> list[dict[str, Any]]:
    """Fails when axe finds a violation of one of these impacts (serious or critical by
    default); returns all the violations (the moderate and minor ones pass)."""
    violations = await audit(page, label)
    blocking = [v for v in violations if v.get("impact") in impacts]
    if blocking:
        raise AssertionError(
            f"{label}: {len(blocking)} accessibility violation(s) at {page.url}:\n"
            + describe(blocking)
        )
    return violations


# --- Screenshots -----------------------------------------------------------------------------


async def screenshot(page: Page, name: str, directory: Path = SCREENSHOTS) -> Path:
    """The whole page (not only the viewport) as `<directory>/<name>.png`: by default where
    COOPFLOW_SCREENSHOTS says (`make screenshots`: docs/screenshots, which the README shows),
    else in the system's temporary folder."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ValueError(f"screenshot name {name!r}: letters, digits, '.', '_', '-' only")
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    await page.screenshot(path=path, full_page=True, animations="disabled", caret="hide")
    return path


# --- The app, served over TCP ----------------------------------------------------------------


@dataclass(frozen=True)
class Live:
    """The app served over TCP with its worker and outbox, as a person's browser reaches it."""

    base_url: str  # http://localhost:<port>, no trailing slash
    app: FastAPI
    settings: Settings
    pool: asyncpg.Pool
    database_url: str
    task_queue: str
    mailbox: Mailbox
    http: httpx.AsyncClient  # to base_url, over TCP: seed data through the API
    auth: Auth  # `await live.auth(role, subject)`: Authorization headers of a new token

    def url(self, path: str = "/") -> str:
        return self.base_url + path


class _Server(uvicorn.Server):
    # uvicorn's own SIGINT/SIGTERM handlers would turn a Ctrl-C of pytest into a stop of this
    # server alone; pytest keeps its own.
    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


@contextlib.asynccontextmanager
async def live(
    pool: asyncpg.Pool,
    database_url: str,
    client: Client,
    mailbox: Mailbox,
    task_queue: str | None = None,
    **settings: Any,
) -> AsyncIterator[Live]:
    """The app (`api.app.create_app`) served by uvicorn on 127.0.0.1 in this event loop, with a
    worker on its task queue and the outbox's loop (e-mails to `mailbox`), as `coopflow api`
    and `coopflow worker` run them. The URL is http://localhost:<port>: Chromium keeps Secure
    cookies on http for localhost. `settings` override the Settings made here."""
    task_queue = task_queue or f"tq-{uuid.uuid4().hex[:8]}"
    sock = listening_socket()
    base_url = f"http://localhost:{sock.getsockname()[1]}"
    config = Settings(
        task_queue=task_queue,
        smtp_url=mailbox.url,
        mail_from="coopflow <noreply@coopflow.test>",
        public_url=base_url,
        **settings,
    )
    app = create_app(config, pool=pool, client=client)
    server = _Server(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(build_worker(client, pool, task_queue))
        mailer = Mailer(config.smtp_url, config.mail_from)
        delivering = asyncio.create_task(
            outbox.run(
                pool,
                database_url,
                mailer,
                timedelta(seconds=config.delivery_give_up_after),
                poll_every=0.2,
                webhook_policy=webhooks.Policy.of(config),
            )
        )
        stack.push_async_callback(_cancelled, delivering)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                serving.result()  # uvicorn's startup error
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
        try:
            http = await stack.enter_async_context(httpx.AsyncClient(base_url=base_url))
            yield Live(
                base_url=base_url,
                app=app,
                settings=config,
                pool=pool,
                database_url=database_url,
                task_queue=task_queue,
                mailbox=mailbox,
                http=http,
                auth=tokens(pool),
            )
        finally:
            server.should_exit = True
            await serving
            sock.close()


async def put_confirmed_contacts(
    live: Live, headers: dict[str, str], *addresses: str
) -> dict[str, Any]:
    """The caller's contacts become `addresses` (PUT /v1/me/contacts), each confirmed as its
    owner would: through the link of the one e-mail it receives. The last GET's body."""
    put = await live.http.put("/v1/me/contacts", json={"emails": list(addresses)}, headers=headers)
    assert put.status_code == 200, put.text
    unconfirmed = {a["email"] for a in put.json()["addresses"] if not a["confirmed"]}
    for address in addresses:
        if address not in unconfirmed:
            continue
        mail = await live.mailbox.next(address)
        confirmed = await follow_link(live, mail.link("/contacts/"))
        assert confirmed.status_code == 200, confirmed.text
    got = await live.http.get("/v1/me/contacts", headers=headers)
    assert all(a["confirmed"] for a in got.json()["addresses"]), got.text
    body: dict[str, Any] = got.json()
    return body


async def sign_in(page: Page, live: Live, headers: dict[str, str]) -> None:
    """The page signs in with the token of `headers` (from `live.auth`), as a person pastes
    it into the sign-in form."""
    await page.goto(live.url("/signin"))
    token = headers["Authorization"].removeprefix("Bearer ")
    await page.get_by_label("Jeton d'accès", exact=True).fill(token)
    await page.get_by_role("button", name="Se connecter avec le jeton").click()


async def follow_link(
    live: Live, link: str, client: httpx.AsyncClient | None = None
) -> httpx.Response:
    """An e-mailed link used as a person does: opened (a page with a button, its CSRF token),
    then its button pressed. `client` keeps the cookies (a session the link opens)."""
    assert link.startswith(live.base_url + "/"), link
    async with contextlib.AsyncExitStack() as stack:
        headers = {}
        if client is None:
            client = await stack.enter_async_context(httpx.AsyncClient(base_url=live.base_url))
        shown = await client.get(link)
        assert shown.status_code == 200, shown.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', shown.text)
        assert csrf is not None, shown.text
        kept = [c for c in client.cookies.jar if c.name == "coopflow_csrf"]
        if live.base_url.startswith("http:") and all(c.secure for c in kept):
            # A Secure cookie (web_secure_cookies) that httpx sends over https only: sent back
            # as a browser on http://localhost would.
            headers["cookie"] = f"coopflow_csrf={shown.cookies['coopflow_csrf']}"
        return await client.post(link, data={"csrf": csrf.group(1)}, headers=headers)


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
