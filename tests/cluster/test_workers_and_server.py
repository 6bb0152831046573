"""Beyond one worker and one server run (issue 10), on the real dev server and PostgreSQL:

- two `coopflow worker` processes share the task queue; one is SIGKILLed in the middle of a
  busy run (check-ins arriving, reviews accepting them and releasing tranches, across ten
  cooperations); the clients send again with the same request ids until answered, as the
  API's callers do after a 503; the other worker finishes the work: every command answered
  and recorded once, every event log gapless, every tranche posted once;
- the Temporal dev server stopped (SIGTERM) and started again on its data file while the
  workflows wait on their timers: every workflow goes on (queries, new commands, the timer
  firing after the restart), its earlier state intact.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle

from domain import commands as c
from domain.cooperation import CooperationSpec
from domain.programme import ProgrammeVersion
from domain.rules import RULES_VERSION
from runtime.config import Settings
from runtime.connect import connect_temporal
from runtime.localstack import TemporalDevServer, free_port
from runtime.temporal import SEARCH_ATTRIBUTES
from store.programmes import put_programme
from tests.workflows.test_durability import projected, recorded, worker_process
from tests.workflows.test_records_under_faults import (
    cofunder_programme,
    register_cofunded,
    sent_until_answered,
)
from workflows.client import register, send
from workflows.cooperation import CooperationWorkflow
from workflows.models import CommandAnswer, CommandRequest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COOPERATIONS = 10
CHECK_INS = 6
"""Per cooperation, one after the other (each replaces the unreviewed one before it), then
the last one accepted: its review releases the `suite` tranche of both lines."""
KILL_AFTER = 15
"""Answers before the SIGKILL: some answered, the rest of the run in flight."""


def _stop(*procs: subprocess.Popen[bytes] | None) -> None:
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _pollers(client: Client, task_queue: str) -> set[str]:
    """The identities polling the task queue's workflow tasks, as Temporal sees them."""
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return {p.identity for p in answer.pollers}


async def _workers_that_worked(handles: list[WorkflowHandle[Any, Any]]) -> set[str]:
    """Who completed the cooperations' workflow tasks and ran their activities: the
    identities in their histories (those of the current runs)."""
    identities: set[str] = set()
    for handle in handles:
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                identities.add(event.workflow_task_completed_event_attributes.identity)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                identities.add(event.activity_task_started_event_attributes.identity)
    return identities


def _pids(identities: set[str]) -> set[int]:
    """A worker's default identity is `<pid>@<host>`."""
    return {int(i.split("@")[0]) for i in identities if i.split("@")[0].isdigit()}


def _life() -> list[CommandRequest]:
    """One cooperation's part of the busy run, in order."""
    return [
        *(
            CommandRequest(
                command=c.SubmitCheckIn(check_in_id=f"ci-{i}", indicators={"ateliers": i}),
                request_id=f"ci-{i}",
            )
            for i in range(1, CHECK_INS + 1)
        ),
        CommandRequest(
            command=c.ReviewCheckIn(check_in_id=f"ci-{CHECK_INS}", decision="accepted"),
            request_id="review",
        ),
    ]


async def _live(
    handle: WorkflowHandle[Any, Any], answered: list[CommandAnswer]
) -> list[CommandAnswer]:
    """Each command sent until answered, the next once the last is; `answered` gathers the
    answers of every cooperation as they come."""
    answers = []
    for request in _life():
        answers.append(await sent_until_answered(handle, request))
        answered.append(answers[-1])
    return answers


