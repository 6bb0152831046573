"""The served OpenAPI schema, fuzzed by schemathesis against the app on the real stack: valid
and invalid requests of every operation, as each role, on a small world whose ids the fuzzer
is given half of the time (so it reaches past 404). Never a 5xx; every 4xx is
application/problem+json with `status`, `title` and `detail`, a 422 naming its fields; what
the schema says is invalid is refused.

Schemathesis builds one Hypothesis test per operation; the test is a coroutine on the
session's event loop (schemathesis runs it on the current loop), so each request goes through
the same in-process app, PostgreSQL pool, Temporal client and worker as every other API test.
The number of examples is bounded (EXAMPLES) to keep the run well under two minutes.
"""

from __future__ import annotations

import json
import os
import tomllib
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jsonschema_rs
import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.jsonschema.patterns import enforced_pattern
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from api.app import create_app
from runtime.config import Settings
from tests.api import world as w
from tests.api.conftest import Auth
from tests.api.world import World

pytestmark = [pytest.mark.integration]

EXAMPLES = 6
"""Per operation and role: about 40 operations × 3 roles."""

# The world's cooperations' ids, known before the world is built (the config is).
SUFFIX = uuid.uuid4().hex[:6]
# What the world holds, offered to the fuzzer in place of a generated value half of the time.
KNOWN = {
    "cooperations": [f"{name}-{SUFFIX}" for name in (w.COOP, w.NEIGHBOUR, w.CLOSED)],
    "programmes": ["fdt", "fdt-bis", "pret", "reg"],
    "tranches": ["amorcage", "feu-vert", "emergence-2", "pret"],
    "members": ["habitants", "repair-cafe", "partant"],
}
BINDINGS = {
    "path.cooperation_id": "cooperations",
    "path.programme_id": "programmes",
    "path.programme": "programmes",
    "path.member": "members",
    "query.programme": "programmes",
    "body.programme": "programmes",
    "body.line": "programmes",
    "body.tranche": "tranches",
}

# The repository's schemathesis.toml (what `schemathesis run` reads): the operations where a
# request valid by the schema may be refused for what no schema states.
ROOT_CONFIG = tomllib.loads((Path(__file__).parents[2] / "schemathesis.toml").read_text())
CONFIG = schemathesis.Config.from_dict(
    {
        **ROOT_CONFIG,
        "dictionaries": {name: {"values": values} for name, values in KNOWN.items()},
        "parameters": {
            key: {"dictionary": name, "probability": 0.5} for key, name in BINDINGS.items()
        },
    }
)
# The same schema `GET /openapi.json` serves (checked below), read without a running stack.
SCHEMA = schemathesis.openapi.from_dict(
    create_app(Settings(public_url="http://t")).openapi(), config=CONFIG
)

ROLES = ("funder", "facilitator", "collective")
"""Each with the world's token: fondation, the facilitator anim, the collective of ruche."""


@pytest_asyncio.fixture(scope="module")
async def world(
    module_http: httpx.AsyncClient, module_auth: Auth, module_pool: asyncpg.Pool
) -> World:
    return await w.build(module_http, module_auth, module_pool, SUFFIX)


def problem_details(ctx: CheckContext, response: schemathesis.Response, case: Any) -> bool:
    """Every 4xx is application/problem+json with status, title and detail; a 422 names the
    path of each bad field."""
    del ctx, case
    if not 400 <= response.status_code < 500:
        return True
    media_type = (response.headers.get("content-type") or [""])[0]
    assert media_type == "application/problem+json", f"{response.status_code} as {media_type}"
    body = json.loads(response.content)
    assert body["status"] == response.status_code, body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if response.status_code == 422:
        assert body["errors"] and all(isinstance(e["path"], str) for e in body["errors"]), body
    return True


def media_type_probes(ctx: CheckContext, response: schemathesis.Response, case: Any) -> bool:
    """A body of a media type not served is 415 (a malformed type, 400 or 415)."""
    del ctx
    data = case.meta.phase.data if case.meta is not None else None
    if not isinstance(data, CoveragePhaseData) or not case.operation.body:
        return True
    if data.scenario == CoverageScenario.UNSUPPORTED_CONTENT_TYPE:
        assert response.status_code == 415, response.status_code
    if data.scenario == CoverageScenario.MALFORMED_CONTENT_TYPE:
        assert response.status_code in (400, 415), response.status_code
    return True


def _spoils_the_token(case: Any) -> bool:
    meta = case.meta
    if meta is None or not meta.is_negative_at(ParameterLocation.HEADER):
        return False
    parameter = getattr(meta.phase.data, "parameter", None)
    return parameter is None or str(parameter).lower() == "authorization"


CHECKS = [
    not_a_server_error,
    problem_details,
    media_type_probes,
    negative_data_rejection,
    # What the schema says is valid is taken, save where schemathesis.toml says why not.
    positive_data_acceptance,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    # A method the path does not serve is 405 naming, in Allow, every method it does.
    unsupported_method,
    allow_header_conformance,
    missing_required_header,
]


async def send(http: httpx.AsyncClient, case: Any, headers: dict[str, str]) -> Any:
    kwargs = case.as_transport_kwargs(base_url=str(http.base_url), headers=headers)
    return await http.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers=kwargs.get("headers"),
        content=kwargs.get("data"),
        json=kwargs.get("json"),
    )


