"""Reading a cooperation: from its workflow while it runs (the source of truth, fresh after a
command), from PostgreSQL once it has ended or cannot answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError, RPCStatusCode

from api.access import Seen, not_found, shown
from api.problems import Problem, refusal
from domain import commands as c
from domain.errors import DomainError
from domain.events import Event
from domain.lifecycle import Decision, Driver
from domain.rules import RULES_VERSION, upgrade
from domain.state import CooperationState
from domain.views import CooperationSummary
from runtime.temporal import cooperation_workflow_id
from store.readmodel import projected_summary
from workflows.client import CommandRefused, UnknownCooperation, answer_of_ended, refused_by
from workflows.cooperation import CooperationWorkflow
from workflows.models import TimelinePage

QUERY_TIMEOUT = timedelta(seconds=5)


async def current_summary(client: Client, pool: asyncpg.Pool, seen: Seen) -> CooperationSummary:
    return shown(await latest_summary(client, pool, seen.id), seen)


async def latest_summary(
    client: Client, pool: asyncpg.Pool, cooperation_id: str
) -> CooperationSummary:
    """The whole summary (for the caller to filter): the workflow's, else the projection's."""
    handle = client.get_workflow_handle(cooperation_workflow_id(cooperation_id))
    try:
        return await handle.query(CooperationWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryRejectedError):
        async with pool.acquire() as conn:
            projected = await projected_summary(conn, cooperation_id)
        if projected is None:
            raise not_found(cooperation_id) from None
        return projected


async def recent_event(client: Client, cooperation_id: str, seq: int) -> Event | None:
    """An event the workflow recorded that the log may not hold yet (effects follow)."""
    handle = client.get_workflow_handle(cooperation_workflow_id(cooperation_id))
    try:
        page = await handle.query(
            CooperationWorkflow.timeline,
            TimelinePage(after=seq - 1, limit=1),
            rpc_timeout=QUERY_TIMEOUT,
        )
    except (RPCError, WorkflowQueryRejectedError):
        return None
    return next((e for e in page.items if e.seq == seq), None)


async def state_for(client: Client, cooperation_id: str, command: c.Command) -> CooperationState:
    """The workflow's whole state, to foresee `command` on. When there is none to be had, the
    problem is the one `command` itself would get: workflows.client.answer_of_ended for a workflow
    that has ended (the rules' refusal on its last state, or not found once its history is
    gone), or 503 when it does not answer in time."""
    handle = client.get_workflow_handle(cooperation_workflow_id(cooperation_id))
    try:
        return await handle.query(CooperationWorkflow.full_state, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise _no_answer(cooperation_id) from None
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError):
        pass
    try:
        ended = await answer_of_ended(handle, command)
    except RPCError:
        raise _no_answer(cooperation_id) from None
    if isinstance(ended, UnknownCooperation):
        raise not_found(cooperation_id)
    assert isinstance(ended, CommandRefused)
    raise refusal(ended)


def _no_answer(cooperation_id: str) -> Problem:
    return Problem(
        503,
        f"cooperation {cooperation_id!r} did not answer in time; nothing was changed",
        headers={"Retry-After": "5"},
    )


@dataclass(frozen=True)
class Foreseen:
    before: CooperationState
    """Just before the command: the clock caught up, as the workflow's would be."""
    decision: Decision
    """The command's own decision (the clock's events before it are not the command's)."""


def foresee(state: CooperationState, command: c.Command) -> Foreseen:
    """`command` decided as the workflow would decide it now, on a copy: the rules raise the
    problem the workflow would answer with."""
    # The workflow's instant, which never goes back (as workflows.client answers for an ended
    # one); a simulation's clock offset is not known here, so its previews are dated now.
    now = max(state.last_at, datetime.now(UTC))
    if state.rules_version < RULES_VERSION:
        # The workflow moves a cooperation to the newest rules before deciding its command.
        state = upgrade(state, RULES_VERSION, now)
    driver = Driver(state)
    try:
        driver.run_clock(now, inclusive=False)
        before = driver.state
        assert before is not None
        return Foreseen(before, driver.apply(command, now))
    except DomainError as error:
        raise refusal(refused_by(error)) from None


def no(what: str, name: Any, cooperation_id: str) -> Problem:
    return Problem(404, f"no {what} {name!r} in cooperation {cooperation_id!r}")
