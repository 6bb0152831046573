"""The walking skeleton across every layer: API → Postgres, API → Temporal → workflow →
activity → Postgres, API ← workflow query. Real dev server, real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import yaml
from temporalio.client import Client

from api.app import create_app
from runtime.config import Settings
from store.tokens import create_token
from worker.main import build_worker

pytestmark = pytest.mark.integration


def cooperation(coop_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": coop_id,
        "name": "Ruche Éphémère",
        "kind": "non_modelled",
        "economic_model": "hybrid",
        "members": [
            {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
            {"id": "ressourcerie", "name": "La Ressourcerie", "legal_form": "association"},
        ],
        "fiscal_host": "pole-107",
        "facilitator": "pole-107",
    }
    body.update(changes)
    return body


def programme(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "id": "coop-2027",
        "name": "Coopérations territoriales 2027",
        "funder": "fondation-exemple",
        "currency": "EUR",
        "budget": "500000.00",
        "phases": {
            "emergence": {
                "check_in_every": "P1M",
                "tranches": [
                    {"id": "amorcage", "amount": "8000.00", "purpose": "animation", "when": "entry"}
                ],
            }
        },
    }
    spec.update(changes)
    return spec


class _AsTheirRole(httpx.Auth):
    """Programmes as their funder, everything else as the cooperations' facilitator: the
    skeleton's requests are each made by the role whose they are."""

    def __init__(self, funder: str, facilitator: str) -> None:
        self.funder = funder
        self.facilitator = facilitator

    def auth_flow(self, request: httpx.Request) -> Any:
        token = self.funder if request.url.path.startswith("/v1/programmes") else self.facilitator
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


@pytest_asyncio.fixture
async def api(
    pool: asyncpg.Pool, temporal_client: Client, task_queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(task_queue=task_queue, public_url="http://t")
    app = create_app(settings, pool=pool, client=temporal_client)
    async with pool.acquire() as conn:
        _, funder = await create_token(conn, "funder", "fondation-exemple")
        _, facilitator = await create_token(conn, "facilitator", "pole-107")
    async with (
        build_worker(temporal_client, pool, task_queue),
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://t",
            auth=_AsTheirRole(funder, facilitator),
        ) as http,
    ):
        yield http