@pytest.mark.parametrize("role", ROLES)
@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # The same examples on every run, so `make test` does not fail by chance; set
    # COOPFLOW_FUZZ_RANDOM=1 to explore new ones (a failure prints its curl to replay it).
    derandomize=not os.environ.get("COOPFLOW_FUZZ_RANDOM"),
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
async def test_no_server_error_and_every_error_is_a_problem(
    case: Any, role: str, module_http: httpx.AsyncClient, world: World
) -> None:
    headers = world.caller(role)
    if _spoils_the_token(case):
        # The fuzzer left the token out or spoiled it on purpose: sent as it made it (401).
        headers = {}
    response = await send(module_http, case, headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


async def test_the_fuzzed_schema_is_the_served_one(module_http: httpx.AsyncClient) -> None:
    served = await module_http.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(SCHEMA.raw_schema))


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [
            p for key, value in node.items() if key != "examples" for p in _patterns(value)
        ]
    if isinstance(node, list):
        return [p for item in node for p in _patterns(item)]
    return []


def test_every_pattern_is_one_schemathesis_enforces() -> None:
    """A pattern the fuzzer's validator cannot compile is dropped whole: the schema then says
    nothing of it, and the fuzzer sends what it forbade (a NUL in a convention reference) as
    valid."""
    patterns = set(_patterns(SCHEMA.raw_schema))
    assert r"^[^\u0000]*$" in patterns
    assert {p for p in patterns if enforced_pattern(p) != p} == set()


def test_the_schema_refuses_what_the_door_refuses_of_a_line() -> None:
    """An empty allocation (refused: at least one payee) and a NUL in a member's name are
    invalid by the served schema itself, in JSON and in YAML alike."""
    body = SCHEMA.raw_schema["paths"]["/v1/cooperations"]["post"]["requestBody"]["content"]
    for media_type in ("application/json", "application/yaml"):
        validator = jsonschema_rs.Draft202012Validator(
            {**body[media_type]["schema"], "components": SCHEMA.raw_schema["components"]}
        )
        good = {
            "id": "coop",
            "name": "Coop",
            "kind": "systemic",
            "economic_model": "hybrid",
            "members": [{"id": "m", "name": "M", "legal_form": "association"}],
            "funding_lines": [{"programme": "fdt", "allocation": [{"payee": "m", "share": "1"}]}],
        }
        assert validator.is_valid(good), list(validator.iter_errors(good))
        empty = {**good, "funding_lines": [{"programme": "fdt", "allocation": []}]}
        nul = {**good, "members": [{"id": "m", "name": "M\x00", "legal_form": "association"}]}
        assert not validator.is_valid(empty)
        assert not validator.is_valid(nul)


def test_refusals_no_schema_states_are_listed_with_their_answer() -> None:
    """The operations where schemathesis.toml lets a schema-valid request be refused: each is
    one whose refusal depends on stored data, the outside world or several fields at once, and
    the refusal is a 4XX problem the operation documents."""
    paths = SCHEMA.raw_schema["paths"]
    listed = {
        (method.lower(), path)
        for entry in ROOT_CONFIG["operations"]
        for method, path in (name.split(" ", 1) for name in entry["include-name"])
    }
    assert listed == {
        ("get", "/v1/programmes"),
        ("get", "/v1/cooperations"),
        ("get", "/v1/check-ins"),
        ("get", "/v1/transition-requests"),
        ("post", "/v1/webhooks"),
        ("post", "/v1/programmes"),
        ("put", "/v1/programmes/{programme_id}"),
        ("post", "/v1/cooperations"),
        ("post", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/amendments"),
        ("post", "/v1/cooperations/{cooperation_id}/payments"),
        ("post", "/v1/cooperations/{cooperation_id}/approvals"),
        ("post", "/v1/cooperations/{cooperation_id}/transitions"),
        ("post", "/v1/cooperations/{cooperation_id}/funding-lines"),
        ("post", "/v1/cooperations/{cooperation_id}/repayments"),
        ("post", "/v1/cooperations/{cooperation_id}/write-offs"),
        ("post", "/v1/cooperations/{cooperation_id}/transition-requests/{seq}/decline"),
    }
    for method, path in listed:
        problem = paths[path][method]["responses"]["4XX"]["content"]["application/problem+json"]
        assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
    # Only there: an operation not listed keeps schemathesis's default.
    for label, expected in (
        ("POST /v1/webhooks", True),
        ("GET /v1/webhooks", False),
        ("POST /v1/cooperations", True),
        ("GET /v1/cooperations/{cooperation_id}", False),
    ):
        method, path = label.split(" ", 1)
        checks = SCHEMA.config.checks_config_for(operation=SCHEMA[path][method])
        assert ("422" in checks.positive_data_acceptance.expected_statuses) is expected, label


@pytest.mark.parametrize("seq", ["7457506832711819099897856", "0"])
async def test_a_request_number_out_of_range_is_refused_not_a_server_error(
    seq: str, module_http: httpx.AsyncClient, world: World
) -> None:
    """Past bigint, the number reached PostgreSQL and answered 500 (found by this fuzzer)."""
    answer = await module_http.get(
        f"/v1/cooperations/{world.coop}/transition-requests/{seq}",
        headers=world.caller("facilitator"),
    )
    assert answer.status_code == 422, answer.text
    assert [e["path"] for e in answer.json()["errors"]] == ["path.seq"]
