"""Dependencies shared by the routes (async: FastAPI runs a plain function in its
threadpool, two thread hand-offs for nothing)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import asyncpg
import yaml
from fastapi import Depends, Request
from temporalio.client import Client

from api.guard import YAML_LOADER, YAML_TYPES
from api.problems import Problem
from runtime.config import Settings


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def _client(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
TemporalDep = Annotated[Client, Depends(_client)]
SettingsDep = Annotated[Settings, Depends(_settings)]


async def document_body(request: Request) -> Any:
    """A JSON body, or YAML when sent as application/yaml (funders write specs in YAML)."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    try:
        if content_type in YAML_TYPES:
            return yaml.load(raw, Loader=YAML_LOADER)
        if content_type in ("application/json", "") or content_type.endswith("+json"):
            return json.loads(raw or b"null")
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Problem(400, f"the body is not valid {content_type}: {exc}") from None
    raise Problem(415, f"send application/json or application/yaml, not {content_type}")


DocumentDep = Annotated[Any, Depends(document_body)]


def document_openapi(schema: str, example_name: str, example: Any) -> dict[str, Any]:
    """The OpenAPI request body of a route reading `DocumentDep` as the model `schema`: FastAPI
    cannot see the model behind the dependency, so the route states it, in JSON and in YAML."""
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": ref,
                    "examples": {example_name: {"value": example}},
                },
                "application/yaml": {"schema": ref},
            },
        }
    }
