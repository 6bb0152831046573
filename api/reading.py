"""Reading a cooperation: from its workflow while it runs (the source of truth, fresh after a
command), from PostgreSQL once it has ended or cannot answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowQueryRejectedError
from temporalio.service import RPCError

from api.access import Seen, not_found, shown
from api.problems import Problem
from domain.events import Event
from domain.views import CooperationSummary
from runtime.temporal import cooperation_workflow_id
from workflows.cooperation import CooperationWorkflow
from workflows.models import TimelinePage

QUERY_TIMEOUT = timedelta(seconds=5)


async def current_summary(client: Client, pool: asyncpg.Pool, seen: Seen) -> CooperationSummary:
    handle = client.get_workflow_handle(cooperation_workflow_id(seen.id))
    try:
        summary = await handle.query(CooperationWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryRejectedError):
        async with pool.acquire() as conn:
            projected = await conn.fetchval("SELECT state FROM cooperations WHERE id = $1", seen.id)
        if projected is None:
            raise not_found(seen.id) from None
        summary = CooperationSummary.model_validate(projected)
    return shown(summary, seen)


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


def no(what: str, name: Any, cooperation_id: str) -> Problem:
    return Problem(404, f"no {what} {name!r} in cooperation {cooperation_id!r}")
