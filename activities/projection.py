"""One activity per decision: project its events into PostgreSQL and carry out its effects,
in one transaction, each part keyed so that a retried activity changes nothing twice."""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio import activity

from activities.models import ApplyEffects, CommitResult, EffectsResult
from activities.reports import render_report
from domain.effects import (
    FreeCommitment,
    Notify,
    PostRepayment,
    Release,
    RenderReport,
    RequestCommitment,
    StartLoan,
)
from domain.ledger import ledger_rows
from store import money
from store.db import Conn
from store.events import append_events


class EffectActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name="apply_effects")
    async def apply_effects(self, request: ApplyEffects) -> EffectsResult:
        commitments: list[CommitResult] = []
        async with self.pool.acquire() as conn, conn.transaction():
            if request.summary is not None:
                await upsert_summary(conn, request.cooperation_id, request.summary)
            new = await append_events(
                conn, request.cooperation_id, [e.model_dump() for e in request.events]
            )
            for effect in request.effects:
                result = await _carry_out(conn, request.cooperation_id, effect)
                if result is not None:
                    commitments.append(result)
        return EffectsResult(new_events=new, commitments=commitments)


async def _carry_out(conn: Conn, cooperation_id: str, effect: Any) -> CommitResult | None:
    match effect:
        case Release() | PostRepayment():
            await money.post(conn, ledger_rows(effect))
        case RequestCommitment():
            outcome = await money.commit(
                conn,
                cooperation_id=cooperation_id,
                programme_id=effect.programme,
                amount=effect.amount,
                cap=effect.cap,
            )
            return CommitResult(
                line=effect.line,
                committed=outcome.committed,
                remaining=outcome.remaining,
                needed=outcome.needed,
                reason=outcome.reason,
            )
        case FreeCommitment():
            await money.free(
                conn,
                cooperation_id=cooperation_id,
                programme_id=effect.programme,
                amount=effect.amount,
            )
        case Notify():
            await conn.execute(
                "INSERT INTO notifications (key, cooperation_id, to_role, to_subject, about, seq)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
                f"{cooperation_id}:{effect.seq}:{effect.to_role}:{effect.to or ''}",
                cooperation_id,
                effect.to_role,
                effect.to,
                effect.about,
                effect.seq,
            )
        case RenderReport():
            await render_report(conn, cooperation_id, effect)
        case StartLoan():
            # The loan's schedule lives in the cooperation's state (one event sequence);
            # its disbursement was posted with the release.
            pass
    return None


async def upsert_summary(conn: Conn, cooperation_id: str, s: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO cooperations (id, name, facilitator, fiscal_host, phase, paused,"
        " outcome, overdue, programmes, state)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (id) DO UPDATE SET facilitator = EXCLUDED.facilitator,"
        " fiscal_host = EXCLUDED.fiscal_host, phase = EXCLUDED.phase,"
        " paused = EXCLUDED.paused, outcome = EXCLUDED.outcome, overdue = EXCLUDED.overdue,"
        " programmes = EXCLUDED.programmes, state = EXCLUDED.state, updated_at = now()",
        cooperation_id,
        s.get("name") or cooperation_id,
        s.get("facilitator"),
        s.get("fiscal_host"),
        s.get("phase"),
        bool(s.get("paused", False)),
        s.get("outcome"),
        bool(s.get("overdue", False)),
        list(s.get("programmes", [])),
        s,
    )
