"""Who calls: a bearer token scoped to a role and a subject (DESIGN.md, "HTTP API")."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from pydantic import BaseModel

from api.problems import Problem
from store.tokens import Role, find_token

# Declared for OpenAPI (the "Authorize" button of /docs); the check itself is below.
bearer = HTTPBearer(auto_error=False, description="A token from `coopflow token create`.")


class Caller(BaseModel):
    token: str
    """The token's id (never the token)."""
    role: Role
    subject: str


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="coopflow"'})


async def caller_of(request: Request) -> Caller | None:
    """The caller a request's bearer token names, once per request; None without a valid one."""
    if hasattr(request.state, "caller"):
        found: Caller | None = request.state.caller
        return found
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    caller = None
    token = token.strip()
    if scheme.lower() == "bearer" and token and len(token) < 200:
        async with request.app.state.pool.acquire() as conn:
            record = await find_token(conn, token)
        if record is not None:
            caller = Caller(token=record.id, role=record.role, subject=record.subject)
    request.state.caller = caller
    return caller


async def current_caller(request: Request, _: Annotated[object, Depends(bearer)] = None) -> Caller:
    caller = await caller_of(request)
    if caller is None:
        has_header = "authorization" in request.headers
        raise _unauthorized(
            "the token is not valid (unknown or revoked)"
            if has_header
            else "no token: send Authorization: Bearer <token> (coopflow token create)"
        )
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
