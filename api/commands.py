"""Sending a command to a cooperation's workflow on a caller's behalf."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
from fastapi import Request
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from api.access import not_found
from api.auth import Caller
from api.problems import Problem, invalid, refusal
from api.reading import latest_summary
from domain import commands as c
from domain.events import Event
from domain.limits import at_door
from runtime.config import Settings
from runtime.temporal import cooperation_workflow_id
from store.answers import answered
from store.events import list_events
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


def answer_within(request: Request) -> timedelta:
    settings: Settings = request.app.state.settings
    return timedelta(seconds=settings.command_answer_seconds)


def door(model: type[M], data: dict[str, Any]) -> M:
    """A domain command built from a request at the door: 422 naming what is wrong."""
    try:
        return at_door(model, {k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        raise invalid(exc) from None


async def apply(
    request: Request, client: Client, caller: Caller, cooperation_id: str, command: c.Command
) -> CommandAnswer:
    """The command's answer, exactly once: a request repeated (the same Idempotency-Key after
    a 503, say) gets the first answer with its events, at any distance in time, and is never
    decided again."""
    named = request_id(request, caller)
    found = await answered_before(request, caller, cooperation_id)
    if found is not None:
        return await _answered_again(request, client, cooperation_id, *found)
    handle = client.get_workflow_handle(cooperation_workflow_id(cooperation_id))
    try:
        answer = await send(
            handle, CommandRequest(command=command, request_id=named), answer_within(request)
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
    if answer.repeated:
        # The workflow keeps only its latest events (none after continue-as-new).
        return answer.model_copy(
            update={"events": await _events_of(request, cooperation_id, answer)}
        )
    return answer


async def answered_before(
    request: Request, caller: Caller, cooperation_id: str
) -> tuple[int, int] | None:
    """The events (first and last seq) a request made from an Idempotency-Key recorded when
    it was answered before: beyond what the workflow remembers, or once it has ended,
    PostgreSQL keeps them (the effects activity writes them with the events)."""
    if not getattr(request.state, "idempotent_request", None):
        return None  # a request id of its own: never seen before
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        return await answered(conn, cooperation_id, request_id(request, caller))


async def _answered_again(
    request: Request, client: Client, cooperation_id: str, first: int, last: int
) -> CommandAnswer:
    pool: asyncpg.Pool = request.app.state.pool
    answer = CommandAnswer(
        events=[],
        state=await latest_summary(client, pool, cooperation_id),
        first_seq=first,
        last_seq=last,
        repeated=True,
    )
    return answer.model_copy(update={"events": await _events_of(request, cooperation_id, answer)})


async def _events_of(request: Request, cooperation_id: str, answer: CommandAnswer) -> list[Event]:
    """Every event a repeated command recorded: those the workflow still held, the others
    from the event log, waiting briefly for the courier to carry them there."""
    first, last = answer.first_seq, answer.last_seq
    if not first or len(answer.events) == last - first + 1:
        return answer.events
    pool: asyncpg.Pool = request.app.state.pool
    settings: Settings = request.app.state.settings
    loop = asyncio.get_running_loop()
    until = loop.time() + settings.answer_events_wait_seconds
    while True:
        async with pool.acquire() as conn:
            rows = await list_events(conn, cooperation_id, first - 1, last - first + 1)
        if len(rows) == last - first + 1:
            return [Event.model_validate(row) for row in rows]
        if loop.time() >= until:
            raise Problem(
                503,
                f"the command was applied to cooperation {cooperation_id!r}, and its events"
                " are not yet in the log: send it again with the same Idempotency-Key",
                headers={"Retry-After": "5"},
            )
        await asyncio.sleep(0.1)
