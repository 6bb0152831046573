"""The HTTP API (v1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from temporalio.client import Client

from api import problems
from api.routes import cooperations, health, programmes
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
        lifespan=lifespan,
    )
    problems.install(app)
    app.include_router(health.router)
    app.include_router(programmes.router)
    app.include_router(cooperations.router)
    _document_raw_bodies(app)
    return app


def _document_raw_bodies(app: FastAPI) -> None:
    # Programme specs are read from JSON or YAML by hand, so FastAPI cannot see their schema.
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        spec_schema = ProgrammeSpec.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(spec_schema.pop("$defs", {}))
        components["ProgrammeSpec"] = spec_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
