"""What each role does to a cooperation (DESIGN.md, "HTTP API" and rule 15): the facilitator
proposes lines, moves the cooperation, reviews, manages members and answers requests; the
funder decides on its lines, approves, records repayments and write-offs; the collective
checks in and asks for transitions."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from api.access import EVERYONE, SHARED, Seen, allow, cooperation_seen, reads, shown
from api.auth import Caller, CallerDep
from api.commands import apply, door, request_id
from api.deps import PoolDep, TemporalDep
from api.models import (
    ApprovalAsked,
    CheckInCreated,
    CheckInSubmission,
    Declining,
    ForeseenRelease,
    LineDecision,
    LineProposal,
    MemberJoining,
    Repayment,
    Review,
    Transition,
    TransitionAsked,
    TransitionPreview,
    WriteOffAsked,
    WrittenOff,
)
from api.problems import Problem, field_error
from api.reading import current_summary, foresee, no, state_for
from domain import commands as c
from domain.cooperation import Member
from domain.effects import Release
from domain.events import Event
from domain.views import CooperationSummary, LineView, RequestView, summary
from store.checkins import (
    CheckInShown,
    check_in_shown,
    forget_pending,
    keep_comment,
    keep_submission,
    record_submitted,
)
from store.db import Conn
from store.people import keep_member, member_names
from store.programmes import get_programme
from store.requests import record_requests, requested_view, requests_of
from workflows.models import CommandAnswer

router = APIRouter(prefix="/v1/cooperations/{cooperation_id}", tags=["cooperations"])


async def _seen(pool: PoolDep, caller: Caller, cooperation_id: str) -> Seen:
    async with pool.acquire() as conn:
        return await cooperation_seen(conn, caller, cooperation_id)


# -- funding lines (rules 9, 15) ------------------------------------------------------------


@router.post("/funding-lines", status_code=201, response_model=LineView)
async def propose_line(
    cooperation_id: str,
    body: LineProposal,
    request: Request,
    response: Response,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> LineView:
    """The facilitator proposes a funding line; its programme's funder accepts or declines."""
    seen = await _seen(pool, caller, cooperation_id)
    allow(seen, ("facilitator",), "propose a funding line")
    async with pool.acquire() as conn:
        version = await get_programme(conn, body.programme)
    if version is None:
        raise Problem(
            422,
            f"programme: no programme {body.programme!r}",
            errors=[field_error("programme", f"no programme {body.programme!r}", "value_error")],
        )
    command = door(
        c.ProposeLine,
        {"line": body.model_dump(exclude_none=True), "programme": version.model_dump()},
    )
    answer = await apply(request, client, caller, cooperation_id, command)
    response.headers["Location"] = (
        f"/v1/cooperations/{cooperation_id}/funding-lines/{body.programme}"
    )
    return _line(answer.state, body.programme, cooperation_id)


@router.get("/funding-lines", response_model=list[LineView])
async def list_lines(
    cooperation_id: str, caller: CallerDep, pool: PoolDep, client: TemporalDep
) -> list[LineView]:
    seen = await _seen(pool, caller, cooperation_id)
    return (await current_summary(client, pool, seen)).lines


@router.get("/funding-lines/{programme}", response_model=LineView)
async def read_line(
    cooperation_id: str, programme: str, caller: CallerDep, pool: PoolDep, client: TemporalDep
) -> LineView:
    seen = await _seen(pool, caller, cooperation_id)
    return _line(await current_summary(client, pool, seen), programme, cooperation_id)


