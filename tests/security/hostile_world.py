"""The served app and the one cooperation the hostile-input tests share
(test_hostile_input.py, test_what_every_answer_carries.py), and how they read a refusal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.api.conftest import cooperation
from tests.web.browser import Live

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def live_settings() -> dict[str, Any]:
    # httpx keeps Secure cookies for https only (the forms' CSRF cookie); HSTS with Secure
    # cookies is its own test, on a server of its own.
    return {"web_secure_cookies": False}


@dataclass
class World:
    live: Live
    coop: str
    facilitator: str
    anim: dict[str, str]
    collective: dict[str, str]
    funder: dict[str, str]

    @property
    def http(self) -> httpx.AsyncClient:
        return self.live.http


@pytest_asyncio.fixture(scope="module")
async def world(module_live_server: Live) -> AsyncIterator[World]:
    live_ = module_live_server
    suffix = uuid.uuid4().hex[:6]
    facilitator, coop = f"anim-{suffix}", f"ruche-{suffix}"
    anim = await live_.auth("facilitator", facilitator)
    body = cooperation(coop, [], facilitator=facilitator, fiscal_host=facilitator)
    made = await live_.http.post("/v1/cooperations", json=body, headers=anim)
    assert made.status_code == 201, made.text
    yield World(
        live=live_,
        coop=coop,
        facilitator=facilitator,
        anim=anim,
        collective=await live_.auth("collective", coop),
        funder=await live_.auth("funder", f"fondation-{suffix}"),
    )


def assert_refused(answer: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A problem+json refusal (400 or 422 unless said), never a 500."""
    assert answer.status_code in (statuses or (400, 422)), (answer.status_code, answer.text)
    assert answer.headers["content-type"] == PROBLEM, answer.headers
    body: dict[str, Any] = answer.json()
    assert body["status"] == answer.status_code
    return body


def fields_of(body: dict[str, Any]) -> list[str]:
    return [e["path"] for e in body.get("errors", [])]
