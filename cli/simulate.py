"""`coopflow simulate SCENARIO.yaml`: one cooperation through the real workflow and activities
on the time-skipping Temporal server, against a temporary database of its own.

The time-skipping server starts at the real present; the workflow runs with a fixed clock
offset (scenario start − server start) so every date it records is scenario time.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.commands import Register
from domain.ledger import LedgerRow
from domain.programme import ProgrammeVersion
from domain.scenario import Scenario, ScenarioError
from domain.simulation import BudgetRaise, SimulationResult, step_actions
from runtime.localstack import EmbeddedPostgres, free_port, venv_binary
from runtime.temporal import SEARCH_ATTRIBUTES, cooperation_workflow_id, sdk_runtime
from store import money
from store.db import create_pool, ensure_database, migrate
from store.events import list_events
from store.people import nameless
from store.programmes import put_programme
from worker.main import build_worker
from workflows.client import CommandRefused, register, send
from workflows.cooperation import CooperationWorkflow
from workflows.models import CommandRequest

JUST_BEFORE = timedelta(milliseconds=100)
MAX_SKIP = timedelta(days=31)

_KINDS = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}


@contextlib.asynccontextmanager
async def temporary_database(server_url: str | None) -> AsyncIterator[str]:
    """A migrated database of its own, on `server_url` or on an embedded PostgreSQL."""
    with contextlib.ExitStack() as stack:
        if server_url is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="coopflow-")))
            server = EmbeddedPostgres(folder / "pg", free_port())
            server_url = await asyncio.to_thread(server.start)
            stack.callback(server.stop)
        name = f"simulate_{uuid.uuid4().hex[:12]}"
        url = await ensure_database(server_url, name)
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        try:
            yield url
        finally:
            conn = await asyncpg.connect(server_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()


async def start_time_skipping() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        runtime=sdk_runtime(),
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    await register_search_attributes(env.client)
    return env


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    # The time-skipping server refuses undeclared search attributes (TEMPORAL.md).
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={k: _KINDS[v] for k, v in SEARCH_ATTRIBUTES.items()},
        )
    )


@dataclass
class Simulation:
    """A scenario ready to run on its own time-skipping server and database."""

    scenario: Scenario
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    task_queue: str
    history_budget: int | None = None
    first_run_id: str | None = None

    @property
    def handle(self) -> WorkflowHandle[Any, Any]:
        return self.env.client.get_workflow_handle(
            cooperation_workflow_id(self.scenario.cooperation.id)
        )

    async def run(self) -> SimulationResult:
        """Run the scenario from its start to `until` (inclusive); raise ScenarioError naming
        the step the rules refuse."""
        scenario = self.scenario
        versions = {p.id: ProgrammeVersion(version=1, spec=p) for p in scenario.programmes}
        lines = []
        for i, line in enumerate(scenario.cooperation.funding_lines):
            if line.programme not in versions:
                raise ScenarioError(
                    None,
                    f"funding_lines[{i}]: programme {line.programme!r} is not in programmes",
                )
            lines.append(versions[line.programme])
        env = self.env
        offset = scenario.start - await env.get_current_time()
        try:
            await register(
                env.client,
                Register(
                    cooperation=nameless(scenario.cooperation),
                    programmes=lines,
                    lines_accepted=True,
                ),
                task_queue=self.task_queue,
                simulation=True,
                clock_offset_seconds=offset.total_seconds(),
                at=scenario.start,
                history_budget=self.history_budget,
            )
        except CommandRefused as refused:
            raise ScenarioError(None, f"registration refused: {refused}") from None
        handle = self.handle
        self.first_run_id = (await handle.describe()).run_id

        async def scenario_now() -> datetime:
            return await env.get_current_time() + offset

        finished = False
        for step in scenario.steps:
            # Stop just short of the step's instant: its commands come before the clock's
            # own events of that instant (rule 14), and carry the exact instant with them.
            if not finished:
                await _sleep(env, step.at - JUST_BEFORE - await scenario_now(), handle)
            for action in step_actions(scenario, step, versions):
                if isinstance(action, BudgetRaise):
                    async with self.pool.acquire() as conn:
                        try:
                            await money.raise_budget(conn, action.programme, action.amount)
                        except money.BudgetTooLarge as error:
                            raise ScenarioError(step.index, f"{step.kind}: {error}") from None
                    continue
                try:
                    answer = await send(handle, CommandRequest(command=action, at=step.at))
                except CommandRefused as refused:
                    raise ScenarioError(step.index, f"{step.kind}: {refused}") from None
                if answer.state.finished:
                    # Let its workflow end before time moves on (see _sleep); nothing happens
                    # to the cooperation after that, so time need not move at all.
                    finished = True
                    await handle.result()

        # `until` is inclusive: run the clock just past it, then keep what is dated up to it.
        if not finished:
            await _sleep(env, scenario.until - await scenario_now() + timedelta(seconds=1), handle)
        return await _result(handle, self.pool, scenario.cooperation.id, scenario.until)


SIMULATION_BUILD_ID = "coopflow-simulate"
"""The simulation worker's build id. Without one, the SDK names the worker by hashing the
bytecode of every module loaded (about 0.4 s, once per process: the first `simulate` of a
CLI run or a bench). Only a run's own throwaway server sees it, and nothing versions on it."""


