"""Errors as application/problem+json (RFC 9457) with the path of every bad field, the
Idempotency-Key of POSTs, and the Location of what a POST creates (DESIGN.md, "HTTP API")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from store.tokens import create_token, revoke_token
from tests.api import world as w
from tests.api.conftest import Auth, cooperation, programme
from tests.api.world import World, ok

pytestmark = [pytest.mark.integration]

PROBLEM = "application/problem+json"
MIB = 1024 * 1024


@pytest_asyncio.fixture(scope="module")
async def world(
    module_http: httpx.AsyncClient, module_auth: Auth, module_pool: asyncpg.Pool
) -> World:
    return await w.build(module_http, module_auth, module_pool)


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The answer's problem, checked: its status, media type and the RFC 9457 members."""
    assert answer.status_code == status, f"{answer.status_code}: {answer.text}"
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def check_ins_of(world: World) -> str:
    return f"/v1/cooperations/{world.coop}/check-ins"


def paths(body: dict[str, Any]) -> set[str]:
    return {e["path"] for e in body.get("errors", [])}


# -- bodies: 400, 415, 413, 422 ---------------------------------------------------------------


async def test_a_body_that_does_not_parse_is_400(
    module_http: httpx.AsyncClient, world: World
) -> None:
    check_ins = check_ins_of(world)
    http, collective = module_http, world.caller("collective")
    json_headers = collective | {"content-type": "application/json"}
    problem(await http.post(check_ins, content=b'{"narrative": ', headers=json_headers), 400)
    problem(await http.post(check_ins, content=b"\xff\xfe", headers=json_headers), 400)
    # Specs are read by hand, from JSON or YAML: the same answer.
    funder = world.caller("funder")
    problem(
        await http.post(
            "/v1/programmes", content=b"{", headers=funder | {"content-type": "application/json"}
        ),
        400,
    )
    problem(
        await http.post(
            "/v1/programmes",
            content=b"id: [unclosed",
            headers=funder | {"content-type": "application/yaml"},
        ),
        400,
    )


async def test_a_media_type_not_served_is_415(module_http: httpx.AsyncClient, world: World) -> None:
    check_ins = check_ins_of(world)
    http = module_http
    for media_type in ("text/plain", "application/xml", "multipart/form-data; boundary=x"):
        problem(
            await http.post(
                check_ins,
                content=b'{"narrative": "Deux ateliers."}',
                headers=world.caller("collective") | {"content-type": media_type},
            ),
            415,
        )
        problem(
            await http.post(
                "/v1/programmes",
                content=b"{}",
                headers=world.caller("funder") | {"content-type": media_type},
            ),
            415,
        )


async def test_a_body_without_a_media_type_is_read_as_json(
    module_http: httpx.AsyncClient, world: World
) -> None:
    # Parsed, then refused by the rules (not paused), not for its media type.
    answer = await module_http.post(
        f"/v1/cooperations/{world.coop}/transitions",
        content=b'{"action": "resume"}',
        headers=world.caller("facilitator"),
    )
    assert "paused" in problem(answer, 409)["detail"]


async def test_a_body_over_one_mib_is_413_declared_or_streamed(
    module_http: httpx.AsyncClient, world: World
) -> None:
    check_ins = check_ins_of(world)
    http, collective = module_http, world.caller("collective")
    big = b'{"narrative": "' + b"x" * MIB + b'"}'
    headers = collective | {"content-type": "application/json"}
    problem(await http.post(check_ins, content=big, headers=headers), 413)

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit holds on what is read.
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    problem(await http.post(check_ins, content=chunks(), headers=headers), 413)
    # Without a token too: the size is checked before anything else.
    problem(await http.post(check_ins, content=big), 413)
    # Just under the limit is read (and refused for its field, not its size).
    under = b'{"narrative": "' + b"x" * (MIB - 100) + b'"}'
    assert (await http.post(check_ins, content=under, headers=headers)).status_code == 422


