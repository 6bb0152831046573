"""The HTTP API (v1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from starlette.routing import BaseRoute
from temporalio.client import Client

from api import docs, guard, problems, web
from api.middleware import RequestGate
from api.problems import PROBLEM
from api.public import public_base
from api.routes import (
    actions,
    conventions,
    cooperations,
    fiscal_host,
    funder_views,
    graduation,
    health,
    invitations,
    me,
    members,
    payments,
    programmes,
    queues,
    reports,
    webhooks,
)
from domain.cooperation import CooperationSpec
from domain.programme import ProgrammeSpec
from notify.webhooks import Policy
from runtime.config import Settings, get_settings
from runtime.connect import connect_postgres, connect_temporal
from runtime.tracing import API, tracer_provider


def create_app(
    settings: Settings | None = None,
    *,
    pool: asyncpg.Pool | None = None,
    client: Client | None = None,
) -> FastAPI:
    """The app; tests pass their own pool and client, `coopflow api` lets it connect. Without a
    public URL (COOPFLOW_PUBLIC_URL) there is no app: nothing may build a link from a request
    (StartupError naming the setting)."""
    settings = settings or get_settings()
    public_base(settings)
    # Where webhooks may go and the key of their secrets: a StartupError, naming the setting,
    # when one is missing or wrong (no subscription is ever stored with a plaintext secret).
    webhook_policy = Policy.of(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_pool = pool is None
        app.state.settings = settings
        # What the routes run leaves no session state (store/db.py): no reset query per release.
        app.state.pool = pool or await connect_postgres(settings, reset_session=False)
        tracing = None if client else tracer_provider(settings.otel_endpoint, API)
        # The API's own Prometheus endpoint (its commands, the SDK's client metrics), at this
        # process's COOPFLOW_METRICS_ADDRESS.
        app.state.temporal = client or await connect_temporal(
            settings, metrics_address=settings.metrics_address, tracing=tracing
        )
        try:
            yield
        finally:
            if own_pool:
                await app.state.pool.close()
            if tracing is not None:
                tracing.shutdown()  # the last spans, flushed

    app = FastAPI(
        title="coopflow",
        version="1",
        summary="Funding-lifecycle engine for territorial cooperations",
        description=DESCRIPTION,
        lifespan=lifespan,
        # A body without a Content-Type is read as JSON on every route, as the specs' routes
        # (JSON or YAML, read by hand) do; a declared media type not served is 415.
        strict_content_type=False,
        # Swagger UI from this host (api/docs.py), never FastAPI's CDN pages.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.webhook_policy = webhook_policy
    problems.install(app)
    # Checked after the RequestGate has bounded the body; headers put on every answer.
    guard.install(app, strict_transport=settings.web_secure_cookies)
    app.add_middleware(RequestGate)
    # Matched in this order, route by route: the commands, the busiest, first (a check-in was
    # matched against 47 routes before its own, 75 µs). No two of these routes take the same
    # path and method (tests/api/test_app.py), so the order decides nothing else; the API is
    # documented in ROUTERS' order all the same.
    for module in (actions, *(m for m in ROUTERS if m is not actions)):
        app.include_router(module.router)
    web.install(app)
    _document_raw_bodies(app)
    return app


ROUTERS = (
    docs,
    health,
    me,
    invitations,
    programmes,
    funder_views,
    cooperations,
    actions,
    members,
    conventions,
    graduation,
    queues,
    reports,
    webhooks,
    fiscal_host,
    payments,
)
"""The API's routers in the order its OpenAPI document (and /docs) presents them."""


def _documented(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The app's routes with its routers in ROUTERS' order: what is not one of them keeps its
    place before them (the schema's own route) or after them (the web's)."""
    rank = {id(module.router): i for i, module in enumerate(ROUTERS)}
    first = next((i for i, r in enumerate(routes) if hasattr(r, "original_router")), 0)

    def place(at: int) -> int:
        router = getattr(routes[at], "original_router", None)
        if router is None:
            return -1 if at < first else len(ROUTERS)
        return rank.get(id(router), len(ROUTERS))

    return [routes[at] for at in sorted(range(len(routes)), key=place)]


DESCRIPTION = """
Funders configure staged programmes and accept the funding lines proposed to them;
facilitators register cooperations, propose lines, review check-ins and move cooperations
through phases; collectives check in and ask for transitions.

Every call but `/healthz` carries `Authorization: Bearer <token>` (`coopflow token create
--role funder|facilitator|collective --subject ID`). What is out of the caller's scope is not
found (404); a forbidden action on something in scope is 403. Errors are
`application/problem+json` with the path of every bad field. Every POST may carry an
`Idempotency-Key`: the same key and body give the first answer again.
"""


def _document_raw_bodies(app: FastAPI) -> None:
    # Programme and cooperation specs are read from JSON or YAML by hand, so FastAPI cannot
    # see their schema.
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, routes=_documented(app.routes))
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (ProgrammeSpec, CooperationSpec):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        # CooperationSpec's `model` goes with kind `modelled` only (its validator): said so.
        components["CooperationSpec"]["if"] = {
            "properties": {"kind": {"const": "modelled"}},
            "required": ["kind"],
        }
        components["CooperationSpec"]["then"] = {
            "required": ["model"],
            "properties": {"model": {"type": "string", "minLength": 1}},
        }
        components["CooperationSpec"]["else"] = {"properties": {"model": {"type": "null"}}}
        _document_problems(schema)
        for component in components.values():
            _storable_texts(component)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` gives the path of every bad field.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "pointer", "message"],
                "properties": {
                    "path": {"type": "string"},
                    "pointer": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


STORABLE_TEXT = r"^[^\u0000]*$"
"""No NUL: what PostgreSQL refuses, and so the door (domain.limits.text_problem). The door
refuses a lone surrogate too, but a pattern cannot say so usefully: JSON Schema validators
built on UTF-8 strings (schemathesis's, in Rust) fail to compile `\ud800-\udfff` and drop
the whole pattern, NUL included. A lone surrogate is no Unicode scalar value, so no UTF-8
JSON text (RFC 8259 8.1) holds one as a character; the 4XX answer documents the refusal."""


def _storable_texts(node: Any) -> None:
    """Every free string of the schema says what the door refuses in it."""
    if isinstance(node, list):
        for item in node:
            _storable_texts(item)
        return
    if not isinstance(node, dict):
        return
    free = node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(node)
    if free:
        node["pattern"] = STORABLE_TEXT
    for key, value in node.items():
        if key not in ("examples", "example", "default"):
            _storable_texts(value)


def _document_problems(schema: dict[str, Any]) -> None:
    """Every error is application/problem+json (api/problems.py): said so for each operation,
    in place of FastAPI's default 422 body, which this API never sends."""
    components = schema["components"]["schemas"]
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    problem = {
        "description": "A problem: 400, 401, 403, 404, 409, 413, 415 or 422 (see `detail`)",
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses["4XX"] = problem
