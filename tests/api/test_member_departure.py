"""A member who leaves is forgotten (DESIGN.md: the people table is erased when a member
leaves): its name goes with the `MemberLeft` event's projection, in the same transaction, so
an answer lost on its way back to the caller leaves no name behind."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from domain import commands as c
from domain.events import Event
from runtime.temporal import cooperation_workflow_id
from store.people import forget_departed
from tests.api.conftest import Auth, cooperation
from tests.api.world import ok
from workflows.client import send
from workflows.models import CommandRequest

pytestmark = [pytest.mark.integration]

MEMBERS = [
    {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
    {"id": "partant", "name": "Jeanne Partante", "legal_form": "informal"},
]


async def _names(pool: asyncpg.Pool, coop: str) -> dict[str, str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, name FROM people WHERE cooperation_id = $1", coop)
    return {r["id"]: r["name"] for r in rows}


async def _until_gone(pool: asyncpg.Pool, coop: str, member: str) -> dict[str, str]:
    """The names once `member`'s is gone (the projection follows the workflow's answer)."""
    for _ in range(200):
        names = await _names(pool, coop)
        if member not in names:
            return names
        await asyncio.sleep(0.05)
    raise AssertionError(f"{member}'s name is still kept: {await _names(pool, coop)}")


async def test_a_departed_members_name_is_erased_even_when_the_answer_is_lost(
    http: httpx.AsyncClient, auth: Auth, pool: asyncpg.Pool, temporal_client: Client
) -> None:
    coop = f"ruche-{uuid.uuid4().hex[:6]}"
    anim = await auth("facilitator", "anim")
    await ok(
        await http.post(
            "/v1/cooperations", json=cooperation(coop, [], members=MEMBERS), headers=anim
        ),
        201,
    )
    assert await _names(pool, coop) == {
        "habitants": "Collectif des habitants",
        "partant": "Jeanne Partante",
    }

    # The command as the route sends it, and nothing of what the route does with the answer
    # (its answer lost on the way back, say).
    handle = temporal_client.get_workflow_handle(cooperation_workflow_id(coop))
    answer = await send(
        handle,
        CommandRequest(command=c.MemberLeave(member_id="partant"), request_id=str(uuid.uuid4())),
    )
    assert [e.type for e in answer.events] == ["MemberLeft"]

    assert await _until_gone(pool, coop, "partant") == {"habitants": "Collectif des habitants"}
    members = await ok(await http.get(f"/v1/cooperations/{coop}/members", headers=anim))
    assert [m["id"] for m in members] == ["habitants"]
    # The event keeps the id only.
    feed = await ok(await http.get(f"/v1/cooperations/{coop}/events", headers=anim))
    (left,) = [e for e in feed["items"] if e["type"] == "MemberLeft"]
    assert left["data"] == {"member": "partant"}


async def test_a_member_removed_through_the_api_is_erased_and_one_who_joins_again_is_kept(
    http: httpx.AsyncClient, auth: Auth, pool: asyncpg.Pool
) -> None:
    coop = f"ruche-{uuid.uuid4().hex[:6]}"
    anim = await auth("facilitator", "anim")
    await ok(
        await http.post(
            "/v1/cooperations", json=cooperation(coop, [], members=MEMBERS), headers=anim
        ),
        201,
    )
    base = f"/v1/cooperations/{coop}/members"
    await ok(await http.delete(f"{base}/partant", headers=anim))
    assert await _until_gone(pool, coop, "partant") == {"habitants": "Collectif des habitants"}

    # Back under the same id: the new name is kept, even when the earlier departure is
    # projected again (its activity retried after the join).
    back = {"id": "partant", "name": "Jeanne Revenue", "legal_form": "association"}
    await ok(await http.post(base, json=back, headers=anim), 201)
    async with pool.acquire() as conn:
        for _ in range(200):  # the join's event, projected a moment after its answer
            joined = await conn.fetchval(
                "SELECT count(*) FROM events WHERE cooperation_id = $1 AND type = 'MemberJoined'",
                coop,
            )
            if joined:
                break
            await asyncio.sleep(0.05)
        row = await conn.fetchrow(
            "SELECT seq, type, at, data FROM events WHERE cooperation_id = $1"
            " AND type = 'MemberLeft'",
            coop,
        )
        assert row is not None
        async with conn.transaction():
            await forget_departed(conn, coop, [Event.model_validate(dict(row))])
    assert (await _names(pool, coop))["partant"] == "Jeanne Revenue"


async def test_the_answer_kept_for_adding_a_member_forgets_its_name_when_it_leaves(
    http: httpx.AsyncClient, auth: Auth, pool: asyncpg.Pool
) -> None:
    coop = f"ruche-{uuid.uuid4().hex[:6]}"
    anim = await auth("facilitator", "anim")
    await ok(
        await http.post(
            "/v1/cooperations", json=cooperation(coop, [], members=MEMBERS), headers=anim
        ),
        201,
    )
    base = f"/v1/cooperations/{coop}/members"
    joining = {"id": "passante", "name": "Lucie Passante", "legal_form": "informal"}
    added = anim | {"Idempotency-Key": "ajout-passante"}
    first = await ok(await http.post(base, json=joining, headers=added), 201)
    assert first["name"] == "Lucie Passante"
    await ok(await http.delete(f"{base}/passante", headers=anim))
    await _until_gone(pool, coop, "passante")

    # The same key again within its day: the first answer, without the name that left.
    again = await http.post(base, json=joining, headers=added)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["name"] is None
    assert "Lucie Passante" not in again.text
