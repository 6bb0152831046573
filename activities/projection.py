"""Projection of a cooperation's domain events into PostgreSQL (exactly once per seq)."""

from __future__ import annotations

import asyncpg
from temporalio import activity

from activities.models import RecordEvents
from store.events import append_events


class ProjectionActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name="record_events")
    async def record_events(self, request: RecordEvents) -> int:
        async with self.pool.acquire() as conn:
            if request.summary is not None:
                s = request.summary
                await conn.execute(
                    "INSERT INTO cooperations (id, name, facilitator, fiscal_host, phase, paused,"
                    " outcome, overdue, programmes, state)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,"
                    " facilitator = EXCLUDED.facilitator, fiscal_host = EXCLUDED.fiscal_host,"
                    " phase = EXCLUDED.phase, paused = EXCLUDED.paused,"
                    " outcome = EXCLUDED.outcome, overdue = EXCLUDED.overdue,"
                    " programmes = EXCLUDED.programmes, state = EXCLUDED.state,"
                    " updated_at = now()",
                    request.cooperation_id,
                    s.get("name", request.cooperation_id),
                    s.get("facilitator"),
                    s.get("fiscal_host"),
                    s.get("phase"),
                    bool(s.get("paused", False)),
                    s.get("outcome"),
                    bool(s.get("overdue", False)),
                    list(s.get("programmes", [])),
                    s,
                )
            inserted = await append_events(
                conn,
                request.cooperation_id,
                [e.model_dump() for e in request.events],
            )
        activity.logger.info(
            "events recorded",
            extra={"cooperation": request.cooperation_id, "new": inserted},
        )
        return inserted