async def test_unknown_and_invalid_fields_are_422_naming_each(
    module_http: httpx.AsyncClient, world: World
) -> None:
    check_ins = check_ins_of(world)
    http = module_http
    bad = await http.post(
        check_ins,
        json={"narrative": "", "period": 0, "indicators": "many", "mood": "good"},
        headers=world.caller("collective"),
    )
    assert paths(problem(bad, 422)) == {"narrative", "period", "indicators", "mood"}

    bad = await http.post(
        f"/v1/cooperations/{world.coop}/transitions",
        json={"action": "jump", "to": "nowhere"},
        headers=world.caller("facilitator"),
    )
    assert paths(problem(bad, 422)) == {"action", "to"}

    # A nested field of a spec, by its whole path; money as a JSON number is refused.
    spec = programme("mal-forme", w.FUNDER)
    spec["phases"]["emergence"]["tranches"][0]["amount"] = 8000
    spec["phases"]["emergence"]["tranches"][1]["purpose"] = "fun"
    spec["colour"] = "blue"
    body = problem(
        await http.post("/v1/programmes", json=spec, headers=world.caller("funder")), 422
    )
    assert paths(body) == {
        "phases.emergence.tranches.0.amount",
        "phases.emergence.tranches.1.purpose",
        "colour",
    }
    assert all(e["pointer"].startswith("/") and e["message"] for e in body["errors"])

    coop = cooperation("mal-formee", [], kind="modelled", members=[{"id": "x"}])
    body = problem(
        await http.post("/v1/cooperations", json=coop, headers=world.caller("facilitator")), 422
    )
    assert {"members.0.name", "members.0.legal_form"} <= paths(body)

    # Query parameters too.
    body = problem(
        await http.get("/v1/cooperations?limit=0&phase=nowhere", headers=world.caller("funder")),
        422,
    )
    assert paths(body) == {"query.limit", "query.phase"}


async def test_no_token_or_a_revoked_one_is_401(
    module_http: httpx.AsyncClient, module_pool: asyncpg.Pool, world: World
) -> None:
    check_ins = check_ins_of(world)
    http = module_http
    async with module_pool.acquire() as conn:
        record, token = await create_token(conn, "funder", w.FUNDER)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await http.get("/v1/me", headers=headers)).json()["subject"] == w.FUNDER
    async with module_pool.acquire() as conn:
        assert await revoke_token(conn, record.id)
    for sent in ({}, headers, {"Authorization": "Bearer cf_unknown"}, {"Authorization": "Basic x"}):
        for answer in (
            await http.get("/v1/me", headers=sent),
            await http.get(f"/v1/cooperations/{world.coop}", headers=sent),
            await http.post(check_ins, json={"narrative": "x"}, headers=sent),
        ):
            problem(answer, 401)
            assert answer.headers["www-authenticate"].startswith("Bearer")


# -- Idempotency-Key ---------------------------------------------------------------------------


async def _submitted(http: httpx.AsyncClient, world: World) -> int:
    """How many CheckInSubmitted events the cooperation's log holds (effects follow the answers)."""
    feed = await ok(
        await http.get(
            f"/v1/cooperations/{world.coop}/events?limit=500", headers=world.caller("facilitator")
        )
    )
    return sum(e["type"] == "CheckInSubmitted" for e in feed["items"])


async def _settled(http: httpx.AsyncClient, world: World, expected: int) -> int:
    for _ in range(100):
        if await _submitted(http, world) >= expected:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # and nothing more comes
    return await _submitted(http, world)


