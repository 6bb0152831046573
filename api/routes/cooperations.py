"""Cooperations: registered by facilitators, each followed by its own workflow; read by
everyone in scope, from the workflow while it runs and from PostgreSQL's read models."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import ValidationError
from temporalio.client import WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from api.access import EVERYONE, Seen, cooperation_seen, reads, shown, shown_event
from api.auth import Caller, CallerDep
from api.commands import answer_within, answered_before, request_id
from api.deps import DocumentDep, PoolDep, SettingsDep, TemporalDep, document_openapi
from api.models import (
    AwaitedApprovalOf,
    Erasure,
    EventFeed,
    LoanOutstanding,
    Page,
    PendingTranche,
    Schedule,
    UndatedTranche,
)
from api.problems import Problem, bad_cursor, field_error, invalid, refusal
from api.reading import QUERY_TIMEOUT, current_summary, latest_summary, no, recent_event
from domain import views
from domain.commands import Register
from domain.cooperation import CooperationSpec
from domain.errors import DomainError
from domain.events import Event, instant
from domain.ledger import LedgerEntry
from domain.lifecycle import decide
from domain.lifecycle.clock import next_wakeup
from domain.limits import at_door
from domain.programme import Phase, ProgrammeVersion
from domain.rules import RULES_VERSION
from domain.schedule import TrancheToCome, tranches_to_come
from domain.state import CooperationState
from domain.views import CooperationSummary
from runtime.temporal import cooperation_workflow_id
from store import money, readmodel
from store.erasure import erasures_of
from store.events import last_seq, list_events
from store.people import keep_names, nameless
from store.programmes import get_programme
from workflows.client import CommandRefused, NoAnswer, refused_by, register
from workflows.cooperation import CooperationWorkflow

router = APIRouter(prefix="/v1/cooperations", tags=["cooperations"])

_COOPERATION_BODY = document_openapi(
    "CooperationSpec",
    "informal collective hosted by its facilitator, two funders",
    {
        "id": "ressourcerie-du-bourg",
        "name": "Ressourcerie du Bourg",
        "kind": "non_modelled",
        "economic_model": "hybrid",
        "members": [
            {
                "id": "habitants-bourg",
                "name": "Collectif des habitants du Bourg",
                "legal_form": "informal",
            },
            {
                "id": "repair-cafe",
                "name": "Repair café",
                "legal_form": "informal",
            },
        ],
        "fiscal_host": "pole-107",
        "funding_lines": [
            "fondation-territoires-2027",
            {
                "programme": "region-cooperations",
                "angle": {
                    "summary": "Réemploi et emplois locaux",
                    "indicators": ["tonnes_reemployees"],
                },
            },
        ],
    },
)


def _unknown_programme(index: int, programme_id: str) -> Problem:
    return Problem(
        422,
        f"funding_lines.{index}: no programme {programme_id!r}",
        errors=[
            field_error(
                f"funding_lines.{index}", f"no programme {programme_id!r}", "unknown_programme"
            )
        ],
    )


@router.post(
    "", status_code=201, response_model=CooperationSummary, openapi_extra=_COOPERATION_BODY
)
async def register_cooperation(
    body: DocumentDep,
    request: Request,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
    settings: SettingsDep,
    response: Response,
) -> CooperationSummary:
    """A facilitator registers a cooperation (its own unless it says otherwise: 403); its
    workflow starts and registers in one step. Lines given here are proposals to their
    funders (rule 15)."""
    if caller.role != "facilitator":
        raise Problem(403, f"a {caller.role} may not register a cooperation (facilitators do)")
    if isinstance(body, dict) and "facilitator" not in body:
        body = body | {"facilitator": caller.subject}
    try:
        spec = at_door(CooperationSpec, body)
    except ValidationError as exc:
        raise invalid(exc) from None
    if spec.facilitator != caller.subject:
        raise Problem(
            403, f"you register as facilitator {caller.subject!r}, not {spec.facilitator!r}"
        )
    if await answered_before(request, caller, spec.id) is not None:
        # Registered by this very request, whose first answer was lost (a 503): the same again.
        return await _registered(pool, spec, response, await latest_summary(client, pool, spec.id))
    versions: list[ProgrammeVersion] = []
    async with pool.acquire() as conn:
        for i, line in enumerate(spec.funding_lines):
            found = await get_programme(conn, line.programme)
            if found is None:
                raise _unknown_programme(i, line.programme)
            versions.append(found)
        if await readmodel.is_registered(conn, spec.id):
            raise Problem(409, f"cooperation {spec.id!r} is already registered")
    # Names stay out of the workflow's history; they are stored once the cooperation exists.
    command = Register(
        cooperation=nameless(spec),
        programmes=versions,
        lines_accepted=False,
        rules_version=RULES_VERSION,
    )
    try:
        # The rules first, here: a registration they refuse starts no workflow at all.
        decide(None, command, datetime.now(UTC))
        answer = await register(
            client,
            command,
            task_queue=settings.task_queue,
            request=request_id(request, caller),
            answer_within=answer_within(request),
        )
    except DomainError as error:
        raise refusal(refused_by(error)) from None
    except CommandRefused as refused:
        raise refusal(refused) from None
    except NoAnswer:
        raise Problem(
            503,
            "the cooperation's workflow did not answer in time: send the registration again"
            " with the same Idempotency-Key",
            headers={"Retry-After": "5"},
        ) from None
    return await _registered(pool, spec, response, answer.state)


async def _registered(
    pool: asyncpg.Pool, spec: CooperationSpec, response: Response, state: CooperationSummary
) -> CooperationSummary:
    async with pool.acquire() as conn:
        await keep_names(conn, spec)
    response.headers["Location"] = f"/v1/cooperations/{spec.id}"
    return state


@router.get("", response_model=Page[CooperationSummary])
async def list_cooperations(
    caller: CallerDep,
    pool: PoolDep,
    phase: Annotated[
        Phase | None, Query(description="emergence, experimentation or structuring")
    ] = None,
    outcome: Annotated[
        str | None, Query(pattern="^(completed|abandoned|open)$", description="or open")
    ] = None,
    programme: Annotated[str | None, Query(max_length=100)] = None,
    overdue: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[CooperationSummary]:
    """A page of the cooperations in the caller's scope, by id, from the read model."""
    after = _decode(cursor) if cursor is not None else None
    async with pool.acquire() as conn:
        kept = readmodel.Filter(phase.value if phase else None, outcome, programme, overdue)
        rows = await readmodel.list_cooperations(
            conn, caller.role, caller.subject, kept, after, limit + 1
        )
    items = [_shown_row(row.state, caller) for row in rows[:limit] if row.state]
    more = len(rows) > limit
    return Page(items=items, next_cursor=_encode(rows[limit - 1].id) if more else None)


