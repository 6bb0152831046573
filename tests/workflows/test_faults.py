"""Nothing fails silently inside a cooperation, on the real dev server and PostgreSQL: an
event recorded twice with other content is an error carrying both versions; effects that
keep failing flag the cooperation (search attribute, read model) without blocking its
commands, and clear once they pass; a workflow task that keeps failing is flagged by
Temporal and found by the fault watch; a bug in the rules refuses the command, loudly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle

import domain.lifecycle.dispatch as dispatch
from domain import commands as c
from runtime.temporal import FAULT
from store.events import EventConflict, append_events
from tests.workflows.test_durability import _projected, apply, start
from worker.faults import faults_now, record_faults
from worker.main import build_worker
from workflows.client import CommandRefused, NoAnswer, send
from workflows.cooperation import CooperationWorkflow
from workflows.models import CommandRequest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_an_event_recorded_again_with_other_content_is_an_error(
    pool: asyncpg.Pool,
) -> None:
    at = datetime(2027, 1, 4, tzinfo=UTC)
    first = {"seq": 1, "type": "Paused", "at": at, "data": {"phase": "emergence", "n": 1.5}}
    async with pool.acquire() as conn:
        assert await append_events(conn, "ruche", [first]) == 1
        # A retried activity sends the same event again: skipped, nothing new.
        assert await append_events(conn, "ruche", [dict(first)]) == 0
        other = {**first, "data": {"phase": "experimentation", "n": 1.5}}
        with pytest.raises(EventConflict) as caught:
            await append_events(conn, "ruche", [other])
        kept = await conn.fetchval("SELECT data FROM events WHERE cooperation_id = 'ruche'")
    assert caught.value.seq == 1
    assert caught.value.recorded["data"] == {"phase": "emergence", "n": 1.5}
    assert caught.value.incoming["data"] == {"phase": "experimentation", "n": 1.5}
    assert "emergence" in str(caught.value) and "experimentation" in str(caught.value)
    assert kept == {"phase": "emergence", "n": 1.5}


async def _fault(handle: WorkflowHandle[Any, Any], present: bool) -> str | None:
    for _ in range(300):
        value = (await handle.describe()).typed_search_attributes.get(FAULT)
        if (value is not None) == present:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"CoopFault never became {'set' if present else 'unset'}")


async def test_effects_that_keep_failing_flag_the_cooperation_and_commands_go_on(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str
) -> None:
    async with build_worker(temporal_client, pool, task_queue):
        coop, handle = await start(
            temporal_client, pool, task_queue, effects_attempts=2, fault_retry_seconds=1
        )
        last = await handle.query(CooperationWorkflow.last_seq)
        # Someone wrote the next event already, with other content: the log refuses to let
        # the workflow's event overwrite or skip it.
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO events (cooperation_id, seq, type, at, data)"
                " VALUES ($1, $2, 'Paused', now(), '{}')",
                coop,
                last + 1,
            )
        submitted = await apply(handle, CommandRequest(command=c.SubmitCheckIn(check_in_id="a")))
        fault = await _fault(handle, present=True)
        # The cooperation still answers commands while its effects wait.
        reviewed = await apply(
            handle, CommandRequest(command=c.ReviewCheckIn(check_in_id="a", decision="accepted"))
        )
        found = await faults_now(temporal_client)
        new, _ = await record_faults(pool, found)
        async with pool.acquire() as conn:
            flagged = await conn.fetchrow(
                "SELECT fault, fault_since FROM cooperations WHERE id = $1", coop
            )
            # Repaired by hand: the courier's next try passes and the flag goes.
            await conn.execute(
                "DELETE FROM events WHERE cooperation_id = $1 AND seq = $2", coop, last + 1
            )
        await _fault(handle, present=False)
        await _projected(pool, coop, reviewed.last_seq)
        _, cleared = await record_faults(pool, await faults_now(temporal_client))
    assert fault == "effects:EventConflict"
    assert [e.type for e in submitted.events] == ["CheckInSubmitted"]
    assert [e.type for e in reviewed.events] == ["CheckInReviewed"]
    assert found[coop] == "effects:EventConflict" and coop in new
    assert flagged is not None and flagged["fault"] == "effects:EventConflict"
    assert flagged["fault_since"] is not None
    assert coop in cleared
    async with pool.acquire() as conn:
        types = [
            r["type"]
            for r in await conn.fetch(
                "SELECT type FROM events WHERE cooperation_id = $1 AND seq > $2 ORDER BY seq",
                coop,
                last,
            )
        ]
    assert types == ["CheckInSubmitted", "CheckInReviewed"]


async def test_a_bug_in_the_rules_refuses_the_command_and_the_cooperation_goes_on(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Any, cmd: Any, now: Any) -> None:
        raise ZeroDivisionError("a bug in the rules")

    async with build_worker(temporal_client, pool, task_queue):
        _, handle = await start(temporal_client, pool, task_queue)
        before = len((await handle.fetch_history()).events)
        monkeypatch.setitem(dispatch._HANDLERS, "pause", broken)
        with pytest.raises(CommandRefused) as refused:
            await apply(handle, CommandRequest(command=c.Pause()))
        after = len((await handle.fetch_history()).events)
        monkeypatch.undo()
        paused = await apply(handle, CommandRequest(command=c.Pause()))
    assert refused.value.kind == "InternalError" and "ZeroDivisionError" in str(refused.value)
    assert after == before  # refused by the validator: nothing recorded
    assert [e.type for e in paused.events] == ["Paused"]


async def test_a_workflow_task_that_keeps_failing_is_flagged_until_a_fix(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = dispatch._HANDLERS["pause"]

    def fails_after_validation(ctx: Any, cmd: Any, now: Any) -> None:
        # The validator's call passes; the handler's (and every retry of its task) raises.
        if not workflow.unsafe.is_read_only():
            raise ZeroDivisionError("a bug in the rules")
        original(ctx, cmd, now)

    async with build_worker(temporal_client, pool, task_queue):
        coop, handle = await start(temporal_client, pool, task_queue)
        monkeypatch.setitem(dispatch._HANDLERS, "pause", fails_after_validation)
        # As an API client after a 503: the same request again until it is answered (the
        # server turns updates away while the workflow task is failing).
        pending = asyncio.create_task(
            _until_answered(handle, CommandRequest(command=c.Pause(), request_id="pause-1"))
        )
        flagged = await _watch_until(temporal_client, coop, present=True)
        new, _ = await record_faults(pool, flagged)
        # The fix is deployed: the task's next retry passes, the command is answered.
        monkeypatch.undo()
        answer = await asyncio.wait_for(pending, timeout=120)
        await _watch_until(temporal_client, coop, present=False)
    assert "WorkflowTaskFailed" in flagged[coop] and coop in new
    assert [e.type for e in answer.events] == ["Paused"]


async def _until_answered(handle: Any, request: CommandRequest) -> Any:
    while True:
        try:
            return await send(handle, request, answer_within=timedelta(seconds=10))
        except NoAnswer:
            await asyncio.sleep(0.5)


async def _watch_until(client: Client, coop: str, present: bool) -> dict[str, str]:
    for _ in range(120):
        found = await faults_now(client)
        if (coop in found) == present:
            return found
        await asyncio.sleep(1)
    raise AssertionError(f"{coop} {'never' if present else 'still'} in fault")