async def test_the_same_key_and_body_give_the_first_answer_again(
    module_http: httpx.AsyncClient, world: World
) -> None:
    check_ins = check_ins_of(world)
    http, before = module_http, await _submitted(module_http, world)
    headers = world.caller("collective") | {"Idempotency-Key": "point-mars"}
    body = {"narrative": "Trois ateliers.", "indicators": {"participants": 12}}
    first = await http.post(check_ins, json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await http.post(check_ins, json=body, headers=headers)
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await _settled(http, world, before + 1) == before + 1

    # Another body with the key: refused, nothing done.
    other = await http.post(check_ins, json=body | {"narrative": "Autre"}, headers=headers)
    assert "another request" in problem(other, 409)["detail"]
    # The same body elsewhere with the key is another request too.
    elsewhere = await http.post(
        f"/v1/cooperations/{world.id(w.CLOSED)}/check-ins", json=body, headers=headers
    )
    problem(elsewhere, 409)
    assert await _settled(http, world, before + 1) == before + 1

    # A refusal is an answer too: given again as it was.
    refused = {"Idempotency-Key": "refus"} | world.caller("facilitator")
    one = await http.post(
        f"/v1/cooperations/{world.coop}/transitions", json={"action": "resume"}, headers=refused
    )
    two = await http.post(
        f"/v1/cooperations/{world.coop}/transitions", json={"action": "resume"}, headers=refused
    )
    problem(one, 409)
    assert two.content == one.content and two.headers["idempotent-replayed"] == "true"


async def test_a_key_is_claimed_by_one_of_two_concurrent_requests(
    module_http: httpx.AsyncClient, world: World
) -> None:
    check_ins = check_ins_of(world)
    http, before = module_http, await _submitted(module_http, world)
    headers = world.caller("collective") | {"Idempotency-Key": "en-meme-temps"}
    body = {"narrative": "Envoyé deux fois."}
    answers = await asyncio.gather(
        *(http.post(check_ins, json=body, headers=headers) for _ in "ab")
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses in ([201, 201], [201, 409]), [a.text for a in answers]
    created = [a for a in answers if a.status_code == 201]
    assert len({a.content for a in created}) == 1
    for late in answers:
        if late.status_code == 409:
            assert "still running" in problem(late, 409)["detail"]
    # Executed once: one submission recorded, and the answer given again from now on.
    assert await _settled(http, world, before + 1) == before + 1
    replayed = await http.post(check_ins, json=body, headers=headers)
    assert replayed.content == created[0].content
    assert replayed.headers["idempotent-replayed"] == "true"


async def test_keys_belong_to_the_tokens_subject(
    module_http: httpx.AsyncClient, world: World, module_pool: asyncpg.Pool
) -> None:
    check_ins = check_ins_of(world)
    http = module_http
    key = {"Idempotency-Key": "cle-partagee"}
    members = f"/v1/cooperations/{world.coop}/members"
    joined = await http.post(
        members,
        json={"id": "atelier-bois", "name": "Atelier bois", "legal_form": "association"},
        headers=world.caller("facilitator") | key,
    )
    assert joined.status_code == 201, joined.text
    # Another subject's same key is its own: executed, not a replay nor a conflict.
    checked_in = await http.post(
        check_ins, json={"narrative": "Avec la même clé."}, headers=world.caller("collective") | key
    )
    assert checked_in.status_code == 201, checked_in.text
    assert "idempotent-replayed" not in checked_in.headers
    # The very same request (path and body) with the same key from another subject is
    # executed as its own: the funder's answer (its line, approved) never reaches the
    # co-funder, for whom the line does not exist.
    approval = {"line": "fdt", "tranche": "feu-vert"}
    approvals = f"/v1/cooperations/{world.coop}/approvals"
    by_funder = await http.post(approvals, json=approval, headers=world.caller("funder") | key)
    assert by_funder.status_code == 200, by_funder.text
    by_co_funder = await http.post(
        approvals, json=approval, headers=world.caller("co_funder") | key
    )
    assert "idempotent-replayed" not in by_co_funder.headers
    problem(by_co_funder, 404)
    # The same subject through another token: the same key, the same request, the first answer.
    async with module_pool.acquire() as conn:
        _, token = await create_token(conn, "facilitator", w.FACILITATOR)
    second_token = {"Authorization": f"Bearer {token}"}
    again = await http.post(
        members,
        json={"id": "atelier-bois", "name": "Atelier bois", "legal_form": "association"},
        headers=second_token | key,
    )
    assert again.headers["idempotent-replayed"] == "true" and again.content == joined.content
    # A key that is not one: refused before anything is done.
    problem(
        await http.post(
            members,
            json={"id": "y", "name": "Y", "legal_form": "association"},
            headers=world.caller("facilitator") | {"Idempotency-Key": "k" * 201},
        ),
        400,
    )


# -- 201 and Location ---------------------------------------------------------------------------


async def test_every_creation_answers_201_with_a_location_that_answers_get(
    module_http: httpx.AsyncClient, world: World
) -> None:
    coop = f"/v1/cooperations/{world.coop}"
    # (what, caller, method, path, body), in an order the rules accept: the repayment comes
    # before the write-off that settles the loan.
    creations: list[tuple[str, str, str, str, Any]] = [
        ("programme", "funder", "POST", "/v1/programmes", programme("nouveau", w.FUNDER)),
        (
            "programme by PUT",
            "funder",
            "PUT",
            "/v1/programmes/par-put",
            programme("par-put", w.FUNDER),
        ),
        (
            "cooperation",
            "facilitator",
            "POST",
            "/v1/cooperations",
            cooperation(f"{world.coop}-b", []),
        ),
        ("funding line", "facilitator", "POST", f"{coop}/funding-lines", {"programme": "fdt-bis"}),
        (
            "transition request",
            "collective",
            "POST",
            f"{coop}/transition-requests",
            {"action": "pause", "reason": "Hiver"},
        ),
        (
            "member",
            "facilitator",
            "POST",
            f"{coop}/members",
            {"id": "jardin", "name": "Jardin partagé", "legal_form": "association"},
        ),
        ("check-in", "collective", "POST", f"{coop}/check-ins", {"narrative": "Un atelier."}),
        (
            "repayment",
            "funder",
            "POST",
            f"{coop}/repayments",
            {"line": "pret", "tranche": "pret", "amount": "250.00"},
        ),
        (
            "write-off",
            "funder",
            "POST",
            f"{coop}/write-offs",
            {"line": "pret", "tranche": "pret", "reason": "Projet arrêté"},
        ),
    ]
    for what, caller, method, path, body in creations:
        headers = world.caller(caller)
        answer = await module_http.request(method, path, json=body, headers=headers)
        assert answer.status_code == 201, f"{what}: {answer.status_code} {answer.text}"
        location = answer.headers.get("location")
        assert location and location.startswith("/v1/"), f"{what}: no Location"
        read = await module_http.get(location, headers=headers)
        assert read.status_code == 200, f"{what}: GET {location} is {read.status_code} {read.text}"
