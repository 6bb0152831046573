"""The releases plot played month by month, in Chromium: only on request, stopped by a second
press, every month shown at once when reduced motion is asked for; the plot is whole without
the script."""

from __future__ import annotations

from playwright.async_api import Page, expect

from api.web.charts import releases_over_time
from i18n import Words
from tests.web.browser import Live

DASHBOARD = {
    "currency": "EUR",
    "releases_over_time": [
        {"month": "2026-01", "purpose": "animation", "amount": "8000.00"},
        {"month": "2026-03", "purpose": "investment", "amount": "30000.00"},
        {"month": "2026-04", "purpose": "animation", "amount": "7000.00"},
    ],
}


async def _plot(page: Page, live: Live, script: bool = True) -> None:
    chart = releases_over_time(DASHBOARD, Words("fr"))
    tail = f'<script src="{live.url("/static/coopflow.js")}"></script>' if script else ""
    await page.goto(live.url("/accessibility"))  # the site's origin, for its script
    await page.set_content(
        f"""<!DOCTYPE html><html lang="fr"><head><title>t</title>
        <link rel="stylesheet" href="{live.url("/static/coopflow.css")}"></head><body>
        <div id="plot">{chart.svg}
        <p class="animate" hidden><button type="button" data-animate="{chart.id}"
        aria-pressed="false">Animer</button></p></div>{tail}</body></html>"""
    )


async def test_the_plot_plays_on_request_and_a_second_press_stops_it(
    page: Page, live_server: Live
) -> None:
    await page.emulate_media(reduced_motion="no-preference")
    await _plot(page, live_server)
    months = page.locator("#chart-releases [data-step]")
    await expect(months).to_have_count(4)  # January to April, February empty
    waiting = page.locator("#chart-releases [data-step].waiting")
    await expect(waiting).to_have_count(0)  # nothing moves by itself
    play = page.get_by_role("button", name="Animer")
    await play.click()
    await expect(play).to_have_attribute("aria-pressed", "true")
    await expect(waiting).not_to_have_count(0)
    await play.click()  # stopped: every month shown again
    await expect(play).to_have_attribute("aria-pressed", "false")
    await expect(waiting).to_have_count(0)
    await play.click()  # played to the end, it stops by itself
    await expect(play).to_have_attribute("aria-pressed", "false", timeout=10_000)
    await expect(waiting).to_have_count(0)


async def test_with_reduced_motion_every_month_shows_at_once(page: Page, live_server: Live) -> None:
    await _plot(page, live_server)  # the `page` fixture asks for reduced motion
    play = page.get_by_role("button", name="Animer")
    await play.click()
    await expect(play).to_have_attribute("aria-pressed", "false")
    await expect(page.locator("#chart-releases [data-step].waiting")).to_have_count(0)


async def test_without_the_script_the_plot_is_whole_and_there_is_no_button(
    page: Page, live_server: Live
) -> None:
    await _plot(page, live_server, script=False)
    await expect(page.locator("#chart-releases [data-step]")).to_have_count(4)
    await expect(page.locator("p.animate")).to_be_hidden()
