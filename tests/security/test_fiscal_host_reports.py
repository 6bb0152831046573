"""A fiscal host that is not the facilitator reads the reports of the lines that pay it, the
money it accounts for, and nothing more of the shared parts (DESIGN.md, "HTTP API (v1), by
role"): another line's report is not found to it whatever it accepts, and check-ins and
requests stay out of its scope."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.web.session import SESSION_COOKIE
from store.tokens import create_token
from tests.api.conftest import cooperation, programme
from tests.web.browser import Live

pytestmark = [pytest.mark.integration]

ACCEPTS = ("application/json", "text/markdown", "text/html", "*/*")


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # httpx keeps Secure cookies for https only.
    return {"web_secure_cookies": False}


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


async def test_the_host_reads_the_reports_of_the_line_paying_it_and_nothing_else_shared(
    live_server: Live,
) -> None:
    live = live_server
    suffix = uuid.uuid4().hex[:6]
    host, anim, coop = f"pole-{suffix}", f"anim-{suffix}", f"ressourcerie-{suffix}"
    paying, other = f"fdt-{suffix}", f"reg-{suffix}"
    fondation = await live.auth("funder", f"fondation-{suffix}")
    region = await live.auth("funder", f"region-{suffix}")
    facilitator = await live.auth("facilitator", anim)
    hosting = await live.auth("facilitator", host)
    collective = await live.auth("collective", coop)
    for pid, headers, funder in ((paying, fondation, "fondation"), (other, region, "region")):
        spec = programme(pid, f"{funder}-{suffix}")
        await _ok(await live.http.post("/v1/programmes", json=spec, headers=headers), 201)
    members = [
        {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
        {"id": "atelier", "name": "Atelier vélo du Bourg", "legal_form": "association"},
    ]
    # The first line pays the host (by default), the second the association alone.
    lines = [paying, {"programme": other, "allocation": [{"payee": "atelier", "share": "1"}]}]
    body = cooperation(coop, lines, members=members, fiscal_host=host, facilitator=anim)
    await _ok(await live.http.post("/v1/cooperations", json=body, headers=facilitator), 201)
    for pid, headers in ((paying, fondation), (other, region)):
        await _ok(
            await live.http.post(
                f"/v1/cooperations/{coop}/funding-lines/{pid}/decision",
                json={"accept": True},
                headers=headers,
            )
        )
    check_in = await _ok(
        await live.http.post(
            f"/v1/cooperations/{coop}/check-ins",
            json={"narrative": "Deux ateliers."},
            headers=collective,
        ),
        201,
    )
    await _ok(
        await live.http.post(
            f"/v1/cooperations/{coop}/transitions",
            json={"action": "close", "outcome": "completed"},
            headers=facilitator,
        )
    )
    reports: dict[str, str] = {}
    for _ in range(200):
        listed = await _ok(
            await live.http.get(f"/v1/cooperations/{coop}/reports", headers=facilitator)
        )
        reports = {r["line"]: r["id"] for r in listed}
        if len(reports) == 2:
            break
        await asyncio.sleep(0.05)
    assert set(reports) == {paying, other}

    # Listed: the report of the line that pays the host only.
    listed = await _ok(await live.http.get(f"/v1/cooperations/{coop}/reports", headers=hosting))
    assert [r["line"] for r in listed] == [paying]
    # Read in each form it is served in.
    for accept in ACCEPTS:
        answer = await live.http.get(
            f"/v1/reports/{reports[paying]}", headers={**hosting, "Accept": accept}
        )
        assert answer.status_code == 200, (accept, answer.text)
        assert answer.text.strip()
    # The other line's report is not found, whatever the host asks it as, and says nothing.
    for accept in ACCEPTS:
        answer = await live.http.get(
            f"/v1/reports/{reports[other]}", headers={**hosting, "Accept": accept}
        )
        assert answer.status_code == 404, (accept, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        # The same answer as for a report that does not exist.
        unknown = f"{reports[other]}-inconnu"
        missing = await live.http.get(
            f"/v1/reports/{unknown}", headers={**hosting, "Accept": accept}
        )
        assert missing.status_code == 404
        assert answer.json()["detail"] == missing.json()["detail"].replace(unknown, reports[other])
    # Check-ins and requests stay out of its scope.
    for path in (
        f"/v1/cooperations/{coop}/check-ins",
        f"/v1/cooperations/{coop}/check-ins/{check_in['id']}",
        f"/v1/cooperations/{coop}/transition-requests",
    ):
        answer = await live.http.get(path, headers=hosting)
        assert answer.status_code == 404, (path, answer.text)

    # Its cooperation page lists the report it may read, not the other.
    async with live.pool.acquire() as conn:
        _, token = await create_token(conn, "facilitator", host, expires_in=timedelta(hours=1))
    async with httpx.AsyncClient(base_url=live.base_url) as browser:
        browser.cookies.set(SESSION_COOKIE, token)
        page = await browser.get(f"/cooperations/{coop}")
        assert page.status_code == 200, page.text
        assert f"/cooperations/{coop}/reports/{reports[paying]}" in page.text
        assert reports[other] not in page.text
        read = await browser.get(f"/cooperations/{coop}/reports/{reports[paying]}")
        assert read.status_code == 200 and read.headers["content-type"].startswith("text/html")
        refused = await browser.get(f"/cooperations/{coop}/reports/{reports[other]}")
        assert refused.status_code == 404
