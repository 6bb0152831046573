"""The HTTP API (v1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from temporalio.client import Client

from api import problems
from api.middleware import RequestGate
from api.routes import actions, cooperations, health, me, programmes, queues, reports
from domain.cooperation import CooperationSpec
from domain.programme import ProgrammeSpec
from runtime.config import Settings, get_settings
from runtime.connect import connect_postgres, connect_temporal


def create_app(
    settings: Settings | None = None,
    *,
    pool: asyncpg.Pool | None = None,
    client: Client | None = None,
) -> FastAPI:
    """The app; tests pass their own pool and client, `coopflow api` lets it connect."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_pool = pool is None
        app.state.settings = settings
        app.state.pool = pool or await connect_postgres(settings)
        app.state.temporal = client or await connect_temporal(settings)
        try:
            yield
        finally:
            if own_pool:
                await app.state.pool.close()

    app = FastAPI(
        title="coopflow",
        version="1",
        summary="Funding-lifecycle engine for territorial cooperations",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    problems.install(app)
    app.add_middleware(RequestGate)
    for module in (health, me, programmes, cooperations, actions, queues, reports):
        app.include_router(module.router)
    _document_raw_bodies(app)
    return app


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

        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (ProgrammeSpec, CooperationSpec):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
