"""The browser tests' own machinery, proven: Debian's Chromium driven by Playwright reaches the
app served over TCP on the real stack; axe-core finds a violation where there is one and none
where there is none; screenshots are written; requests that would leave the machine are
blocked and recorded; the mailbox receives what coopflow's mailer sends."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, ViewportSize

from notify.mail import Mailer
from tests.web.browser import (
    DESKTOP,
    PHONE,
    Live,
    assert_accessible,
    audit,
    no_third_party,
    page_errors,
    screenshot,
)
from tests.web.smtp_mailbox import Mailbox

pytestmark = pytest.mark.integration

CLEAN = """<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><title>Propre</title></head>
<body>
  <header><nav aria-label="Principale"><a href="/">Accueil</a></nav></header>
  <main>
    <h1>Une page sans défaut</h1>
    <p>Un paragraphe lisible, contrasté.</p>
    <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Un pixel">
    <form>
      <label for="email">Adresse e-mail</label>
      <input id="email" type="email" autocomplete="email">
      <button type="submit">Recevoir un lien</button>
    </form>
  </main>
</body>
</html>"""

# The same page with an image without alternative text (axe: image-alt, critical) and a field
# without a label (label, critical).
BROKEN = CLEAN.replace(' alt="Un pixel"', "").replace(
    '<label for="email">Adresse e-mail</label>', ""
)


async def test_chromium_reaches_the_served_app_and_screenshots_it(
    page: Page, live_server: Live, tmp_path: Path
) -> None:
    elsewhere = await no_third_party(page)
    errors = page_errors(page)
    response = await page.goto(live_server.url("/healthz"))
    assert response is not None and response.status == 200
    assert '"status":"ok"' in (await page.content()).replace(" ", "")
    assert await page.evaluate("navigator.language") == "fr-FR"
    assert page.viewport_size == PHONE

    path = await screenshot(page, "healthz", directory=tmp_path)
    assert path == tmp_path / "healthz.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert elsewhere == [] and errors == []

    # The API through the same server over TCP, with a token as the tests make them.
    me = await live_server.http.get("/v1/me", headers=await live_server.auth("funder", "f1"))
    assert me.status_code == 200, me.text


async def test_requests_leaving_the_machine_are_blocked_and_recorded(
    page: Page, live_server: Live
) -> None:
    # Nothing of coopflow's asks another host any more (/docs included): a page of ours is made
    # to, as a CDN's script would, to see the request refused and recorded.
    elsewhere = await no_third_party(page)
    assert await no_third_party(page) is elsewhere
    await page.goto(live_server.url("/healthz"))
    assert elsewhere == []
    outcome = await page.evaluate(
        """() => new Promise(done => {
            const img = document.createElement('img');
            img.onerror = () => done('refused');
            img.onload = () => done('loaded');
            img.src = 'https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/favicon-32x32.png';
            document.body.appendChild(img);
        })"""
    )
    assert outcome == "refused"
    assert any("cdn.jsdelivr.net" in url for url in elsewhere), elsewhere
    assert all("localhost" not in url for url in elsewhere)
    # A fetch and a WebSocket to elsewhere: refused before they leave, recorded.
    outcome = await page.evaluate(
        """() => new Promise(done => {
            fetch('https://example.org/x').catch(() => {
                const ws = new WebSocket('wss://example.org/socket');
                ws.onclose = () => done('closed');
            });
        })"""
    )
    assert outcome == "closed"
    asked = [url for url in elsewhere if "example.org" in url]
    assert asked == ["https://example.org/x", "wss://example.org/socket"]
    # The app's own origin is never in the list.
    await page.goto(live_server.url("/openapi.json"))
    assert not any(url.startswith(live_server.base_url) for url in elsewhere)


@pytest.mark.parametrize("viewport", [DESKTOP])
async def test_axe_reports_serious_violations_and_passes_a_clean_page(page: Page) -> None:
    assert page.viewport_size == DESKTOP
    await page.set_content(CLEAN)
    assert await audit(page, "clean") == []
    await assert_accessible(page, "clean")

    await page.set_content(BROKEN)
    found = {v["id"]: v for v in await audit(page, "broken")}
    assert {"image-alt", "label"} <= found.keys(), found.keys()
    assert found["image-alt"]["impact"] in ("serious", "critical")
    assert found["image-alt"]["nodes"][0]["target"] == ["img"]
    with pytest.raises(AssertionError) as failed:
        await assert_accessible(page, "broken")
    message = str(failed.value)
    assert message.startswith("broken: 2 accessibility violation(s)")
    assert "- image-alt (critical): Images must have alternative text" in message
    assert "    at img" in message and "    at #email" in message


async def test_the_mailbox_receives_what_the_mailer_sends(mailbox: Mailbox) -> None:
    mailer = Mailer(mailbox.url, "coopflow <noreply@coopflow.test>")
    for n in (1, 2):
        sent = await mailer.send(
            ["Ana@Example.org", "bob@example.org"],
            f"Votre lien de connexion {n}",
            f"Bonjour,\n\nhttp://localhost:8000/signin/token-{n}\n",
            f"<p>Bonjour, <a href='http://localhost:8000/signin/token-{n}'>connexion</a></p>",
        )
        assert sent
    first = await mailbox.next("ana@example.org", seconds=5)
    assert first.subject == "Votre lien de connexion 1"
    assert first.text.startswith("Bonjour,")
    assert first.link("/signin/") == "http://localhost:8000/signin/token-1"
    assert first.html is not None and "<a href=" in first.html
    assert (await mailbox.next("ana@example.org", seconds=5)).subject.endswith("2")
    assert (await mailbox.next("bob@example.org", seconds=5)).subject.endswith("1")
    with pytest.raises(AssertionError, match=r"no e-mail to nobody@example\.org"):
        await mailbox.next("nobody@example.org", seconds=0.2)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_a_module_shares_one_served_app(
    page: Page, viewport: ViewportSize, module_live_server: Live
) -> None:
    response = await page.goto(module_live_server.url("/livez"))
    assert response is not None and response.status == 200
    assert await page.evaluate("[innerWidth, innerHeight]") == [
        viewport["width"],
        viewport["height"],
    ]
    assert module_live_server.settings.public_url == module_live_server.base_url
    assert module_live_server.settings.smtp_url == module_live_server.mailbox.url