@router.post("/funding-lines/{programme}/decision", response_model=LineView)
async def decide_line(
    cooperation_id: str,
    programme: str,
    body: LineDecision,
    request: Request,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> LineView:
    """The programme's funder accepts (commits the line's whole potential, rule 9: 409 with
    what remains and what is needed when the budget cannot cover it) or declines. A line of
    a granted programme is accepted with the `amount` granted (rule 17: 422 naming `amount`
    when it is missing or outside the programme's bounds)."""
    seen = await _seen(pool, caller, cooperation_id)
    if not seen.sees_line(programme):
        raise no("funding line", programme, cooperation_id)
    allow(seen, ("funder",), "decide on a funding line")
    if not body.accept and body.amount is not None:
        raise Problem(
            422,
            "amount: a declined line is granted nothing",
            errors=[field_error("amount", "a declined line is granted nothing", "value_error")],
        )
    command: c.Command = (
        door(c.AcceptLine, {"line": programme, "amount": body.amount})
        if body.accept
        else door(c.DeclineLine, {"line": programme, "note": body.note})
    )
    answer = await apply(request, client, caller, cooperation_id, command)
    return _line(answer.state, programme, cooperation_id)


def _line(summary: CooperationSummary, programme: str, cooperation_id: str) -> LineView:
    line = next((x for x in summary.lines if x.line == programme), None)
    if line is None:
        raise no("funding line", programme, cooperation_id)
    return line


# -- moves (rules 2, 5, 6, 7) and requests (rule 15) ----------------------------------------


@router.post("/transitions", response_model=CooperationSummary)
async def transition(
    cooperation_id: str,
    body: Transition,
    request: Request,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> CooperationSummary:
    """Advance, restart, pivot, pause, resume or close; a transition answers the collective's
    open requests for it."""
    seen = await _seen(pool, caller, cooperation_id)
    allow(seen, ("facilitator",), "move the cooperation")
    answer = await apply(request, client, caller, cooperation_id, _move(body))
    async with pool.acquire() as conn:
        # The requests it answered read as answered at once, before the projection.
        await record_requests(conn, cooperation_id, answer.events)
    return answer.state


@router.post("/transitions/preview", response_model=TransitionPreview)
async def preview_transition(
    cooperation_id: str,
    body: Transition,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> TransitionPreview:
    """What `POST …/transitions` with this body would do if sent now, changing nothing: the
    phase and pause after it, the events it would record, the releases it would make and the
    next check-in. The rules decide on a copy of the workflow's state, so a move they would
    refuse gets the very problem (status, detail, fields) the move itself would get."""
    seen = await _seen(pool, caller, cooperation_id)
    allow(seen, ("facilitator",), "move the cooperation")
    command = _move(body)
    foreseen = foresee(await state_for(client, cooperation_id, command), command)
    after = foreseen.decision.state
    # The next check-in as every reader sees it (the summary's, the schedule query's).
    before_due, after_due = summary(foreseen.before).next_check_in, summary(after).next_check_in
    return TransitionPreview(
        action=body.action,
        phase_after=after.phase,
        paused_after=after.paused,
        outcome_after=after.outcome,
        events=foreseen.decision.events,
        releases=[
            ForeseenRelease.model_validate(effect.model_dump(include=_RELEASED))
            for effect in foreseen.decision.effects
            if isinstance(effect, Release)
        ],
        next_check_in_before=before_due,
        next_check_in=after_due,
        reanchored=(
            before_due is not None and after_due is not None and before_due.due != after_due.due
        ),
    )


_RELEASED = set(ForeseenRelease.model_fields)


def _move(body: Transition) -> c.Command:
    """The move a transition body names: a field its action does not take is refused (422)
    rather than dropped, so nobody believes a reason or an outcome was recorded."""
    model = c.MOVES[body.action]
    fields = [name for name in model.model_fields if name not in ("kind", "request_id")]
    given = body.model_dump(exclude_none=True, mode="json")
    unused = sorted(set(given) - {"action", *fields})
    if unused:
        raise Problem(
            422,
            f"{', '.join(unused)}: not used by {body.action}",
            errors=[
                field_error(name, f"not used by {body.action}", "value_error") for name in unused
            ],
        )
    return door(model, {k: given.get(k) for k in fields})


@router.post("/transition-requests", status_code=201, response_model=RequestView)
async def ask_transition(
    cooperation_id: str,
    body: TransitionAsked,
    request: Request,
    response: Response,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> RequestView:
    seen = await _seen(pool, caller, cooperation_id)
    # Requests are out of a fiscal host's scope: acting on them is not found, as reading is.
    reads(seen, SHARED, "transition requests")
    allow(seen, ("collective",), "request a transition (the collective asks)")
    command = door(c.RequestTransition, body.model_dump(mode="json"))
    answer = await apply(request, client, caller, cooperation_id, command)
    asked = next((e for e in answer.events if e.type == "TransitionRequested"), None)
    async with pool.acquire() as conn:
        if asked is not None:
            # Readable at once (its Location), reason included, before the projection.
            await record_requests(conn, cooperation_id, answer.events)
            made = requested_view(asked)
        else:
            # A repeated request whose event the run no longer holds: the log has it.
            made = await _request(conn, cooperation_id, answer.first_seq)
    response.headers["Location"] = (
        f"/v1/cooperations/{cooperation_id}/transition-requests/{made.seq}"
    )
    return made


@router.get("/transition-requests", response_model=list[RequestView])
async def list_requests(cooperation_id: str, caller: CallerDep, pool: PoolDep) -> list[RequestView]:
    """Every request of the cooperation, oldest first, with its reason (PostgreSQL: the
    workflow keeps no free text)."""
    seen = await _seen(pool, caller, cooperation_id)
    reads(seen, SHARED, "transition requests")
    async with pool.acquire() as conn:
        return await requests_of(conn, cooperation_id)


@router.get("/transition-requests/{seq}", response_model=RequestView)
async def read_request(
    cooperation_id: str, seq: int, caller: CallerDep, pool: PoolDep
) -> RequestView:
    seen = await _seen(pool, caller, cooperation_id)
    reads(seen, SHARED, "transition requests")
    async with pool.acquire() as conn:
        return await _request(conn, cooperation_id, seq)


@router.post("/transition-requests/{seq}/decline", response_model=RequestView)
async def decline_request(
    cooperation_id: str,
    seq: int,
    body: Declining,
    request: Request,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> RequestView:
    seen = await _seen(pool, caller, cooperation_id)
    reads(seen, SHARED, "transition requests")
    allow(seen, ("facilitator",), "decline a transition request (the facilitator decides)")
    command = door(c.DeclineTransitionRequest, {"request": seq, "reason": body.reason})
    answer = await apply(request, client, caller, cooperation_id, command)
    async with pool.acquire() as conn:
        await record_requests(conn, cooperation_id, answer.events)
        return await _request(conn, cooperation_id, seq)


async def _request(conn: Conn, cooperation_id: str, seq: int) -> RequestView:
    found = await requests_of(conn, cooperation_id, seq)
    if not found:
        raise no("transition request", seq, cooperation_id)
    return found[0]


# -- members (rule 15) ----------------------------------------------------------------------


@router.post("/members", status_code=201)
async def add_member(
    cooperation_id: str,
    body: MemberJoining,
    request: Request,
    response: Response,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> dict[str, Any]:
    seen = await _seen(pool, caller, cooperation_id)
    allow(seen, ("facilitator",), "add a member")
    # The name stays out of the workflow: stored here once the member has joined.
    spec = body.model_dump()
    command = door(c.MemberJoin, {"member": spec | {"name": spec["id"]}})
    await apply(request, client, caller, cooperation_id, command)
    async with pool.acquire() as conn:
        await keep_member(conn, cooperation_id, body.id, body.name)
    response.headers["Location"] = f"/v1/cooperations/{cooperation_id}/members/{body.id}"
    return {**Member.of(command.member).model_dump(), "name": body.name}


@router.get("/members")
async def list_members(
    cooperation_id: str, caller: CallerDep, pool: PoolDep, client: TemporalDep
) -> list[dict[str, Any]]:
    seen = await _seen(pool, caller, cooperation_id)
    summary = await current_summary(client, pool, seen)
    async with pool.acquire() as conn:
        names = await member_names(conn, cooperation_id)
    return [{**m.model_dump(), "name": names.get(m.id)} for m in summary.members]


@router.get("/members/{member}")
async def read_member(
    cooperation_id: str, member: str, caller: CallerDep, pool: PoolDep, client: TemporalDep
) -> dict[str, Any]:
    found = [
        m for m in await list_members(cooperation_id, caller, pool, client) if m["id"] == member
    ]
    if not found:
        raise no("member", member, cooperation_id)
    return found[0]


@router.delete("/members/{member}")
async def remove_member(
    cooperation_id: str,
    member: str,
    request: Request,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> CooperationSummary:
    seen = await _seen(pool, caller, cooperation_id)
    allow(seen, ("facilitator",), "remove a member")
    # Its name is erased as its departure is projected (store.people.forget_departed), not
    # here: an answer lost on its way back must leave no name behind.
    answer = await apply(
        request, client, caller, cooperation_id, door(c.MemberLeave, {"member_id": member})
    )
    return answer.state


# -- check-ins and reviews (rule 8) ---------------------------------------------------------


@router.post("/check-ins", status_code=201, response_model=CheckInCreated)
async def check_in(
    cooperation_id: str,
    body: CheckInSubmission,
    request: Request,
    response: Response,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> CheckInCreated:
    seen = await _seen(pool, caller, cooperation_id)
    reads(seen, SHARED, "check-ins")
    allow(seen, ("collective",), "submit a check-in (the collective does)")
    check_in_id = _check_in_id(request, caller)
    command = door(
        c.SubmitCheckIn,
        {"check_in_id": check_in_id, "period": body.period, "indicators": body.indicators},
    )
    # The texts are kept first, so a lost answer loses nothing; a refusal takes them back.
    # A 503 is no refusal: the command may still apply (its check-in then shows the text),
    # and a retry with the key names the same check-in.
    async with pool.acquire() as conn:
        await keep_submission(
            conn, cooperation_id, check_in_id, body.narrative, body.needs, body.indicators
        )
    try:
        answer = await apply(request, client, caller, cooperation_id, command)
    except Problem as problem:
        if problem.status < 500:
            async with pool.acquire() as conn:
                await forget_pending(conn, cooperation_id, check_in_id)
        raise
    event = _recorded(answer, "CheckInSubmitted")
    async with pool.acquire() as conn:
        # Readable at once (its Location), before the projection catches up.
        await record_submitted(conn, cooperation_id, event)
    response.headers["Location"] = f"/v1/cooperations/{cooperation_id}/check-ins/{check_in_id}"
    return CheckInCreated(id=check_in_id, period=event.data["period"])


def _check_in_id(request: Request, caller: Caller) -> str:
    if request.headers.get("idempotency-key"):
        # The same key (the caller's, while it is kept) names the same check-in, so a retry
        # is the same submission.
        named = request_id(request, caller)
        return "ci-" + hashlib.sha256(named.encode()).hexdigest()[:20]
    return "ci-" + uuid.uuid4().hex[:20]


@router.get("/check-ins", response_model=list[CheckInShown])
async def list_check_ins(
    cooperation_id: str, caller: CallerDep, pool: PoolDep
) -> list[CheckInShown]:
    seen = await _seen(pool, caller, cooperation_id)
    reads(seen, SHARED, "check-ins")
    async with pool.acquire() as conn:
        return await check_in_shown(conn, cooperation_id)


@router.get("/check-ins/{check_in_id}", response_model=CheckInShown)
async def read_check_in(
    cooperation_id: str, check_in_id: str, caller: CallerDep, pool: PoolDep
) -> CheckInShown:
    seen = await _seen(pool, caller, cooperation_id)
    reads(seen, SHARED, "check-ins")
    async with pool.acquire() as conn:
        found = await check_in_shown(conn, cooperation_id, check_in_id)
    if not found:
        raise no("check-in", check_in_id, cooperation_id)
    return found[0]


@router.post("/check-ins/{check_in_id}/review", response_model=CheckInShown)
async def review(
    cooperation_id: str,
    check_in_id: str,
    body: Review,
    request: Request,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> CheckInShown:
    seen = await _seen(pool, caller, cooperation_id)
    reads(seen, SHARED, "check-ins")
    allow(seen, ("facilitator",), "review a check-in (the facilitator does)")
    command = door(c.ReviewCheckIn, {"check_in_id": check_in_id, "decision": body.decision})
    answer = await apply(request, client, caller, cooperation_id, command)
    reviewed = _recorded(answer, "CheckInReviewed")
    async with pool.acquire() as conn:
        await keep_comment(conn, cooperation_id, reviewed, body.comment)
        (shown_,) = await check_in_shown(conn, cooperation_id, check_in_id)
    return shown_


# -- approvals, repayments, write-offs (rules 3, 11) ----------------------------------------


@router.post("/approvals", response_model=CooperationSummary)
async def approve(
    cooperation_id: str,
    body: ApprovalAsked,
    request: Request,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> CooperationSummary:
    """The facilitator (a grant it is not paid by) or the line's funder approves a tranche."""
    seen = await _seen(pool, caller, cooperation_id)
    if not seen.sees_line(body.line):
        raise no("funding line", body.line, cooperation_id)
    allow(seen, ("facilitator", "funder"), "approve a tranche")
    by = {"role": caller.role, "id": caller.subject}
    command = door(c.ApproveTranche, body.model_dump() | {"by": by})
    return shown((await apply(request, client, caller, cooperation_id, command)).state, seen)


@router.post("/repayments", status_code=201)
async def repay(
    cooperation_id: str,
    body: Repayment,
    request: Request,
    response: Response,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> dict[str, Any]:
    """A repayment of a loan, recorded by its funder alone (rule 11)."""
    seen = await _funders_line(pool, caller, cooperation_id, body.line, "record a repayment")
    command = door(
        c.RecordRepayment,
        {"line": body.line, "tranche": body.tranche, "amount": body.amount, "on": body.date},
    )
    answer = await apply(request, client, caller, cooperation_id, command)
    event = _recorded(answer, "RepaymentRecorded")
    response.headers["Location"] = f"/v1/cooperations/{seen.id}/events/{event.seq}"
    return {"seq": event.seq, **event.data}


@router.post("/write-offs", status_code=201, response_model=WrittenOff)
async def write_off(
    cooperation_id: str,
    body: WriteOffAsked,
    request: Request,
    response: Response,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> WrittenOff:
    """The loan's funder writes off what the schedule still expects: the loan is settled."""
    seen = await _funders_line(pool, caller, cooperation_id, body.line, "write off a loan")
    by = {"role": caller.role, "id": caller.subject}
    command = door(c.WriteOff, body.model_dump() | {"by": by})
    answer = await apply(request, client, caller, cooperation_id, command)
    event = _recorded(answer, "LoanWrittenOff")
    response.headers["Location"] = f"/v1/cooperations/{seen.id}/events/{event.seq}"
    return WrittenOff(
        seq=event.seq, **{k: event.data[k] for k in WrittenOff.model_fields if k != "seq"}
    )


def _recorded(answer: CommandAnswer, kind: str) -> Event:
    """The command's event of `kind`. A repeated request gets its first events again (from
    the log if need be: api/commands.py); one that recorded none is a request the rules took
    already (a repayment's request id, rules 3), whose first answer is not known here."""
    found = next((e for e in answer.events if e.type == kind), None)
    if found is None:
        raise Problem(409, f"this request was already taken: it recorded no {kind} now")
    return found


async def _funders_line(
    pool: PoolDep, caller: Caller, cooperation_id: str, line: str, what: str
) -> Seen:
    seen = await _seen(pool, caller, cooperation_id)
    if not seen.sees_line(line):
        raise no("funding line", line, cooperation_id)
    allow(seen, ("funder",), f"{what} (the line's funder does)")
    return seen


__all__ = ["EVERYONE", "router"]
