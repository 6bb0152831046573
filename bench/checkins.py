"""Check-ins as the throughput benchmarks send them, on the stack of `bench.stack`: the
programme and the cooperations they go to, the tokens, a check-in through the HTTP API and
the same command as a raw Temporal update, and the wait until the answered ones are all in
the event log.

Every check-in of a cooperation fills period 1 (the current one), replacing the unreviewed
one before it, so the rules refuse none: a refusal counts as a failure.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable

import asyncpg
from temporalio.client import Client

from bench.rounds import Drive, Submit
from bench.scenario import PROGRAMME, register_accepted
from bench.stack import HttpClient
from domain.commands import SubmitCheckIn
from domain.programme import ProgrammeSpec, ProgrammeVersion
from runtime.config import Settings
from runtime.connect import connect_temporal
from runtime.temporal import cooperation_workflow_id
from store.db import Conn, create_pool
from store.programmes import put_programme
from store.tokens import Role, create_token
from workflows.client import CommandRefused, send
from workflows.models import CommandRequest

COOPERATIONS = 50
"""Per side: enough that 16 clients going round-robin rarely meet on one workflow."""
REGISTERING = 10
"""Registrations at once: each waits for its commitment in PostgreSQL."""
INDICATORS = {"participants": 12}
NARRATIVE = "Trois ateliers de réparation, un nouveau bénévole."


def names(side: str) -> list[str]:
    """A side's cooperations (or workflows), each its own id."""
    return [f"{side}-{i:03d}" for i in range(COOPERATIONS)]


async def programme(database_url: str) -> ProgrammeVersion:
    """The benchmarks' programme, put as the API does."""
    pool = await create_pool(database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            spec = ProgrammeSpec.model_validate(PROGRAMME)
            return (await put_programme(conn, spec)).version
    finally:
        await pool.close()


async def tokens(database_url: str, holders: Iterable[tuple[Role, str]]) -> dict[str, str]:
    """A bearer token for each (role, subject), by subject."""
    conn = await asyncpg.connect(database_url)
    try:
        return {subject: (await create_token(conn, role, subject))[1] for role, subject in holders}
    finally:
        await conn.close()


async def temporal(address: str) -> Client:
    return await connect_temporal(Settings(temporal_address=address), wait=30)


async def register_all(
    client: Client,
    task_queue: str,
    ids: list[str],
    version: ProgrammeVersion,
    facilitator: str | None = None,
) -> None:
    limit = asyncio.Semaphore(REGISTERING)

    async def one(cooperation: str) -> None:
        async with limit:
            await register_accepted(client, cooperation, version, task_queue, facilitator)

    await asyncio.gather(*(one(i) for i in ids))


def http_submit(
    http: HttpClient, tokens: dict[str, str], created: Callable[[str, str], None] | None = None
) -> Submit:
    """`POST /v1/cooperations/{id}/check-ins` with the collective's token (API → update →
    workflow → answer); `created` is told each check-in's cooperation and id as its 201
    arrives."""

    async def submit(cooperation: str) -> str | None:
        try:
            answer = await http.request(
                "POST",
                f"/v1/cooperations/{cooperation}/check-ins",
                body={"narrative": NARRATIVE, "indicators": INDICATORS},
                headers={"Authorization": f"Bearer {tokens[cooperation]}"},
            )
        except (OSError, ValueError, asyncio.IncompleteReadError) as error:
            return f"HTTP: {type(error).__name__} {error}"
        if answer.status != 201:
            return f"HTTP {answer.status}: {answer.body[:200].decode(errors='replace')}"
        if created is not None:
            created(cooperation, str(answer.json()["id"]))
        return None

    return submit


def raw_submit(client: Client) -> Submit:
    """The same `SubmitCheckIn` sent as an update from this process
    (`workflows.client.send`)."""

    async def submit(cooperation: str) -> str | None:
        command = SubmitCheckIn(check_in_id=f"ci-{uuid.uuid4().hex[:20]}", indicators=INDICATORS)
        handle = client.get_workflow_handle(cooperation_workflow_id(cooperation))
        try:
            await send(handle, CommandRequest(command=command))
        except CommandRefused as refused:
            return f"raw: {refused.kind}: {refused}"
        return None

    return submit


async def events_of(db: Conn, kind: str) -> int:
    """How many events of this type the log holds."""
    return int(await db.fetchval("SELECT count(*) FROM events WHERE type = $1", kind))


async def projected(db: Conn, expected: int) -> None:
    """Wait until the check-ins answered so far are all in the event log: the effects of one
    drive must not run on into the next, and an answered check-in must not be lost."""
    found = 0
    for _ in range(1200):
        found = await events_of(db, "CheckInSubmitted")
        if found == expected:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{found} check-ins in the event log, {expected} answered")


class Projected:
    """Counts the check-ins answered over the drives, each drive settled once they are all
    in the event log (`rounds.measured`'s `settled`)."""

    def __init__(self, db: Conn) -> None:
        self.db = db
        self.answered = 0

    async def __call__(self, done: Drive) -> None:
        self.answered += done.sent - len(done.failures)
        await projected(self.db, self.answered)
