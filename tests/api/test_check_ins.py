"""A check-in is readable at its Location as soon as it is answered, before the projection
follows: the one it replaces (the same period, not yet reviewed) reads as replaced by it."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Auth, cooperation, programme
from tests.api.world import ok

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COOP = "atelier-velo"


async def test_a_check_in_replacing_another_reads_so_at_once(
    http: httpx.AsyncClient, auth: Auth
) -> None:
    fondation = await auth("funder", "fondation")
    pole = await auth("facilitator", "pole-107")
    collectif = await auth("collective", COOP)
    await ok(
        await http.post("/v1/programmes", json=programme("fdt", "fondation"), headers=fondation),
        201,
    )
    await ok(
        await http.post("/v1/cooperations", json=cooperation(COOP, ["fdt"]), headers=pole), 201
    )
    await ok(
        await http.post(
            f"/v1/cooperations/{COOP}/funding-lines/fdt/decision",
            json={"accept": True},
            headers=fondation,
        )
    )
    first = await http.post(
        f"/v1/cooperations/{COOP}/check-ins", json={"narrative": "Premier jet"}, headers=collectif
    )
    second = await http.post(
        f"/v1/cooperations/{COOP}/check-ins",
        json={"narrative": "Version complète", "indicators": {"participants": 9}},
        headers=collectif,
    )
    one, two = await ok(first, 201), await ok(second, 201)
    assert one["period"] == two["period"] == 1

    replaced = await ok(await http.get(first.headers["location"], headers=pole))
    assert (replaced["status"], replaced["replaced_by"]) == ("replaced", two["id"])
    assert replaced["narrative"] == "Premier jet"
    current = await ok(await http.get(second.headers["location"], headers=pole))
    assert (current["status"], current["replaced_by"]) == ("submitted", None)
    assert current["narrative"] == "Version complète"
    assert current["indicators"] == {"participants": 9}
    assert (current["period"], current["stint"], current["phase"]) == (1, 1, "emergence")
