"""Every answer has a model, so the schema says what each route answers; a method a path does
not serve is 405 with every method it does in `Allow` (RFC 9110 §15.5.6)."""

from __future__ import annotations

import types
import typing
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from api.app import create_app
from runtime.config import Settings

APP = create_app(Settings(public_url="http://t"))


def _schema_routes() -> list[APIRoute]:
    return [
        context.original_route
        for context in iter_route_contexts(APP.routes)
        if isinstance(context.original_route, APIRoute) and context.original_route.include_in_schema
    ]


def _is_model(annotation: Any) -> bool:
    """A pydantic model, or a list or page of them: never a dict, Any or a bare Response."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    origin = typing.get_origin(annotation)
    if origin is list:
        return all(_is_model(arg) for arg in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return all(_is_model(arg) for arg in typing.get_args(annotation))
    return False


def test_every_route_in_the_schema_answers_a_model() -> None:
    untyped = sorted(
        (method, route.path)
        for route in _schema_routes()
        for method in route.methods or ()
        if not _is_model(route.response_model)
    )
    assert untyped == []


def test_a_dict_is_not_a_model() -> None:
    assert not _is_model(dict[str, Any])
    assert not _is_model(list[dict[str, Any]])
    assert not _is_model(None)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/programmes", "GET, POST"),
        ("PATCH", "/v1/programmes/fdt", "GET, PUT"),
        ("PUT", "/v1/webhooks/x", "DELETE, GET"),
        ("POST", "/v1/me", "GET"),
        ("DELETE", "/v1/me/contacts", "GET, PUT"),
        ("PUT", "/healthz", "GET"),
    ],
)
async def test_a_method_not_served_is_405_with_every_allowed_one(
    method: str, path: str, allowed: str
) -> None:
    # Routing answers before any dependency runs: no stack is needed to ask.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=APP), base_url="http://t"
    ) as http:
        answer = await http.request(method, path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 405
