"""The web interface's pages over HTTP (no browser): signing in by an e-mailed link or an
operator's token, sessions that expire or end, CSRF, and a refused form that loses nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from api.web.session import CSRF_COOKIE, SESSION_COOKIE
from store.tokens import create_token
from tests.api.world import COOP, FACILITATOR
from tests.web.browser import put_confirmed_contacts
from tests.web.pages_site import Site, csrf_of, form_key_of, live_settings, main_of, site

__all__ = ["live_settings", "site"]

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
    await put_confirmed_contacts(site.live, w.collectives[COOP], address)
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
        asked = await browser.get("/review-queue")
        assert asked.headers["location"] == "/signin?next=%2Freview-queue"
        back = re.search(
            r'name="back" value="([^"]+)"', (await browser.get(asked.headers["location"])).text
        )
        assert back and back.group(1) == "/review-queue"
        opened = await browser.post(
            "/signin/token", data={"csrf": csrf, "token": token, "back": back.group(1)}
        )
        assert opened.status_code == 303 and opened.headers["location"] == "/review-queue"
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
    # Sessions expired a day ago are forgotten when the next one opens.
    async with site.live.pool.acquire() as conn:
        old, _ = await create_token(conn, "facilitator", FACILITATOR, expires_in=timedelta(days=-2))
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        csrf = await _signin_form(browser)
        token = site.world.headers["facilitator"]["Authorization"].removeprefix("Bearer ")
        opened = await browser.post("/signin/token", data={"csrf": csrf, "token": token})
        assert opened.status_code == 303
    async with site.live.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM tokens WHERE id = $1", old.id) == 0


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
