"""Fixtures for the end-to-end tests in a real browser: one headless Chromium for the session
(Debian's, driven by Playwright), a page per test (a phone by default, in French), an SMTP
mailbox, and the whole app served over TCP on the real stack (PostgreSQL, the Temporal dev
server, a worker, the outbox). Helpers (audits, screenshots, ...) are in tests/web/browser.py.

    async def test_sign_in(page: Page, live_server: Live) -> None:
        await page.goto(live_server.url("/signin"))
        await assert_accessible(page, "sign-in")

A desktop page: `@pytest.mark.parametrize("viewport", [DESKTOP])` (or `[PHONE, DESKTOP]` for
both). Tests of one file that share a world use `module_live_server` (and `module_mailbox`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, ViewportSize, async_playwright
from temporalio.client import Client

from tests.api.conftest import module_database_url, module_pool
from tests.web.browser import PHONE, Live, launch, live, new_page
from tests.web.smtp_mailbox import Mailbox, mailbox_serving

__all__ = ["module_database_url", "module_pool"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real Chromium (the `browser` fixture)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tests that use a browser (through `page` or `browser`) are marked `browser`, so
    # `pytest -m "not browser"` leaves them out.
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # The test's outcome, for the page fixture to keep a screenshot of a failure.
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the whole session (about a second to start); each test has its own
    context (cookies, storage), so tests share nothing through it."""
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def viewport() -> ViewportSize:
    """The `page`'s size: a phone (390x844). Parametrize `viewport` with DESKTOP (1280x900)
    for a desktop page."""
    return PHONE


@pytest_asyncio.fixture
async def page(
    browser: Browser,
    viewport: ViewportSize,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> AsyncIterator[Page]:
    """A page in a new context (locale fr-FR, Europe/Paris, `viewport`), closed after the test.
    Requests leaving the machine are blocked and recorded (`no_third_party(page)` returns
    them). When the test fails, the page as it was is kept as failure.png in its tmp_path."""
    async with new_page(browser, viewport) as p:
        yield p
        report = request.node.stash.get(_reports, {}).get("call")
        if report is not None and report.failed and not p.is_closed():
            path = tmp_path / "failure.png"
            try:
                await p.screenshot(path=path, full_page=True, timeout=5_000)
            except Exception as error:  # the page may be what broke
                print(f"no screenshot of the failure: {error}")
            else:
                print(f"the page when the test failed: {path}")


@pytest_asyncio.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    """An SMTP server on 127.0.0.1 keeping what it receives: `mailbox.url` for the app,
    `await mailbox.next(address)` for the next e-mail to someone."""
    async with mailbox_serving() as box:
        yield box


@pytest_asyncio.fixture(scope="module")
async def module_mailbox() -> AsyncIterator[Mailbox]:
    async with mailbox_serving() as box:
        yield box


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    """Settings for the served app beyond those `live` sets (task queue, SMTP, public URL):
    override this fixture in a test module to change them."""
    return {}


@pytest_asyncio.fixture
async def live_server(
    pool: asyncpg.Pool,
    database_url: str,
    temporal_client: Client,
    task_queue: str,
    mailbox: Mailbox,
    live_settings: dict[str, Any],
) -> AsyncIterator[Live]:
    """The app served at `live_server.base_url` (http://localhost:<port>) on a fresh database,
    with a worker and the outbox's loop sending e-mails to `mailbox`."""
    async with live(
        pool, database_url, temporal_client, mailbox, task_queue, **live_settings
    ) as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def module_live_server(
    module_pool: asyncpg.Pool,
    module_database_url: str,
    temporal_client: Client,
    module_mailbox: Mailbox,
    live_settings: dict[str, Any],
) -> AsyncIterator[Live]:
    """The same, once for a test module: its tests share the database and the mailbox."""
    async with live(
        module_pool, module_database_url, temporal_client, module_mailbox, **live_settings
    ) as server:
        yield server
