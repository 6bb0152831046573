"""The site the page tests share (test_pages*.py): one world (tests/api/world.py) built
through the API on a served app, each person's browser an httpx client with its cookie jar,
and what they read in a page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.web.session import SESSION_COOKIE
from store.tokens import create_token
from tests.api.world import World, build
from tests.web.browser import Live


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


def main_of(html: str) -> str:
    """The page's main content on one line (for assertion messages)."""
    return re.sub(r"\s+", " ", html.split("<main", 1)[-1].split("</main>", 1)[0])[:1500]
