"""Hostile input on the live stack (the app over TCP, its worker, PostgreSQL, Temporal): a NUL
byte or a lone surrogate in a path, a query or a body (JSON, YAML, a web form) is 400 or 422,
never 500; bodies nested past 64 levels (10,000 deep, YAML aliases) are 400 before any parser
recurses; a collective's one-word reasons cannot widen another person's page. What every
answer carries is in test_what_every_answer_carries.py."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
import pytest
from playwright.async_api import Page

from api.web.session import SESSION_COOKIE
from tests.api.conftest import cooperation, programme
from tests.security.hostile_world import World, assert_refused, fields_of, live_settings, world
from tests.web.browser import assert_accessible
from tests.web.conftest import browser, page, viewport

__all__ = ["browser", "live_settings", "page", "viewport", "world"]


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
