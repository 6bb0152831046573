"""Durability on the real dev server: updates in flight across continue-as-new, the same
request twice, and a worker killed in the middle of a cooperation's run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client, WorkflowHandle

from domain import commands as c
from domain.cooperation import CooperationSpec
from domain.programme import ProgrammeSpec, ProgrammeVersion
from domain.rules import RULES_VERSION
from runtime.localstack import TemporalDevServer
from store.programmes import put_programme
from worker.main import build_worker
from workflows.client import register, send
from workflows.cooperation import CooperationWorkflow
from workflows.models import CommandAnswer, CommandRequest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROGRAMME = ProgrammeSpec.model_validate(
    {
        "id": "coop-2027",
        "name": "Coopérations 2027",
        "funder": "fondation-exemple",
        "currency": "EUR",
        "budget": "500000.00",
        "phases": {
            "emergence": {
                "check_in_every": "P1M",
                "tranches": [
                    {"id": "amorcage", "amount": "8000.00", "purpose": "animation", "when": "entry"}
                ],
            }
        },
    }
)


def cooperation(coop_id: str) -> CooperationSpec:
    return CooperationSpec.model_validate(
        {
            "id": coop_id,
            "name": "Ruche",
            "kind": "non_modelled",
            "economic_model": "non_market",
            "members": [{"id": "asso", "name": "asso", "legal_form": "association"}],
            "facilitator": "pole-107",
            "funding_lines": ["coop-2027"],
        }
    )


async def start(
    client: Client, pool: asyncpg.Pool, task_queue: str, **options: Any
) -> tuple[str, WorkflowHandle[Any, Any]]:
    """A registered cooperation (update-with-start); a worker must be polling `task_queue`."""
    async with pool.acquire() as conn:
        await put_programme(conn, PROGRAMME)
    coop = f"ruche-{uuid.uuid4().hex[:8]}"
    await register(
        client,
        c.Register(
            cooperation=cooperation(coop),
            programmes=[ProgrammeVersion(version=1, spec=PROGRAMME)],
            lines_accepted=True,
            rules_version=RULES_VERSION,
        ),
        task_queue=task_queue,
        **options,
    )
    return coop, client.get_workflow_handle(f"cooperation:{coop}")


async def apply(handle: WorkflowHandle[Any, Any], request: CommandRequest) -> CommandAnswer:
    return await send(handle, request)


async def recorded(pool: asyncpg.Pool, coop: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT seq, type, data FROM events WHERE cooperation_id = $1 ORDER BY seq", coop
            )
        )


async def test_check_ins_in_flight_across_continue_as_new(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str
) -> None:
    requests = [
        CommandRequest(command=c.SubmitCheckIn(check_in_id=f"ci-{i}"), request_id=f"req-{i}")
        for i in range(24)
    ]
    async with build_worker(temporal_client, pool, task_queue):
        coop, handle = await start(temporal_client, pool, task_queue, history_budget=40)
        first_run = (await handle.describe()).run_id
        answers = []
        for batch in range(0, len(requests), 6):  # a few at a time: at most 10 in flight
            answers += await asyncio.gather(
                *(apply(handle, r) for r in requests[batch : batch + 6])
            )
        description = await continued_as_new(handle, first_run)
        # The same requests again, in a later run: answered from what the run carried.
        again = await asyncio.gather(*(apply(handle, r) for r in requests[:6]))
        last_seq = await handle.query(CooperationWorkflow.last_seq)
        await projected(pool, coop, last_seq)

    assert description.run_id != first_run
    assert all(a.repeated for a in again)
    assert [(a.first_seq, a.last_seq) for a in again] == [
        (a.first_seq, a.last_seq) for a in answers[:6]
    ]
    events = await recorded(pool, coop)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    submitted = Counter(e["data"]["check_in"] for e in events if e["type"] == "CheckInSubmitted")
    assert submitted == {f"ci-{i}": 1 for i in range(24)}
    assert last_seq == len(events)


async def continued_as_new(handle: WorkflowHandle[Any, Any], first_run: str | None) -> Any:
    for _ in range(100):
        description = await handle.describe()
        if description.run_id != first_run:
            return description
        await asyncio.sleep(0.1)
    raise AssertionError("the run never continued as new")


async def projected(pool: asyncpg.Pool, coop: str, last_seq: int) -> None:
    """Effects follow the answers: wait until the event log holds `last_seq` (a batch a
    killed worker held is retried after the effects' timeout)."""
    for _ in range(1200):
        async with pool.acquire() as conn:
            if (
                await conn.fetchval(
                    "SELECT coalesce(max(seq), 0) FROM events WHERE cooperation_id = $1", coop
                )
                >= last_seq
            ):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{coop}: events up to {last_seq} never reached PostgreSQL")


def worker_process(
    database_url: str, server: TemporalDevServer, task_queue: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "COOPFLOW_DATABASE_URL": database_url,
        "COOPFLOW_TEMPORAL_ADDRESS": server.address,
        "COOPFLOW_TASK_QUEUE": task_queue,
        "COOPFLOW_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "coopflow"), "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_a_killed_worker_loses_and_doubles_nothing(
    temporal_client: Client,
    temporal_dev_server: TemporalDevServer,
    pool: asyncpg.Pool,
    database_url: str,
    task_queue: str,
) -> None:
    first = worker_process(database_url, temporal_dev_server, task_queue)
    try:
        coop, handle = await start(temporal_client, pool, task_queue)
        one = CommandRequest(command=c.SubmitCheckIn(check_in_id="ci-1"), request_id="one")
        answer = await apply(handle, one)
        assert [e.type for e in answer.events] == ["CheckInSubmitted"]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()

    second = worker_process(database_url, temporal_dev_server, task_queue)
    try:
        review = CommandRequest(
            command=c.ReviewCheckIn(check_in_id="ci-1", decision="accepted"), request_id="two"
        )
        reviewed = await asyncio.wait_for(apply(handle, review), timeout=60)
        repeated = await apply(handle, one)
        pause = await apply(handle, CommandRequest(command=c.Pause(reason="été")))
        await projected(pool, coop, pause.last_seq)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)

    assert [e.type for e in reviewed.events] == ["CheckInReviewed"]
    # The same request id in the same run: Temporal answers the first outcome again.
    assert repeated.events == answer.events
    assert [e.type for e in pause.events] == ["Paused"]
    events = await recorded(pool, coop)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events] == [
        "CooperationRegistered",
        "FundingLineAttached",
        "PhaseEntered",
        "TrancheReleased",
        "CheckInSubmitted",
        "CheckInReviewed",
        "Paused",
    ]
    async with pool.acquire() as conn:
        postings = await conn.fetch("SELECT tranche FROM ledger WHERE cooperation_id = $1", coop)
    assert [p["tranche"] for p in postings] == ["amorcage"]
