"""Paging through what the API lists from PostgreSQL (store.readmodel, store.queues): the
cooperations in scope, the review queue and the transition requests, a page at a time by the
cursor each page gives; every item comes once, in order, and the last page names no cursor."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import Auth, cooperation, programme

pytestmark = [pytest.mark.integration]

FACILITATOR = "pole-107"


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


async def _pages(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> list[list[Any]]:
    """Every page of `path`, following each page's cursor until one gives none."""
    pages: list[list[Any]] = []
    cursor = None
    while len(pages) < 20:
        query = params | ({"cursor": cursor} if cursor is not None else {})
        page = await _ok(await http.get(path, params=query, headers=headers))
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError(f"{path} never gave its last page")


async def _listed(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], count: int
) -> list[Any]:
    """The whole list in one page, once the read model holds `count` items (it follows the
    answers by a moment)."""
    for _ in range(200):
        items: list[Any] = (await _ok(await http.get(path, headers=headers)))["items"]
        if len(items) >= count:
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never listed {count} items")


async def test_each_list_pages_through_every_item_once_in_order(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    suffix = uuid.uuid4().hex[:6]
    funder = await auth("funder", "fondation")
    other_funder = await auth("funder", "region")
    facilitator = await auth("facilitator", FACILITATOR)
    pid = f"fdt-{suffix}"
    await _ok(
        await http.post("/v1/programmes", json=programme(pid, "fondation"), headers=funder), 201
    )
    ids = [f"coop-{n}-{suffix}" for n in (3, 1, 2)]
    for coop in ids:
        collective = await auth("collective", coop)
        here = f"/v1/cooperations/{coop}"
        request = {"action": "advance", "reason": "Prêts"}
        for path, body, headers, status in [
            ("/v1/cooperations", cooperation(coop, [pid]), facilitator, 201),
            (f"{here}/funding-lines/{pid}/decision", {"accept": True}, funder, 200),
            (f"{here}/check-ins", {"narrative": "Un atelier."}, collective, 201),
            (f"{here}/transition-requests", request, collective, 201),
        ]:
            await _ok(await http.post(path, json=body, headers=headers), status)

    # The cooperations by id, one a page; a funder filtering by its programme sees them all,
    # another funder filtering by that programme none (it would tell who else funds).
    pages = await _pages(http, "/v1/cooperations", facilitator, limit=1)
    assert [[c["id"] for c in page] for page in pages] == [[c] for c in sorted(ids)]
    pages = await _pages(http, "/v1/cooperations", funder, programme=pid, limit=2)
    assert [[c["id"] for c in page] for page in pages] == [sorted(ids)[:2], sorted(ids)[2:]]
    assert await _pages(http, "/v1/cooperations", other_funder, programme=pid) == [[]]

    # The queues, oldest first: the order the collectives sent them in.
    everything = await _listed(http, "/v1/check-ins", facilitator, len(ids))
    assert [c["cooperation"] for c in everything] == ids
    pages = await _pages(http, "/v1/check-ins", facilitator, limit=1)
    assert pages == [[c] for c in everything]
    assert all(c["name"] == "Ressourcerie du Bourg" for c in everything)

    everything = await _listed(http, "/v1/transition-requests", facilitator, len(ids))
    assert [(r["cooperation"], r["reason"]) for r in everything] == [(c, "Prêts") for c in ids]
    pages = await _pages(http, "/v1/transition-requests", facilitator, limit=2)
    assert pages == [everything[:2], everything[2:]]
    # The funder of their lines reads them too, through the same pages.
    assert await _pages(http, "/v1/transition-requests", funder, limit=3) == [everything]
