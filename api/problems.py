"""Errors as application/problem+json (RFC 9457), with the path of every bad field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from runtime.logging import get_logger
from workflows.client import CommandRefused

PROBLEM = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid input",
    500: "Internal error",
    503: "Service unavailable",
}

_REFUSAL_STATUS = {"Conflict": 409, "Forbidden": 403, "InvalidInput": 422}

log = get_logger("coopflow.api")


class Problem(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        type_: str = "about:blank",
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors or [])
        self.type = type_
        self.extra = extra or {}
        self.headers = headers or {}


def field_errors(errors: Iterable[Any], prefix: Sequence[str | int] = ()) -> list[dict[str, Any]]:
    """pydantic errors as `{path, pointer, message}`: the path of every bad field."""
    out = []
    for err in errors:
        # "[key]" marks a bad dict key (e.g. an unknown phase): the path is the key itself.
        loc = [*prefix, *[p for p in err["loc"] if p not in ("body", "[key]")]]
        message = str(err["msg"]).removeprefix("Value error, ")
        out.append(
            {
                "path": ".".join(str(p) for p in loc),
                "pointer": "/" + "/".join(str(p) for p in loc),
                "message": message,
                "type": err["type"],
            }
        )
    return out


def field_error(path: str, message: str, type: str) -> dict[str, Any]:
    """One bad field of a problem, as `field_errors` gives pydantic's: a dotted path and
    its JSON pointer."""
    return {
        "path": path,
        "pointer": "/" + path.replace(".", "/"),
        "message": message,
        "type": type,
    }


def bad_cursor() -> Problem:
    return Problem(
        400,
        "cursor: not a cursor this API gave (use next_cursor as it came)",
        errors=[field_error("cursor", "not a cursor", "cursor")],
    )


def invalid(exc: ValidationError, prefix: Sequence[str | int] = ()) -> Problem:
    errors = field_errors(exc.errors(), prefix)
    paths = ", ".join(e["path"] or "(body)" for e in errors)
    return Problem(422, f"invalid fields: {paths}", errors=errors)


def refusal(refused: CommandRefused) -> Problem:
    """A command the rules (or the budget) refused: 409, 403 or 422 naming the field; a bug
    in the rules is a 500, said as such."""
    status = _REFUSAL_STATUS.get(refused.kind, 500)
    errors = []
    if refused.field:
        errors.append(field_error(refused.field, refused.message, refused.kind))
    extra = refused.details if isinstance(refused.details, dict) else None
    return Problem(status, str(refused), errors=errors, extra=extra)


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _whole_body_refused(exc: RequestValidationError) -> bool:
    return any(tuple(e.get("loc", ())) == ("body",) for e in exc.errors())


def problem_body(problem: Problem, instance: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        "instance": instance,
    }
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    return body


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    return JSONResponse(
        problem_body(problem, request.url.path),
        status_code=problem.status,
        media_type=PROBLEM,
        headers=problem.headers,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path, in a stable order."""
    path = request.url.path
    return sorted(
        {
            m
            for pattern, methods in _route_methods(request.app)
            for m in methods
            if pattern.match(path)
        }
    )


def _route_methods(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    # Built on the first 405, once every router is included.
    known: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "route_methods", None
    )
    if known is None:
        known = []
        for context in iter_route_contexts(app.routes):
            methods = getattr(context.original_route, "methods", None)
            if context.path and methods:
                known.append((compile_path(context.path)[0], frozenset(methods)))
        app.state.route_methods = known
    return known


def install(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(request, exc)

    async def on_request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            first = next(e for e in exc.errors() if e.get("type") == "json_invalid")
            detail = first.get("ctx", {}).get("error", "invalid JSON")
            return problem_response(request, Problem(400, f"the body is not JSON: {detail}"))
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type and not _is_json(media_type) and _whole_body_refused(exc):
            # FastAPI hands a body of another media type to the model as bytes: the model
            # then refuses the whole body, which is the media type's fault (415), not a field's.
            return problem_response(
                request, Problem(415, f"send application/json, not {media_type}")
            )
        errors = field_errors(exc.errors())
        paths = ", ".join(e["path"] or "(body)" for e in errors)
        return problem_response(request, Problem(422, f"invalid fields: {paths}", errors=errors))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route on the path only; a path served
            # by several routes (GET and POST apart) allows all of theirs (RFC 9110 §15.5.6).
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(request, Problem(exc.status_code, str(exc.detail), headers=headers))

    async def on_anything(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not the caller's fault: said as such, logged with what to look for.
        log.exception("unhandled error", path=request.url.path, method=request.method)
        return problem_response(request, Problem(500, f"internal error: {type(exc).__name__}"))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_anything)
