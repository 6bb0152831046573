"""One activity per batch of decisions: project their events into PostgreSQL and carry out
their effects, in one transaction, each part keyed so that a retried activity changes
nothing twice."""

from __future__ import annotations

from typing import Any

import asyncpg
from pydantic_core import to_json
from temporalio import activity
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError

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
from domain.state import CooperationState
from runtime.logging import get_logger
from store import money
from store.answers import answers_along, keep_answers
from store.db import Conn
from store.delivery import Mail, queue, queued
from store.events import EventConflict, append_events
from store.people import forget_departed
from store.readmodel import project_events, project_state, project_summary

log = get_logger("coopflow.effects")


class Delivered(ApplyEffects):
    """`ApplyEffects` as this activity decodes it. The state only passes through, to
    PostgreSQL for the forecast: it is read as the JSON object it came as and written back
    as the same text, rather than validated model by model and encoded again (that took
    four fifths of the activity's decoding, bench.simulate_ratio)."""

    state: dict[str, Any] | None = None  # type: ignore[assignment]


def state_text(state: CooperationState | dict[str, Any]) -> str:
    """The state's JSON, as `CooperationState.model_dump_json` writes it; a caller in the
    same process (a test) may hand the model itself."""
    if isinstance(state, CooperationState):
        return state.model_dump_json()
    return to_json(state).decode()


class _Refused(Exception):
    """Rolls back a registration's commitments when one of its lines cannot be committed."""


class EffectActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name="apply_effects")
    async def apply_effects(self, request: Delivered) -> EffectsResult:
        meter = activity.metric_meter()
        if activity.info().attempt > 1:
            meter.create_counter(
                "coopflow_effect_retries", "Effects carried out again after a failed attempt"
            ).add(1)
        commitments: list[CommitResult] = []
        released: list[Release] = []
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                # Each step below is one statement, or none when it has nothing to do: a
                # check-in's effects are four or five round trips with BEGIN and COMMIT
                # (tests/activities/test_round_trips.py).
                state = state_text(request.state) if request.state is not None else None
                if request.summary is not None:
                    await project_summary(conn, request.summary, state)
                    state = None  # kept with the summary
                answers = [(a.request_id, a.first_seq, a.last_seq) for a in request.answered]
                # The e-mails wait in the outbox with the webhooks' deliveries: queued with the
                # events, the outbox woken at the commit when there is something new to send.
                mails = [
                    _mail(request.cooperation_id, e)
                    for e in request.effects
                    if isinstance(e, Notify)
                ]
                events = [e.model_dump() for e in request.events]
                if events:
                    new = await append_events(
                        conn,
                        request.cooperation_id,
                        events,
                        full_state=state,
                        along=[
                            *answers_along(answers),
                            queued(request.cooperation_id, request.events, mails),
                        ],
                    )
                else:
                    new = 0
                    if state is not None:
                        await project_state(conn, request.cooperation_id, state)
                    await keep_answers(conn, request.cooperation_id, answers)
                    await queue(conn, request.cooperation_id, [], mails)
                await project_events(conn, request.cooperation_id, request.events)
                await forget_departed(conn, request.cooperation_id, request.events)
                if request.rules_version is not None:
                    await record_rules(conn, request)
                for effect in request.effects:
                    result = await _carry_out(conn, request.cooperation_id, effect, released)
                    if result is not None:
                        commitments.append(result)
                await money.record_paid(conn, request.cooperation_id, request.events)
                if request.all_or_nothing and not all(r.committed for r in commitments):
                    raise _Refused
        except _Refused:
            # Rolled back: the lines that could be committed are not committed either.
            return EffectsResult(
                new_events=0,
                commitments=[r.model_copy(update={"committed": False}) for r in commitments],
            )
        except EventConflict as conflict:
            log.error(
                "event conflict: a past decision came out differently",
                cooperation=conflict.cooperation_id,
                seq=conflict.seq,
                recorded=conflict.recorded,
                incoming=conflict.incoming,
            )
            raise ApplicationError(str(conflict), type="EventConflict") from None
        # Counted once committed, so a rolled-back or repeated attempt counts nothing.
        _count_releases(meter, released)
        return EffectsResult(new_events=new, commitments=commitments)


def _count_releases(meter: MetricMeter, released: list[Release]) -> None:
    if not released:
        return
    count = meter.create_counter("coopflow_releases", "Tranches released, by purpose")
    # Cents: the SDK's counters take integers.
    amount = meter.create_counter(
        "coopflow_released_cents", "Money released, in cents of its currency, by purpose"
    )
    for release in released:
        labels = {
            "purpose": release.purpose.value,
            "kind": release.kind,
            "currency": release.currency,
        }
        count.add(1, labels)
        amount.add(int(release.amount * 100), labels)


async def _carry_out(
    conn: Conn, cooperation_id: str, effect: Any, released: list[Release]
) -> CommitResult | None:
    match effect:
        case Release():
            # A release's postings go in together or not at all: any new one means it is new.
            if await money.post(conn, ledger_rows(effect)):
                released.append(effect)
        case PostRepayment():
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
            pass  # queued with the events (`queued`)
        case RenderReport():
            await render_report(conn, cooperation_id, effect)
        case StartLoan():
            # The loan's schedule lives in the cooperation's state (one event sequence);
            # its disbursement was posted with the release.
            pass
    return None


def _mail(cooperation_id: str, effect: Notify) -> Mail:
    return Mail(
        key=f"{cooperation_id}:{effect.seq}:{effect.to_role}:{effect.to or ''}",
        to_role=effect.to_role,
        to_subject=effect.to,
        about=effect.about,
        seq=effect.seq,
    )


async def record_rules(conn: Conn, request: ApplyEffects) -> None:
    """Where the cooperation began to run under `request.rules_version`: the first event
    decided under it (or the next seq to come, when the batch has none)."""
    first = request.events[0] if request.events else None
    await conn.execute(
        "INSERT INTO rules_history (cooperation_id, rules_version, from_seq, at)"
        " SELECT $1, $2, coalesce($3, last_seq + 1), coalesce($4, now())"
        " FROM cooperations WHERE id = $1"
        " ON CONFLICT (cooperation_id, rules_version) DO NOTHING",
        request.cooperation_id,
        request.rules_version,
        first.seq if first else None,
        first.at if first else None,
    )
    await conn.execute(
        "UPDATE cooperations SET rules_version = greatest(rules_version, $2) WHERE id = $1",
        request.cooperation_id,
        request.rules_version,
    )
