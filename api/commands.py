"""Sending a command to a cooperation's workflow on a caller's behalf."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from api.access import not_found
from api.auth import Caller
from api.problems import Problem, invalid, refusal
from domain import commands as c
from domain.limits import at_door
from runtime.temporal import cooperation_workflow_id
from workflows.client import CommandRefused, NoAnswer, UnknownCooperation, send
from workflows.models import CommandAnswer, CommandRequest

M = TypeVar("M", bound=BaseModel)


def request_id(request: Request, caller: Caller) -> str:
    """The command's request id, also its update id: from the Idempotency-Key when there is
    one, so a retry after a lost answer is applied once. The key is the caller's, role and
    subject (ids of different roles may be equal); the one kept with the key by the request
    gate (store/idempotency.py) is new once the key has expired."""
    kept: str | None = getattr(request.state, "idempotent_request", None)
    if kept:
        return kept
    key = request.headers.get("idempotency-key")
    if key:
        return f"{caller.role}:{caller.subject}:{key}"
    return str(uuid.uuid4())


def door(model: type[M], data: dict[str, Any]) -> M:
    """A domain command built from a request at the door: 422 naming what is wrong."""
    try:
        return at_door(model, {k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        raise invalid(exc) from None


async def apply(
    request: Request, client: Client, caller: Caller, cooperation_id: str, command: c.Command
) -> CommandAnswer:
    handle = client.get_workflow_handle(cooperation_workflow_id(cooperation_id))
    try:
        return await send(
            handle, CommandRequest(command=command, request_id=request_id(request, caller))
        )
    except CommandRefused as refused:
        raise refusal(refused) from None
    except UnknownCooperation:
        raise not_found(cooperation_id) from None
    except NoAnswer:
        raise Problem(
            503,
            f"cooperation {cooperation_id!r} did not answer in time; the command may still be"
            " applied: send it again with the same Idempotency-Key to learn its outcome",
            headers={"Retry-After": "5"},
        ) from None