def _shown_row(state: str, caller: Caller) -> CooperationSummary:
    summary = CooperationSummary.model_validate_json(state)
    own = frozenset(line.line for line in summary.lines if line.funder == caller.subject)
    if caller.role != "funder":
        return summary
    return shown(summary, Seen(summary.id, "funder", caller, own, all_lines=False))


def _encode(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_cursor() from None


async def _seen(pool: PoolDep, caller: Caller, cooperation_id: str) -> Seen:
    async with pool.acquire() as conn:
        return await cooperation_seen(conn, caller, cooperation_id)


@router.get("/{cooperation_id}", response_model=CooperationSummary)
async def read_cooperation(
    cooperation_id: str, caller: CallerDep, client: TemporalDep, pool: PoolDep
) -> CooperationSummary:
    """Phase, stint, pause, members, lines (a funder's own), tranches and next check-in:
    from the workflow, or from PostgreSQL once the workflow has ended."""
    seen = await _seen(pool, caller, cooperation_id)
    return await current_summary(client, pool, seen)


_TO_COME = {"tranche", "occurrence", "amount", "waits_for"}
"""What a pending tranche of the summary tells of a tranche to come."""


@router.get("/{cooperation_id}/schedule", response_model=Schedule)
async def read_schedule(
    cooperation_id: str, caller: CallerDep, client: TemporalDep, pool: PoolDep
) -> Schedule:
    """The next check-in, the clock's next instant, the tranches still to release and the
    loans' outstanding amounts; and the échéancier prévisionnel (`tranches`): each tranche or
    occurrence still to come, `expected_on` the day the rules release it on where they can
    know it, else null, and `waits_for` what it waits for in words (`waiting`: the same,
    one condition each, for pages to say in their own words). A funder's own lines only.
    When the workflow cannot answer, they come from PostgreSQL's summary, undated."""
    seen = await _seen(pool, caller, cooperation_id)
    reads(seen, EVERYONE, "schedule")
    handle = client.get_workflow_handle(cooperation_workflow_id(cooperation_id))
    state: CooperationState | None
    try:
        state = await handle.query(CooperationWorkflow.full_state, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryRejectedError, WorkflowQueryFailedError):
        state = None
    if state is not None:
        summary = shown(views.summary(state), seen)
        wake = next_wakeup(state)
        # The workflow's instant never goes back (a simulation's runs ahead of the wall).
        now = max(state.last_at, datetime.now(UTC))
        tranches: list[TrancheToCome | UndatedTranche] = [
            t for t in tranches_to_come(state, now) if seen.sees_line(t.line)
        ]
    else:
        summary = await current_summary(client, pool, seen)
        wake = None
    pending = [
        (
            line,
            PendingTranche(
                line=line.line, currency=line.currency, **t.model_dump(include=_TO_COME)
            ),
        )
        for line in summary.lines
        for t in line.tranches
        if t.status == "pending"
    ]
    if state is None:
        # Undated: PostgreSQL's summary knows what is pending, not when.
        tranches = [
            UndatedTranche(**p.model_dump())
            for line, p in pending
            if line.status != "declined" and not summary.closed
        ]
    return Schedule(
        next_check_in=summary.next_check_in,
        next_wakeup=wake.isoformat() if wake else None,
        pending_tranches=[p for _, p in pending],
        awaiting_approval=[
            AwaitedApprovalOf(line=line.line, tranche=tranche)
            for line in summary.lines
            for tranche in line.awaiting_approval
        ],
        loans=[
            LoanOutstanding(line=line.line, **loan.model_dump())
            for line in summary.lines
            for loan in line.loans
        ],
        tranches=tranches,
    )


@router.get("/{cooperation_id}/ledger", response_model=list[LedgerEntry])
async def read_ledger(cooperation_id: str, caller: CallerDep, pool: PoolDep) -> list[LedgerEntry]:
    """Postings: releases to payees, loan disbursements, repayments (a funder's lines). Under
    rules 3 a release is a versement `ordered` (with `due_by` when its programme sets
    payment_within) until recorded `paid` (with `paid_on`), rule 19."""
    seen = await _seen(pool, caller, cooperation_id)
    async with pool.acquire() as conn:
        postings = await money.ledger(conn, cooperation_id)
    return [
        LedgerEntry(
            **p.model_dump(exclude={"payable"}),
            status=("paid" if p.paid_on else "ordered") if p.payable else None,
        )
        for p in postings
        if seen.sees_line(p.line)
    ]


@router.get("/{cooperation_id}/events", response_model=EventFeed)
async def read_events(
    cooperation_id: str,
    caller: CallerDep,
    pool: PoolDep,
    after: Annotated[int, Query(ge=0, le=2**53)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventFeed:
    """The event log after `after`, gapless; an event about a line the caller may not see
    keeps its seq, type and date, its data withheld. `erasures`: when personal data of the
    cooperation was erased (`coopflow erase`), the events blanked then saying `erased`."""
    seen = await _seen(pool, caller, cooperation_id)
    async with pool.acquire() as conn:
        events = await list_events(conn, cooperation_id, after, limit)
        erased = await erasures_of(conn, cooperation_id)
        latest = await last_seq(conn, cooperation_id)
    items = [shown_event(event, seen) for event in events]
    return EventFeed(
        items=items,
        next_after=items[-1].seq if items else after,
        erasures=[
            Erasure(at=instant(e.at), scope=e.scope, member=e.member, events=e.events)
            for e in erased
        ],
        last_seq=latest,
    )


@router.get("/{cooperation_id}/events/{seq}", response_model=Event)
async def read_event(
    cooperation_id: str,
    seq: Annotated[int, Path(ge=1, le=2**53)],
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> Event:
    seen = await _seen(pool, caller, cooperation_id)
    async with pool.acquire() as conn:
        found = await list_events(conn, cooperation_id, seq - 1, 1)
    event = found[0] if found and found[0].seq == seq else None
    if event is None:
        event = await recent_event(client, cooperation_id, seq)
    if event is None:
        raise no("event", seq, cooperation_id)
    return shown_event(event, seen)
