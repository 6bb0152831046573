"""Nothing fails silently inside a cooperation, on the real dev server and PostgreSQL: an
event recorded twice with other content is an error carrying both versions; effects that
keep failing flag the cooperation (search attribute, read model) without blocking its
commands, and clear once they pass; a workflow task that keeps failing is flagged by
Temporal and found by the fault watch; a bug in the rules refuses the command, loudly, in
the validator or in the handler (which flags the cooperation); the courier outlives its own
failures; effects still pending at continue-as-new go on as one batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

import domain.lifecycle.dispatch as dispatch
import workflows.parts.clock as clock
import workflows.parts.lifetime as lifetime
from activities.models import ApplyEffects
from domain import commands as c
from runtime.temporal import FAULT
from store.events import EventConflict, append_events
from tests.workflows.test_durability import apply, continued_as_new, projected, recorded, start
from worker.faults import faults_now, record_faults
from worker.main import build_worker
from workflows.client import CommandRefused, NoAnswer, send
from workflows.cooperation import CooperationWorkflow
from workflows.models import CommandRequest, CooperationInput
from workflows.parts.courier import Courier

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
        await projected(pool, coop, reviewed.last_seq)
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
        monkeypatch.setitem(dispatch.HANDLERS, "pause", broken)
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
    def broken(state: Any) -> None:
        # A bug in the shell once the rules have decided: the handler fails its workflow
        # task (and every retry of it, replaying the decisions before) until a fix.
        raise ZeroDivisionError("a bug in the shell")

    async with build_worker(temporal_client, pool, task_queue):
        coop, handle = await start(temporal_client, pool, task_queue)
        monkeypatch.setattr(clock, "next_wakeup", broken)
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


async def test_a_bug_in_the_rules_on_the_handlers_state_refuses_and_flags(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = dispatch.HANDLERS["pause"]

    def fails_in_the_handler(ctx: Any, cmd: Any, now: Any) -> Any:
        # The validator decided on an earlier state and passed; the handler's state (later:
        # other decisions may have run in between) meets the bug.
        if not workflow.unsafe.is_read_only():
            raise ZeroDivisionError("a bug in the rules")
        return original(ctx, cmd, now)

    async with build_worker(temporal_client, pool, task_queue):
        coop, handle = await start(temporal_client, pool, task_queue)
        first_run = (await handle.describe()).run_id
        monkeypatch.setitem(dispatch.HANDLERS, "pause", fails_in_the_handler)
        with pytest.raises(CommandRefused) as refused:
            await send(
                handle,
                CommandRequest(command=c.Pause(), request_id="pause-1"),
                answer_within=timedelta(seconds=20),
            )
        fault = await _fault(handle, present=True)
        # The refusal is recorded in a run that is over: a fix deployed later never replays
        # it (the fixed rules would decide it, unlike the history).
        await continued_as_new(handle, first_run)
        found = await faults_now(temporal_client)
        # The cooperation goes on: other commands are decided meanwhile.
        submitted = await apply(handle, CommandRequest(command=c.SubmitCheckIn(check_in_id="a")))
        monkeypatch.undo()
        # The bug is gone: the same command passes and the flag goes.
        paused = await apply(handle, CommandRequest(command=c.Pause(), request_id="pause-2"))
        await _fault(handle, present=False)
        await projected(pool, coop, paused.last_seq)
    assert refused.value.kind == "InternalError" and "ZeroDivisionError" in str(refused.value)
    assert fault == "rules:pause:ZeroDivisionError" and found[coop] == fault
    assert [e.type for e in submitted.events] == ["CheckInSubmitted"]
    assert [e.type for e in paused.events] == ["Paused"]
    events = await recorded(pool, coop)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events][-2:] == ["CheckInSubmitted", "Paused"]


async def test_the_courier_outlives_its_own_failures(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    followed: list[list[int]] = []
    failures: list[int] = []
    broken = [True]
    original = Courier.follow_loans

    async def follow_loans(self: Courier, request: ApplyEffects) -> None:
        if broken[0]:
            failures.append(len(request.events))
            raise RuntimeError("a bug in following loans")
        followed.append([e.seq for e in request.events])
        await original(self, request)

    async with build_worker(temporal_client, pool, task_queue):
        coop, handle = await start(temporal_client, pool, task_queue, fault_retry_seconds=1)
        first_run = (await handle.describe()).run_id
        monkeypatch.setattr(Courier, "follow_loans", follow_loans)
        answers = [await apply(handle, CommandRequest(command=c.SubmitCheckIn(check_in_id="a")))]
        fault = await _fault(handle, present=True)
        # Commands are still answered while the courier is in fault.
        answers += [
            await apply(
                handle,
                CommandRequest(command=c.ReviewCheckIn(check_in_id="a", decision="accepted")),
            ),
            await apply(handle, CommandRequest(command=c.Pause(reason="été"))),
        ]
        found = await faults_now(temporal_client)
        for _ in range(100):  # retried, backing off
            if len(failures) >= 3:
                break
            await asyncio.sleep(0.2)
        broken[0] = False
        await _fault(handle, present=False)
        await projected(pool, coop, answers[-1].last_seq)
    assert fault == "courier:RuntimeError" and found[coop] == fault
    # Each decision's loans followed once, in order, the failed ones included (in the run
    # that carries them: a run continues as new once its courier has failed).
    assert [seq for seqs in followed for seq in seqs] == [e.seq for a in answers for e in a.events]
    assert (await handle.describe()).run_id != first_run
    events = await recorded(pool, coop)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events][-3:] == ["CheckInSubmitted", "CheckInReviewed", "Paused"]


async def test_effects_pending_at_continue_as_new_go_on_as_one_batch(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with build_worker(temporal_client, pool, task_queue):
        coop, handle = await start(
            temporal_client, pool, task_queue, effects_attempts=1, fault_retry_seconds=1
        )
        first_run = (await handle.describe()).run_id
        last = await handle.query(CooperationWorkflow.last_seq)
        # PostgreSQL refuses the next event (another version of it is there): the effects
        # fail, decisions pile up in the outbox.
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO events (cooperation_id, seq, type, at, data)"
                " VALUES ($1, $2, 'Paused', now(), '{}')",
                coop,
                last + 1,
            )
        answers = [await apply(handle, CommandRequest(command=c.SubmitCheckIn(check_in_id="ci-0")))]
        flag = await _fault(handle, present=True)
        # The run continues after three commands, with its effects still failing.
        monkeypatch.setattr(lifetime, "UPDATE_BUDGET", 3)
        monkeypatch.setattr(lifetime, "HISTORY_HARD_LIMIT", 0)
        answers += [
            await apply(handle, CommandRequest(command=c.SubmitCheckIn(check_in_id=f"ci-{i}")))
            for i in (1, 2)
        ]
        second = await continued_as_new(handle, first_run)
        monkeypatch.undo()
        history = await temporal_client.get_workflow_handle(
            handle.id, run_id=second.run_id
        ).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        (carried,) = await pydantic_data_converter.decode(
            started.input.payloads, [CooperationInput]
        )
        assert isinstance(carried, CooperationInput)
        # One batch, every pending decision in it, in order, with one summary.
        assert len(carried.pending) == 1
        carried_flag = await _fault(handle, present=True)
        async with pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM events WHERE cooperation_id = $1 AND seq = $2", coop, last + 1
            )
        await projected(pool, coop, answers[-1].last_seq)
        # The flag the run inherited goes once the effects pass in the new run.
        await _fault(handle, present=False)
    assert flag == carried_flag == "effects:EventConflict"
    assert carried.faults == {"effects": "effects:EventConflict"}
    assert [e.seq for e in carried.pending[0].events] == list(
        range(last + 1, answers[-1].last_seq + 1)
    )
    assert carried.pending[0].summary is not None
    events = await recorded(pool, coop)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events][-3:] == ["CheckInSubmitted"] * 3
    assert [e["data"]["check_in"] for e in events[-3:]] == ["ci-0", "ci-1", "ci-2"]
