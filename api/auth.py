"""Who calls: a bearer token scoped to a role and a subject (DESIGN.md, "HTTP API")."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from pydantic import BaseModel

from api.problems import Problem
from store.scope import Involved, token_and_involved
from store.tokens import Role, Token, find_token

# Declared for OpenAPI (the "Authorize" button of /docs); the check itself is below.
bearer = HTTPBearer(auto_error=False, description="A token from `coopflow token create`.")


class Caller(BaseModel):
    token: str
    """The token's id (never the token)."""
    role: Role
    subject: str


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="coopflow"'})


def _presented(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token and len(token) < 200:
        return token
    return None


def _caller(record: Token) -> Caller:
    return Caller(token=record.id, role=record.role, subject=record.subject)


async def caller_of(request: Request) -> Caller | None:
    """The caller a request's bearer token names, once per request; None without a valid one."""
    if hasattr(request.state, "caller"):
        found: Caller | None = request.state.caller
        return found
    token = _presented(request)
    caller = None
    if token is not None:
        async with request.app.state.pool.acquire() as conn:
            record = await find_token(conn, token)
        if record is not None:
            caller = _caller(record)
    request.state.caller = caller
    return caller


def _no_caller(request: Request) -> Problem:
    has_header = "authorization" in request.headers
    return _unauthorized(
        "the token is not valid (unknown or revoked)"
        if has_header
        else "no token: send Authorization: Bearer <token> (coopflow token create)"
    )


async def current_caller(request: Request, _: Annotated[object, Depends(bearer)] = None) -> Caller:
    caller = await caller_of(request)
    if caller is None:
        raise _no_caller(request)
    return caller


async def caller_in(request: Request, cooperation_id: str) -> tuple[Caller, list[Involved | None]]:
    """`current_caller`, and in a list of one the cooperation's parties (`involved`: None when
    it is unknown) read in the same round trip, for the route's first look at it
    (`api.commands.Acting.seen`); an empty list when the caller was known already (the request
    gate reads it for an Idempotency-Key)."""
    token = _presented(request)
    if hasattr(request.state, "caller") or token is None:
        return await current_caller(request), []
    async with request.app.state.pool.acquire() as conn:
        found = await token_and_involved(conn, token, cooperation_id)
    if found is None:
        request.state.caller = None
        raise _no_caller(request)
    record, parties = found
    request.state.caller = caller = _caller(record)
    return caller, [parties]


CallerDep = Annotated[Caller, Depends(current_caller)]
