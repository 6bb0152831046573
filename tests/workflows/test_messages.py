"""Messages of the cooperation workflow on the real dev server: validators that leave no
trace, queries, search attributes, and commitments against the programme budget."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import asyncpg
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from domain import commands as c
from domain.cooperation import CooperationSpec, LineRequest
from domain.programme import ProgrammeSpec, ProgrammeVersion
from runtime.temporal import FACILITATOR, OVERDUE, PHASE, PROGRAMMES
from store import money
from store.programmes import put_programme
from tests.workflows.test_durability import PROGRAMME, apply, cooperation, recorded, start
from worker.main import build_worker
from workflows.client import CommandRefused, NoAnswer, register, send
from workflows.cooperation import CooperationWorkflow
from workflows.models import CommandRequest, TimelinePage

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_a_rejected_command_says_why_and_leaves_no_trace(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str
) -> None:
    async with build_worker(temporal_client, pool, task_queue):
        coop, handle = await start(temporal_client, pool, task_queue)
        before = len((await handle.fetch_history()).events)
        with pytest.raises(CommandRefused) as caught:
            await apply(handle, CommandRequest(command=c.Resume()))
        after = (await handle.fetch_history()).events
    assert caught.value.kind == "Conflict"
    assert "not paused" in caught.value.message
    assert len(after) == before
    # The one update accepted is the registration's.
    accepted = [
        e for e in after if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted) == 1
    assert [e["type"] for e in await recorded(pool, coop)][-1] == "TrancheReleased"


async def test_queries_and_search_attributes_follow_the_cooperation(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str
) -> None:
    async with build_worker(temporal_client, pool, task_queue):
        _, handle = await start(temporal_client, pool, task_queue)
        await apply(handle, CommandRequest(command=c.Close(outcome="completed")))
        state = await handle.query(CooperationWorkflow.state)
        schedule = await handle.query(CooperationWorkflow.schedule)
        timeline = await handle.query(CooperationWorkflow.timeline, TimelinePage(after=3, limit=2))
        await handle.result()
        attributes = (await handle.describe()).typed_search_attributes
    assert state.closed and state.outcome == "completed"
    assert [t.model_dump(mode="json") for t in state.lines[0].tranches] == [
        {
            "tranche": "amorcage",
            "occurrence": None,
            "status": "released",
            "amount": "8000.00",
            "waits_for": None,
        }
    ]
    assert schedule["pending_tranches"] == [] and schedule["next_check_in"] is None
    assert [e.seq for e in timeline.items] == [4, 5] and timeline.next_after == 5
    assert attributes.get(PHASE) == "completed"
    assert attributes.get(PROGRAMMES) == ["coop-2027"]
    assert attributes.get(OVERDUE) is False
    assert attributes.get(FACILITATOR) == "pole-107"


async def test_accepting_a_line_commits_its_whole_potential_or_is_refused(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str
) -> None:
    small = ProgrammeSpec.model_validate(
        {**PROGRAMME.model_dump(mode="json"), "id": "petit", "budget": "10000.00"}
    )
    async with pool.acquire() as conn:
        await put_programme(conn, small)
    version = ProgrammeVersion(version=1, spec=small)
    propose = c.ProposeLine(line=LineRequest(programme="petit"), programme=version)
    async with build_worker(temporal_client, pool, task_queue):
        _, one = await start(temporal_client, pool, task_queue)
        _, two = await start(temporal_client, pool, task_queue)
        for handle in (one, two):
            await apply(handle, CommandRequest(command=propose))
        accepted = await apply(one, CommandRequest(command=c.AcceptLine(line="petit")))
        with pytest.raises(CommandRefused) as refused:
            await apply(two, CommandRequest(command=c.AcceptLine(line="petit")))
        state_two = await two.query(CooperationWorkflow.state)
    assert [e.type for e in accepted.events] == ["FundingLineAttached", "TrancheReleased"]
    assert refused.value.kind == "Conflict"
    assert "2000.00 left" in refused.value.message and "8000.00" in refused.value.message
    assert refused.value.details == {"remaining": "2000.00", "needed": "8000.00"}
    line = next(x for x in state_two.lines if x.line == "petit")
    assert line.status == "proposed" and line.committed == 0
    async with pool.acquire() as conn:
        committed = await conn.fetchval("SELECT committed FROM programmes WHERE id = 'petit'")
    assert committed == Decimal("8000.00")


async def test_commitments_are_first_come_first_served(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await put_programme(
            conn,
            ProgrammeSpec.model_validate(
                {**PROGRAMME.model_dump(mode="json"), "id": "rare", "budget": "10000.00"}
            ),
        )

    async def commit(coop: str) -> bool:
        async with pool.acquire() as conn:
            outcome = await money.commit(
                conn,
                cooperation_id=coop,
                programme_id="rare",
                amount=Decimal("6000.00"),
                cap=None,
            )
            return outcome.committed

    outcomes = await asyncio.gather(*(commit(f"c{i}") for i in range(5)))
    assert sorted(outcomes) == [False, False, False, False, True]
    assert await commit("c0") == (outcomes[0])  # a retried commitment answers the same
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT committed FROM programmes WHERE id = 'rare'") == (
            Decimal("6000.00")
        )


async def test_a_registration_the_budget_refuses_commits_nothing_and_fails_nothing(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str
) -> None:
    small = ProgrammeSpec.model_validate(
        {**PROGRAMME.model_dump(mode="json"), "id": "maigre", "budget": "5000.00"}
    )
    both = [ProgrammeVersion(version=1, spec=PROGRAMME), ProgrammeVersion(version=1, spec=small)]
    async with pool.acquire() as conn:
        for spec in (PROGRAMME, small):
            await put_programme(conn, spec)
    two_lines = CooperationSpec.model_validate(
        cooperation("maigre-1").model_dump(mode="json") | {"funding_lines": ["coop-2027", "maigre"]}
    )
    async with build_worker(temporal_client, pool, task_queue):
        with pytest.raises(CommandRefused) as refused:
            await register(
                temporal_client,
                c.Register(
                    cooperation=two_lines, programmes=both, lines_accepted=True, rules_version=2
                ),
                task_queue=task_queue,
            )
        handle = temporal_client.get_workflow_handle("cooperation:maigre-1")
        result = await handle.result()
        status = (await handle.describe()).status
    assert refused.value.kind == "Conflict"
    assert "funding line maigre" in refused.value.message and "5000.00 left" in str(refused.value)
    # The run ended on its own, not failed; and the line that fit was not committed either.
    assert status == WorkflowExecutionStatus.COMPLETED and result["registered"] is False
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM commitments") == 0
        assert await conn.fetchval("SELECT sum(committed) FROM programmes") == 0
        assert await conn.fetchval("SELECT count(*) FROM events") == 0


async def test_a_workflow_no_worker_answers_says_so_in_time_and_the_retry_registers_once(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str
) -> None:
    async with pool.acquire() as conn:
        await put_programme(conn, PROGRAMME)
    command = c.Register(
        cooperation=cooperation("sans-reponse"),
        programmes=[ProgrammeVersion(version=1, spec=PROGRAMME)],
        lines_accepted=True,
        rules_version=2,
    )
    began = asyncio.get_running_loop().time()
    with pytest.raises(NoAnswer):
        # Nobody polls the task queue: the SDK would poll for the update's acceptance for ever.
        await register(
            temporal_client,
            command,
            task_queue=task_queue,
            request="inscription-1",
            answer_within=timedelta(seconds=2),
        )
    assert asyncio.get_running_loop().time() - began < 10
    handle = temporal_client.get_workflow_handle("cooperation:sans-reponse")
    with pytest.raises(NoAnswer):
        await send(
            handle,
            CommandRequest(command=c.SubmitCheckIn(check_in_id="ci-1"), request_id="ci-1"),
            answer_within=timedelta(seconds=1),
        )
    async with build_worker(temporal_client, pool, task_queue):
        again = await register(
            temporal_client, command, task_queue=task_queue, request="inscription-1"
        )
        assert again.state.phase == "emergence"
    registered = [
        r for r in await recorded(pool, "sans-reponse") if r["type"] == "CooperationRegistered"
    ]
    assert len(registered) == 1
