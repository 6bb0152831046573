"""Sending a command to a cooperation's workflow on a caller's behalf.

Each command is declared once, as an `Order` in api/orders.py's table: who may send it, to
which part of the cooperation, the domain command built at the door, and the event that
answers it. A route reads its body, asks the order (`may`, `door`, then `send`, or all at
once by calling it), and shapes the answer. The order runs the one sequence every command
goes through: the caller's view of the cooperation (404 out of scope), the part or line it
acts on (404 when unseen), the relation allowed (403), the door (422), the command applied
exactly once, its event picked (409 when a repeat lost it).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Generic, TypeVar

import asyncpg
from fastapi import Depends, Request, Response
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from api.access import (
    SHARED,
    Relation,
    Seen,
    allow,
    cooperation_seen,
    not_found,
    reads,
    seen_as,
)
from api.auth import Caller, bearer, caller_in
from api.problems import Problem, invalid, refusal
from api.reading import latest_summary, no
from domain import commands as c
from domain.events import Event
from domain.limits import at_door
from runtime.config import Settings
from runtime.temporal import cooperation_workflow_id
from store.answers import answered
from store.db import Conn
from store.events import list_events
from store.scope import Involved
from workflows.client import CommandRefused, NoAnswer, UnknownCooperation, send
from workflows.models import CommandAnswer, CommandRequest

M = TypeVar("M", bound=BaseModel)
C = TypeVar("C", bound=c.Command)
T = TypeVar("T")


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
            events = await list_events(conn, cooperation_id, first - 1, last - first + 1)
        if len(events) == last - first + 1:
            return events
        if loop.time() >= until:
            raise Problem(
                503,
                f"the command was applied to cooperation {cooperation_id!r}, and its events"
                " are not yet in the log: send it again with the same Idempotency-Key",
                headers={"Retry-After": "5"},
            )
        await asyncio.sleep(0.1)


@dataclass(frozen=True)
class Acting:
    """A call on one cooperation's routes: the caller, the cooperation, and what reading it
    and sending it a command take."""

    cooperation_id: str
    caller: Caller
    request: Request
    response: Response
    pool: asyncpg.Pool
    client: Client
    first_look: list[Involved | None] = field(default_factory=list)
    """The cooperation's parties as read with the caller's token (api/auth.py `caller_in`),
    for the first look only: a later one reads them as they are then."""

    async def seen(self) -> Seen:
        if self.first_look:
            return seen_as(self.caller, self.cooperation_id, self.first_look.pop())
        async with self.pool.acquire() as conn:
            return await cooperation_seen(conn, self.caller, self.cooperation_id)

    async def read_shared(self, part: str, query: Callable[[Conn, str], Awaitable[T]]) -> T:
        """What `query` reads of the cooperation's shared `part` (check-ins, requests): out of
        a fiscal host's scope (404)."""
        reads(await self.seen(), SHARED, part)
        async with self.pool.acquire() as conn:
            return await query(conn, self.cooperation_id)

    @property
    def by(self) -> dict[str, str]:
        """The caller as a command records who acted."""
        return {"role": self.caller.role, "id": self.caller.subject}

    def locate(self, path: str) -> None:
        """The Location of what the command made, below the cooperation."""
        self.response.headers["Location"] = f"/v1/cooperations/{self.cooperation_id}/{path}"


async def _acting(
    cooperation_id: str,
    request: Request,
    response: Response,
    _: Annotated[object, Depends(bearer)] = None,
) -> Acting:
    # The caller and the cooperation's parties in one round trip (not CallerDep's one each),
    # the pool and the client from the app (sub-dependencies cost each request their solving).
    caller, first_look = await caller_in(request, cooperation_id)
    state = request.app.state
    return Acting(cooperation_id, caller, request, response, state.pool, state.temporal, first_look)


ActingDep = Annotated[Acting, Depends(_acting)]


@dataclass(frozen=True)
class Sent:
    """A command's answer, with the events of the kind that answers its order."""

    answer: CommandAnswer
    answering: tuple[Event, ...]

    @property
    def event(self) -> Event:
        """The first answering event: an order that requires one never comes back without."""
        return self.answering[0]


@dataclass(frozen=True)
class Order(Generic[C]):
    """One command as the routes send it (DESIGN.md, "HTTP API (v1), by role")."""

    who: tuple[Relation, ...]
    """The relations that may send it; any other in scope is 403."""
    does: str
    """What it does, as the 403 says: "a collective may not {does}"."""
    command: type[C]
    """The domain command, built at the door from what the route gives."""
    answers: str | None = None
    """The type of the event that answers it; 409 when a request recorded none now (one
    the rules took already, whose first answer is not known here)."""
    answers_may_be_gone: bool = False
    """A repeat may come back without its event (no longer held by the run): no 409, the
    route reads it from the log."""
    shared: str | None = None
    """The shared part it acts on (check-ins, requests): out of a fiscal host's scope, so
    acting on it is not found, as reading it is."""

    async def may(self, acting: Acting, line: str | None = None) -> Seen:
        """The caller's view of the cooperation, once allowed to send this on `line`."""
        seen = await acting.seen()
        if self.shared is not None:
            reads(seen, SHARED, self.shared)
        if line is not None and not seen.sees_line(line):
            raise no("funding line", line, acting.cooperation_id)
        allow(seen, self.who, self.does)
        return seen

    def door(self, data: Mapping[str, Any]) -> C:
        return door(self.command, dict(data))

    async def send(self, acting: Acting, command: C) -> Sent:
        return self.answered(await self.apply(acting, command))

    async def apply(self, acting: Acting, command: C) -> CommandAnswer:
        return await apply(
            acting.request, acting.client, acting.caller, acting.cooperation_id, command
        )

    def answered(self, answer: CommandAnswer) -> Sent:
        """The answer with its answering events; 409 when it lacks the one it needs."""
        answering = tuple(e for e in answer.events if e.type == self.answers)
        if self.answers is not None and not answering and not self.answers_may_be_gone:
            raise Problem(409, f"this request was already taken: it recorded no {self.answers} now")
        return Sent(answer, answering)

    async def __call__(
        self, acting: Acting, data: Mapping[str, Any], line: str | None = None
    ) -> Sent:
        """May, door, send: for a route with nothing to check in between."""
        await self.may(acting, line)
        return await self.send(acting, self.door(data))
