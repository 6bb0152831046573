"""What the browser flows (test_flows*.py) share: a look at every page met (audited, and
photographed for the README) and the world a flow starts from."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from playwright.async_api import Locator, Page

from tests.api.conftest import cooperation, programme
from tests.web.browser import ROOT, Live, assert_accessible, no_third_party, screenshot

README = ROOT / "README.md"


async def _look(
    page: Page, name: str, errors: list[str], status: int = 200, picture: bool = True
) -> None:
    """Every page met: accessible, nothing asked of another host, no script error; and its
    picture for the README. A form sent back with its errors is a 422, which Chromium logs."""
    await page.wait_for_load_state()
    await assert_accessible(page, name)
    # Reflow (RGAA 10.11, WCAG 1.4.10): the page fits the screen's width, a phone's included;
    # only a wide table scrolls, in a region of its own.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert page.viewport_size is not None and width <= page.viewport_size["width"], name
    assert await no_third_party(page) == [], name
    answered = f"the server responded with a status of {status}"
    assert [e for e in errors if answered not in e] == [], f"{name}: {errors}"
    errors.clear()
    if picture:
        await screenshot(page, name)


async def _reload_until(page: Page, where: Locator, text: str, seconds: float = 20) -> None:
    """The page read again until `where` shows `text`: read models follow the workflow."""
    deadline = asyncio.get_running_loop().time() + seconds
    while text not in (await where.inner_text()):
        assert asyncio.get_running_loop().time() < deadline, f"never shown: {text!r}"
        await asyncio.sleep(0.3)
        await page.reload()


async def _world(live: Live) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6]
    funder, facilitator = f"fondation-{suffix}", f"anim-{suffix}"
    pid, coop = f"fdt-{suffix}", f"ressourcerie-{suffix}"
    funder_headers = await live.auth("funder", funder)
    facilitator_headers = await live.auth("facilitator", facilitator)
    spec = programme(pid, funder, name="Fondation des territoires")
    made = await live.http.post("/v1/programmes", json=spec, headers=funder_headers)
    assert made.status_code == 201, made.text
    body = cooperation(coop, [pid], facilitator=facilitator, fiscal_host=facilitator)
    registered = await live.http.post("/v1/cooperations", json=body, headers=facilitator_headers)
    assert registered.status_code == 201, registered.text
    return {
        "programme": pid,
        "coop": coop,
        "funder": funder_headers,
        "facilitator": facilitator_headers,
        "collective": await live.auth("collective", coop),
    }
