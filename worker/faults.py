"""The fault watch: cooperations something unexpected keeps failing in, made visible where an
operator looks.

Two kinds of fault, both found in Temporal's visibility: a cooperation whose effects keep
failing sets its own search attribute `CoopFault` (the workflow keeps retrying them), and a
workflow task that keeps failing (a bug: the rules raised) is flagged by Temporal itself
with `TemporalReportedProblems`. The watch copies both into the read model
(`cooperations.fault`, `coopflow faults`), logs each change with the cooperation id, and
counts them in the worker's metrics.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.common import MetricMeter

from runtime.logging import get_logger
from runtime.temporal import FAULT, cooperation_id_of

log = get_logger("coopflow.faults")

QUERY = (
    "WorkflowType = 'CooperationWorkflow' AND ExecutionStatus = 'Running'"
    " AND (CoopFault IS NOT NULL OR TemporalReportedProblems IS NOT NULL)"
)


async def faults_now(client: Client) -> dict[str, str]:
    """Cooperation id → what is failing, for every cooperation in fault."""
    found: dict[str, str] = {}
    async for execution in client.list_workflows(QUERY):
        attributes = execution.typed_search_attributes
        fault = attributes.get(FAULT)
        problems: Any = execution.search_attributes.get("TemporalReportedProblems")
        reason = fault or "workflow task: " + ", ".join(str(p) for p in (problems or []))
        found[cooperation_id_of(execution.id)] = reason[:500]
    return found


async def record_faults(pool: asyncpg.Pool, found: dict[str, str]) -> tuple[list[str], list[str]]:
    """Mark the read model; returns (newly in fault, out of fault)."""
    async with pool.acquire() as conn, conn.transaction():
        before = {
            r["id"]: r["fault"]
            for r in await conn.fetch("SELECT id, fault FROM cooperations WHERE fault IS NOT NULL")
        }
        for cooperation_id, reason in found.items():
            await conn.execute(
                "UPDATE cooperations SET fault = $2,"
                " fault_since = CASE WHEN fault IS NULL THEN now() ELSE fault_since END"
                " WHERE id = $1",
                cooperation_id,
                reason,
            )
        cleared = [c for c in before if c not in found]
        if cleared:
            await conn.execute(
                "UPDATE cooperations SET fault = NULL, fault_since = NULL WHERE id = ANY($1)",
                cleared,
            )
    return [c for c in found if c not in before], cleared


async def watch(client: Client, pool: asyncpg.Pool, every: float, meter: MetricMeter) -> None:
    """Runs beside the worker until cancelled; a failed look is logged and tried again."""
    in_fault = meter.create_gauge(
        "coopflow_cooperations_in_fault", "Cooperations whose effects or tasks keep failing"
    )
    while True:
        try:
            found = await faults_now(client)
            new, cleared = await record_faults(pool, found)
            for cooperation_id in new:
                log.error(
                    "cooperation in fault", cooperation=cooperation_id, fault=found[cooperation_id]
                )
            for cooperation_id in cleared:
                log.warning("cooperation out of fault", cooperation=cooperation_id)
            in_fault.set(len(found))
        except Exception as error:  # the watch must outlive a PostgreSQL or Temporal outage
            log.warning("fault watch could not look", error=str(error))
        await asyncio.sleep(every)