async def test_two_workers_one_killed_in_a_busy_run_lose_and_double_nothing(
    temporal_client: Client,
    temporal_dev_server: TemporalDevServer,
    pool: asyncpg.Pool,
    database_url: str,
    task_queue: str,
) -> None:
    workers = [worker_process(database_url, temporal_dev_server, task_queue) for _ in range(2)]
    doomed, survivor = workers
    try:
        # Both poll before any work is given, so that both can take some.
        for _ in range(300):
            if _pids(await _pollers(temporal_client, task_queue)) >= {w.pid for w in workers}:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the two workers never both polled the task queue")
        # The first alone: it puts the programmes in PostgreSQL.
        registered = [await register_cofunded(temporal_client, pool, task_queue)]
        registered += await asyncio.gather(
            *(register_cofunded(temporal_client, pool, task_queue) for _ in range(COOPERATIONS - 1))
        )
        coops = [coop for coop, _ in registered]
        handles = [handle for _, handle in registered]
        answered: list[CommandAnswer] = []
        lives = [asyncio.create_task(_live(h, answered)) for h in handles]
        # Who worked so far (registrations, their effects); then who works in the run.
        worked = await _workers_that_worked(handles)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(answered) >= KILL_AFTER and _pids(worked) >= {w.pid for w in workers}:
                break
            await asyncio.sleep(0.1)
            if not _pids(worked) >= {w.pid for w in workers}:
                worked |= await _workers_that_worked(handles)
        answered_before_kill = len(answered)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        results = await asyncio.wait_for(asyncio.gather(*lives), timeout=150)
        last = {
            coop: max(a.last_seq for a in life) for coop, life in zip(coops, results, strict=True)
        }
        await asyncio.gather(*(projected(pool, coop, seq) for coop, seq in last.items()))
    finally:
        _stop(*workers)

    # Both workers took work before the kill; the kill left work in flight.
    assert _pids(worked) >= {doomed.pid, survivor.pid}, worked
    total = COOPERATIONS * (CHECK_INS + 1)
    assert KILL_AFTER <= answered_before_kill < total, "nothing was in flight at the kill"
    async with pool.acquire() as conn:
        ledger = await conn.fetch(
            "SELECT cooperation_id, line, tranche, kind FROM ledger WHERE cooperation_id = ANY($1)",
            coops,
        )
    for coop, life in zip(coops, results, strict=True):
        events = await recorded(pool, coop)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), coop
        # Every command answered once: each answer names events of its own.
        firsts = [a.first_seq for a in life]
        assert len(set(firsts)) == len(firsts) and 0 not in firsts, coop
        submitted = Counter(
            e["data"]["check_in"] for e in events if e["type"] == "CheckInSubmitted"
        )
        assert submitted == {f"ci-{i}": 1 for i in range(1, CHECK_INS + 1)}, coop
        reviewed = [e["data"]["check_in"] for e in events if e["type"] == "CheckInReviewed"]
        assert reviewed == [f"ci-{CHECK_INS}"], coop
        expected = {
            (line, tranche): 1 for line in ("fdt", "reg") for tranche in ("amorcage", "suite")
        }
        released = Counter(
            (e["data"]["line"], e["data"]["tranche"])
            for e in events
            if e["type"] == "TrancheReleased"
        )
        assert released == expected, coop
        posted = Counter((r["line"], r["tranche"]) for r in ledger if r["cooperation_id"] == coop)
        assert posted == expected, coop


TIMER = 15
"""Seconds after registration the `plus-tard` tranche falls due: the workflows wait on that
timer while the server is down, and it fires after the restart."""
RESTART = cofunder_programme(
    "relance",
    "fondation",
    # A duration the door lets in (an elapsed trigger may count hours).
    {
        "id": "plus-tard",
        "amount": "1500.00",
        "purpose": "operating",
        "when": {"elapsed": f"PT{TIMER}S"},
    },
)


async def _register_on(client: Client, task_queue: str) -> str:
    coop = f"relance-{uuid.uuid4().hex[:8]}"
    spec = CooperationSpec.model_validate(
        {
            "id": coop,
            "name": "Ruche",
            "kind": "non_modelled",
            "economic_model": "non_market",
            "members": [{"id": "asso", "name": "asso", "legal_form": "association"}],
            "facilitator": "pole-107",
            "funding_lines": [RESTART.id],
        }
    )
    await register(
        client,
        c.Register(
            cooperation=spec,
            programmes=[ProgrammeVersion(version=1, spec=RESTART)],
            lines_accepted=True,
            rules_version=RULES_VERSION,
        ),
        task_queue=task_queue,
    )
    return coop


