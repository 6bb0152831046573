"""The app's routers are matched in the order create_app includes them, the commands first
for speed: that order must decide nothing, so no route of one router may take a path and a
method that a route of another also takes; and the API is documented in its own order."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from api.app import ROUTERS, create_app
from notify.sealing import generate_key
from runtime.config import Settings


def leaves(routes: list[Any], router: int | None = None) -> Iterator[tuple[int, Any]]:
    """Each route with the router it is in (its index in the app's list)."""
    for i, route in enumerate(routes):
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from leaves(inner.routes, i if router is None else router)
        else:
            yield (i if router is None else router), route


def overlap(a: str, b: str) -> bool:
    """Whether some path matches both templates: each segment pair equal or one of them a
    parameter, with as many segments, unless one ends with a `{x:path}` that takes the rest."""
    left, right = a.strip("/").split("/"), b.strip("/").split("/")
    for x, y in itertools.zip_longest(left, right):
        if (x or "").endswith(":path}") or (y or "").endswith(":path}"):
            return True
        if x is None or y is None:
            return False
        if x != y and not x.startswith("{") and not y.startswith("{"):
            return False
    return True


def template(route: Any) -> tuple[str, set[str]]:
    """A route's path template and methods; a mount takes every method below its path."""
    methods = getattr(route, "methods", None)
    if methods is None:
        return route.path + "/{rest:path}", {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
    return route.path, set(methods)


def test_no_path_and_method_is_taken_by_two_routers() -> None:
    app = create_app(Settings(public_url="http://t", secrets_key=generate_key()))
    routes = [
        (router, *template(route))
        for router, route in leaves(app.routes)
        if getattr(route, "path", None)
    ]
    # The routers are there, each with its routes: the check sees them all.
    assert len({router for router, _, _ in routes}) > 15
    assert any(path == "/v1/cooperations/{cooperation_id}/check-ins" for _, path, _ in routes)
    shared = [
        (a, b)
        for (ra, a, ma), (rb, b, mb) in itertools.combinations(routes, 2)
        if ra != rb and ma & mb and overlap(a, b)
    ]
    assert shared == []


def test_overlap_sees_a_parameter_against_a_literal() -> None:
    assert overlap("/v1/cooperations/{id}/check-ins", "/v1/cooperations/mine/check-ins")
    assert not overlap("/v1/cooperations/{id}/check-ins", "/v1/cooperations/{id}/requests")
    assert not overlap("/v1/cooperations/{id}", "/v1/cooperations/{id}/requests")
    assert overlap("/static/{rest:path}", "/static/{name}")
    assert not overlap("/static/{rest:path}", "/v1/cooperations")


def test_the_schema_lists_the_routers_in_their_documented_order() -> None:
    app = create_app(Settings(public_url="http://t", secrets_key=generate_key()))
    documented = [
        route.path
        for module in ROUTERS
        for route in module.router.routes
        if getattr(route, "include_in_schema", False)
    ]
    # The commands are matched first, but presented where they were.
    assert list(app.openapi()["paths"]) == list(dict.fromkeys(documented))
    assert documented[0] != "/v1/cooperations/{cooperation_id}/funding-lines"