@contextlib.asynccontextmanager
async def simulation(
    scenario: Scenario,
    *,
    database_server: str | None = None,
    history_budget: int | None = None,
) -> AsyncIterator[Simulation]:
    async with _database_and_server(database_server) as (url, env):
        pool = await create_pool(url, max_size=4)
        try:
            async with pool.acquire() as conn:
                for spec in scenario.programmes:
                    await put_programme(conn, spec)
            task_queue = f"simulate-{uuid.uuid4().hex[:8]}"
            async with build_worker(env.client, pool, task_queue, build_id=SIMULATION_BUILD_ID):
                yield Simulation(scenario, env, pool, task_queue, history_budget)
        finally:
            await pool.close()


@contextlib.asynccontextmanager
async def _database_and_server(
    database_server: str | None,
) -> AsyncIterator[tuple[str, WorkflowEnvironment]]:
    """The temporary database and the time-skipping server, started side by side: the server
    comes up while the database is created and migrated. The server is shut down before the
    database is dropped, and also when the database did not come up."""
    starting = asyncio.ensure_future(start_time_skipping())
    used = False
    try:
        async with temporary_database(database_server) as url:
            env = await starting
            used = True
            try:
                yield url, env
            finally:
                await env.shutdown()
    finally:
        if not used:
            await _shut_down(starting)


async def _shut_down(starting: asyncio.Future[WorkflowEnvironment]) -> None:
    """A server started for a run that will not use it (its database failed, or the run
    was cancelled while starting)."""
    try:
        env = await starting
    except BaseException:
        return  # it did not start: nothing to stop (what went wrong is being raised already)
    await env.shutdown()


async def simulate(scenario: Scenario, *, database_server: str | None = None) -> SimulationResult:
    async with simulation(scenario, database_server=database_server) as run:
        return await run.run()


async def _sleep(
    env: WorkflowEnvironment, gap: timedelta, handle: WorkflowHandle[Any, Any]
) -> None:
    """Skip `gap` of scenario time."""
    # One long skip across years has been seen to time out on the test server while
    # workflows finish during it; skips of at most a month each have not.
    while gap > timedelta(0):
        chunk = min(gap, MAX_SKIP)
        try:
            await env.sleep(chunk)
        except RPCError:
            # The test server stops skipping when a workflow and its abandoned child end at
            # the same instant (a cooperation settling its last loan): the skip times out.
            # Nothing happens to an ended cooperation: the skip need not go on.
            if not await _ended(handle):
                raise
            return
        gap -= chunk


async def _ended(handle: WorkflowHandle[Any, Any]) -> bool:
    status = (await handle.describe()).status
    return status is not None and status != WorkflowExecutionStatus.RUNNING


async def _result(
    handle: WorkflowHandle[Any, Any], pool: asyncpg.Pool, cooperation_id: str, until: datetime
) -> SimulationResult:
    status = (await handle.describe()).status
    if status not in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED):
        # Never a silently short timeline.
        name = status.name.lower() if status is not None else "unknown"
        raise ScenarioError(None, f"the cooperation's workflow ended early ({name})")
    # The projection is written by activities: wait until it holds every recorded event.
    expected: int = await handle.query(CooperationWorkflow.last_seq)
    async with pool.acquire() as conn:
        for _ in range(600):
            recorded = await conn.fetchval(
                "SELECT coalesce(max(seq), 0) FROM events WHERE cooperation_id = $1",
                cooperation_id,
            )
            if recorded >= expected:
                break
            await asyncio.sleep(0.05)
        events = [
            event
            for event in await list_events(conn, cooperation_id, limit=1_000_000)
            if event.at <= until
        ]
        ledger = [
            LedgerRow.model_validate(posting.model_dump(exclude={"payable"}))
            for posting in await money.ledger(conn, cooperation_id)
            if posting.at <= until
        ]
    return SimulationResult(events=events, ledger=ledger)


def render_table(result: SimulationResult) -> str:
    """The readable form: the timeline, then the ledger."""
    out = ["Timeline", "--------"]
    for e in result.events:
        details = ", ".join(f"{k}={v}" for k, v in e.data.items() if not isinstance(v, dict | list))
        out.append(f"{e.seq:>4}  {e.at:%Y-%m-%d}  {e.type:<28} {details}")
    out += ["", "Ledger", "------"]
    for row in result.ledger:
        occurrence = f" #{row.occurrence}" if row.occurrence else ""
        out.append(
            f"{row.at:%Y-%m-%d}  {row.kind:<9} {row.line}/{row.tranche}{occurrence:<4}"
            f" {row.amount:>12} {row.currency}  {row.purpose.value:<10} → {row.payee}"
            # Rule 19: a versement's dates.
            + (f"  due {row.due_by}" if row.due_by else "")
            + (f"  paid {row.paid_on}" if row.paid_on else "")
        )
    return "\n".join(out) + "\n"