async def test_programme_is_stored_and_versioned(api: httpx.AsyncClient) -> None:
    created = await api.post("/v1/programmes", json=programme())
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/programmes/coop-2027"
    assert created.json()["version"] == 1
    assert created.json()["budget"] == "500000.00"

    same = await api.post("/v1/programmes", json=programme())
    assert same.status_code == 200
    assert same.json()["version"] == 1

    changed_spec = programme(budget="600000.00")
    conflict = await api.post("/v1/programmes", json=changed_spec)
    assert conflict.status_code == 409
    assert "PUT /v1/programmes/coop-2027" in conflict.json()["detail"]

    as_yaml = yaml.safe_dump(changed_spec)
    changed = await api.put(
        "/v1/programmes/coop-2027", content=as_yaml, headers={"content-type": "application/yaml"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    read = await api.get("/v1/programmes/coop-2027")
    assert read.json()["version"] == 2 and read.json()["budget"] == "600000.00"
    versions = (await api.get("/v1/programmes/coop-2027/versions")).json()
    assert [(v["version"], v["budget"]) for v in versions] == [
        (1, "500000.00"),
        (2, "600000.00"),
    ]
    mismatch = await api.put("/v1/programmes/other", json=changed_spec)
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["path"] == "id"


async def test_invalid_programme_gets_422_with_every_bad_path(api: httpx.AsyncClient) -> None:
    spec = programme(budget=500000.0)
    spec["phases"]["maturity"] = {"check_in_every": "P1M", "tranches": []}
    spec["phases"]["emergence"]["check_in_every"] = "monthly"
    spec["phases"]["emergence"]["tranches"][0]["amount"] = "-8000.00"
    response = await api.post("/v1/programmes", json=spec)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    paths = {e["path"] for e in response.json()["errors"]}
    assert paths == {
        "budget",
        "phases.maturity",
        "phases.emergence.check_in_every",
        "phases.emergence.tranches.0.amount",
    }
    # Nothing was stored.
    assert (await api.get("/v1/programmes/coop-2027")).status_code == 404


async def test_yaml_float_money_is_refused(api: httpx.AsyncClient) -> None:
    body = yaml.safe_dump(programme()).replace("'8000.00'", "8000.00")
    response = await api.post(
        "/v1/programmes", content=body, headers={"content-type": "application/yaml"}
    )
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["phases.emergence.tranches.0.amount"]


async def test_cooperation_runs_its_workflow_and_records_the_registration(
    api: httpx.AsyncClient, pool: asyncpg.Pool, temporal_client: Client
) -> None:
    coop = f"ruche-{uuid.uuid4().hex[:6]}"
    assert (await api.post("/v1/programmes", json=programme())).status_code == 201
    created = await api.post(
        "/v1/cooperations", json=cooperation(coop, funding_lines=["coop-2027"])
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/cooperations/{coop}"

    state = created.json()
    assert state["phase"] == "emergence"
    # A line given at registration through the API is a proposal awaiting its funder.
    assert [(line["line"], line["status"]) for line in state["lines"]] == [
        ("coop-2027", "proposed")
    ]
    assert (await api.get(f"/v1/cooperations/{coop}")).json() == state

    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT seq, type FROM events WHERE cooperation_id = $1", coop)
        names = await conn.fetch("SELECT id, name FROM people WHERE cooperation_id = $1", coop)
    assert [(r["seq"], r["type"]) for r in rows] == [
        (1, "CooperationRegistered"),
        (2, "FundingLineProposed"),
        (3, "PhaseEntered"),
    ]
    assert {r["name"] for r in names} == {"Collectif des habitants", "La Ressourcerie"}

    # Names of members stay in PostgreSQL: never in the workflow's history.
    handle = temporal_client.get_workflow_handle(f"cooperation:{coop}")
    history = await handle.fetch_history()
    assert "Collectif des habitants" not in history.to_json()

    again = await api.post(
        "/v1/cooperations",
        json=cooperation(
            coop, members=[{"id": "habitants", "name": "Quelqu'un", "legal_form": "association"}]
        ),
    )
    assert again.status_code == 409
    async with pool.acquire() as conn:
        kept = await conn.fetchval(
            "SELECT name FROM people WHERE cooperation_id = $1 AND id = 'habitants'", coop
        )
    assert kept == "Collectif des habitants"


async def test_a_registration_the_rules_refuse_leaves_no_cooperation_behind(
    api: httpx.AsyncClient, pool: asyncpg.Pool, temporal_client: Client
) -> None:
    # A programme that asks for a lead (chef de file), a cooperation that names none.
    spec = programme(id="avec-chef", requires_lead=True)
    assert (await api.post("/v1/programmes", json=spec)).status_code == 201
    coop = f"ruche-{uuid.uuid4().hex[:6]}"
    response = await api.post(
        "/v1/cooperations", json=cooperation(coop, funding_lines=["avec-chef"])
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["path"] for e in response.json()["errors"]] == ["lead"]
    assert "requires a lead" in response.json()["detail"]
    # No workflow, failed or otherwise, and no stored names.
    assert [
        w async for w in temporal_client.list_workflows(f"WorkflowId = 'cooperation:{coop}'")
    ] == []
    async with pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM people WHERE cooperation_id = $1", coop) == 0
        )
    assert (await api.get(f"/v1/cooperations/{coop}")).status_code == 404


async def test_cooperation_with_unknown_programme_is_refused(api: httpx.AsyncClient) -> None:
    coop = f"ruche-{uuid.uuid4().hex[:6]}"
    response = await api.post("/v1/cooperations", json=cooperation(coop, funding_lines=["nope"]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "funding_lines.0"
    assert (await api.get(f"/v1/cooperations/{coop}")).status_code == 404


async def test_healthz_reports_both_up(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "temporal": "up", "postgres": "up"}


async def test_openapi_documents_the_programme_spec(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()
    assert "ProgrammeSpec" in schema["components"]["schemas"]
    body = schema["paths"]["/v1/programmes"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "application/yaml"}
    assert json.dumps(schema)  # serialisable as served


async def test_invalid_cooperation_gets_422_with_paths(api: httpx.AsyncClient) -> None:
    body = cooperation("solo", members=[{"id": "a", "name": "A", "legal_form": "informal"}])
    body.pop("fiscal_host")
    body["kind"] = "modelled"
    response = await api.post("/v1/cooperations", json=body)
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"model", "fiscal_host"} <= paths