def _released(events: list[asyncpg.Record]) -> list[str]:
    return [e["data"]["tranche"] for e in events if e["type"] == "TrancheReleased"]


async def _timers_fired(handle: WorkflowHandle[Any, Any]) -> list[datetime]:
    return [
        event.event_time.ToDatetime(tzinfo=UTC)
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_TIMER_FIRED
    ]


async def test_the_dev_server_restarted_on_its_data_file_every_workflow_goes_on(
    pool: asyncpg.Pool, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    # A server of its own, on a data file, to stop without disturbing the other tests.
    server = TemporalDevServer(
        db_file=tmp_path / "temporal.db",
        port=free_port(),
        ui_port=None,
        search_attributes=SEARCH_ATTRIBUTES,
        log=tmp_path / "temporal.log",
    )
    await asyncio.to_thread(server.start)
    worker = None
    try:
        settings = Settings(temporal_address=server.address)
        client = await connect_temporal(settings, wait=30)
        worker = worker_process(database_url, server, task_queue)
        async with pool.acquire() as conn:
            await put_programme(conn, RESTART)
        began = time.monotonic()
        coops = await asyncio.gather(*(_register_on(client, task_queue) for _ in range(3)))
        ids = [f"cooperation:{coop}" for coop in coops]
        handles = [client.get_workflow_handle(i) for i in ids]
        submitted = [
            await send(h, CommandRequest(command=c.SubmitCheckIn(check_in_id="ci-1")))
            for h in handles
        ]
        for coop, answer in zip(coops, submitted, strict=True):
            await projected(pool, coop, answer.last_seq)
        before = {coop: await recorded(pool, coop) for coop in coops}
        runs = {i: (await h.describe()).run_id for i, h in zip(ids, handles, strict=True)}
        # Stopped while every workflow waits on its timer (the tranche not yet due).
        assert time.monotonic() - began < TIMER - 5, "too slow: the timer would fire first"
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)
        restarted = datetime.now(UTC)
        # A new client; the worker, polling all along, finds the server again by itself.
        client = await connect_temporal(settings, wait=30)
        handles = [client.get_workflow_handle(i) for i in ids]
        states = [await h.query(CooperationWorkflow.state) for h in handles]
        reviewed = [
            await sent_until_answered(
                h,
                CommandRequest(
                    command=c.ReviewCheckIn(check_in_id="ci-1", decision="accepted"),
                    request_id="review-1",
                ),
            )
            for h in handles
        ]
        for coop in coops:
            await _until_released(pool, coop, "plus-tard", within=TIMER + 40)
        fired = [await _timers_fired(h) for h in handles]
        after_runs = {i: (await h.describe()).run_id for i, h in zip(ids, handles, strict=True)}
        # The same worker process did it all: it found the server again by itself.
        assert worker.poll() is None
    finally:
        _stop(worker)
        await asyncio.to_thread(server.stop)

    assert after_runs == runs  # the same runs went on, not new ones
    for coop, state, answer in zip(coops, states, reviewed, strict=True):
        # The state read after the restart is the one before it.
        assert state.id == coop
        assert [e.type for e in answer.events] == ["CheckInReviewed", "TrancheReleased"]
        events = await recorded(pool, coop)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[: len(before[coop])] == before[coop]
        assert _released(before[coop]) == ["amorcage"]
        assert _released(events) == ["amorcage", "suite", "plus-tard"]
        async with pool.acquire() as conn:
            ledger = await conn.fetch(
                "SELECT tranche FROM ledger WHERE cooperation_id = $1 ORDER BY id", coop
            )
        assert [r["tranche"] for r in ledger] == ["amorcage", "suite", "plus-tard"]
    # The timer the workflows waited on while the server was down fired after the restart.
    assert all(any(at >= restarted for at in times) for times in fired), fired


async def _until_released(pool: asyncpg.Pool, coop: str, tranche: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if tranche in _released(await recorded(pool, coop)):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{coop}: {tranche} never released")
