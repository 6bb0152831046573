"""What each role does to a cooperation (DESIGN.md, "HTTP API" and rule 15): the facilitator
proposes lines, moves the cooperation, reviews and answers requests; the funder decides on its
lines, approves, records repayments and write-offs; the collective checks in and asks for
transitions. Members are in api/routes/members.py. Who may send which command, and the event
that answers it, is api/orders.py's table."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict

from api.access import EVERYONE, shown
from api.auth import Caller
from api.commands import ActingDep, request_id
from api.models import (
    ApprovalAsked,
    CheckInCreated,
    CheckInSubmission,
    Declining,
    ForeseenRelease,
    LineProposal,
    Repayment,
    Review,
    TransitionAsked,
    TransitionPreview,
    WriteOffAsked,
    WrittenOff,
)
from api.models import LineDecision as LineDecisionFields
from api.models import Transition as TransitionFields
from api.orders import (
    ACCEPT_LINE,
    APPROVE,
    DECLINE_LINE,
    DECLINE_REQUEST,
    MOVES,
    PROPOSE_LINE,
    REPAY,
    REQUEST_TRANSITION,
    REVIEW_CHECK_IN,
    SUBMIT_CHECK_IN,
    WRITE_OFF,
    Move,
)
from api.problems import Problem, field_error
from api.reading import current_summary, foresee, no, state_for
from domain.effects import Release
from domain.events import Event
from domain.money import DecimalText
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
from store.programmes import get_programme
from store.requests import record_requests, requested_view, requests_of

router = APIRouter(prefix="/v1/cooperations/{cooperation_id}", tags=["cooperations"])


# -- funding lines (rules 9, 15) ------------------------------------------------------------


@router.post("/funding-lines", status_code=201, response_model=LineView)
async def propose_line(body: LineProposal, acting: ActingDep) -> LineView:
    """The facilitator proposes a funding line; its programme's funder accepts or declines."""
    await PROPOSE_LINE.may(acting)
    async with acting.pool.acquire() as conn:
        version = await get_programme(conn, body.programme)
    if version is None:
        raise Problem(
            422,
            f"programme: no programme {body.programme!r}",
            errors=[field_error("programme", f"no programme {body.programme!r}", "value_error")],
        )
    command = PROPOSE_LINE.door(
        {"line": body.model_dump(exclude_none=True), "programme": version.model_dump()}
    )
    sent = await PROPOSE_LINE.send(acting, command)
    acting.locate(f"funding-lines/{body.programme}")
    return line_of(sent.answer.state, body.programme, acting.cooperation_id)


@router.get("/funding-lines", response_model=list[LineView])
async def list_lines(acting: ActingDep) -> list[LineView]:
    return (await current_summary(acting.client, acting.pool, await acting.seen())).lines


@router.get("/funding-lines/{programme}", response_model=LineView)
async def read_line(programme: str, acting: ActingDep) -> LineView:
    found = await current_summary(acting.client, acting.pool, await acting.seen())
    return line_of(found, programme, acting.cooperation_id)


def _declined_without_amount(schema: dict[str, Any]) -> None:
    """A declined line is granted nothing: an amount goes with an acceptance."""
    examples = LineDecisionFields.model_config.get("json_schema_extra")
    if isinstance(examples, dict):
        schema.update(examples)
    schema["anyOf"] = [
        {"properties": {"accept": {"const": True}}},
        {"properties": {"amount": {"type": "null"}}},
    ]


class LineDecision(LineDecisionFields):
    model_config = ConfigDict(json_schema_extra=_declined_without_amount)

    def granted_nothing_if_declined(self) -> None:
        """422 naming `amount` when a declined line is given one."""
        if not self.accept and self.amount is not None:
            raise Problem(
                422,
                "amount: a declined line is granted nothing",
                errors=[field_error("amount", "a declined line is granted nothing", "value_error")],
            )


@router.post("/funding-lines/{programme}/decision", response_model=LineView)
async def decide_line(programme: str, body: LineDecision, acting: ActingDep) -> LineView:
    """The programme's funder accepts (commits the line's whole potential, rule 9: 409 with
    what remains and what is needed when the budget cannot cover it) or declines. A line of
    a granted programme is accepted with the `amount` granted (rule 17: 422 naming `amount`
    when it is missing or outside the programme's bounds)."""
    await ACCEPT_LINE.may(acting, programme)
    body.granted_nothing_if_declined()
    if body.accept:
        accepted = ACCEPT_LINE.door({"line": programme, "amount": body.amount})
        sent = await ACCEPT_LINE.send(acting, accepted)
    else:
        declined = DECLINE_LINE.door({"line": programme, "note": body.note})
        sent = await DECLINE_LINE.send(acting, declined)
    return line_of(sent.answer.state, programme, acting.cooperation_id)


def line_of(summary: CooperationSummary, programme: str, cooperation_id: str) -> LineView:
    line = next((x for x in summary.lines if x.line == programme), None)
    if line is None:
        raise no("funding line", programme, cooperation_id)
    return line


# -- moves (rules 2, 5, 6, 7) and requests (rule 15) ----------------------------------------


def _each_action(schema: dict[str, Any]) -> None:
    """The fields each action takes, and those it needs, as `move_of` holds them to: one shape
    per action (any other field absent or null)."""
    examples = TransitionFields.model_config.get("json_schema_extra")
    if isinstance(examples, dict):
        schema.update(examples)
    optional = [name for name in TransitionFields.model_fields if name != "action"]
    shapes = []
    for action, order in MOVES.items():
        fields = order.command.model_fields
        needs = [name for name in optional if name in fields and fields[name].is_required()]
        properties: dict[str, Any] = {"action": {"const": action}}
        properties |= {name: {"type": "null"} for name in optional if name not in fields}
        properties |= {name: {"not": {"type": "null"}} for name in needs}
        shapes.append({"properties": properties, "required": ["action", *needs]})
    schema["oneOf"] = shapes


class Transition(TransitionFields):
    """A move decided by the facilitator (rules 2, 5, 6, 7): each action takes its own fields;
    one it does not take is refused (422) rather than dropped."""

    model_config = ConfigDict(json_schema_extra=_each_action)


@router.post("/transitions", response_model=CooperationSummary)
async def transition(body: Transition, acting: ActingDep) -> CooperationSummary:
    """Advance, restart, pivot, pause, resume or close; a transition answers the collective's
    open requests for it."""
    order = MOVES[body.action]
    await order.may(acting)
    sent = await order.send(acting, move_of(body))
    async with acting.pool.acquire() as conn:
        # The requests it answered read as answered at once, before the projection.
        await record_requests(conn, acting.cooperation_id, sent.answer.events)
    return sent.answer.state


@router.post("/transitions/preview", response_model=TransitionPreview)
async def preview_transition(body: Transition, acting: ActingDep) -> TransitionPreview:
    """What `POST …/transitions` with this body would do if sent now, changing nothing: the
    phase and pause after it, the events it would record, the releases it would make and the
    next check-in. The rules decide on a copy of the workflow's state, so a move they would
    refuse gets the very problem (status, detail, fields) the move itself would get."""
    await MOVES[body.action].may(acting)
    command = move_of(body)
    state = await state_for(acting.client, acting.cooperation_id, command)
    foreseen = foresee(state, command)
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


def move_of(body: Transition) -> Move:
    """The move a transition body names: a field its action does not take is refused (422)
    rather than dropped, so nobody believes a reason or an outcome was recorded."""
    order = MOVES[body.action]
    fields = [name for name in order.command.model_fields if name not in ("kind", "request_id")]
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
    return order.door({k: given.get(k) for k in fields})


@router.post("/transition-requests", status_code=201, response_model=RequestView)
async def ask_transition(body: TransitionAsked, acting: ActingDep) -> RequestView:
    sent = await REQUEST_TRANSITION(acting, body.model_dump(mode="json"))
    async with acting.pool.acquire() as conn:
        if sent.answering:
            # Readable at once (its Location), reason included, before the projection.
            await record_requests(conn, acting.cooperation_id, sent.answer.events)
            made = requested_view(sent.event)
        else:
            # A repeated request whose event the run no longer holds: the log has it.
            made = await _request(conn, acting.cooperation_id, sent.answer.first_seq)
    acting.locate(f"transition-requests/{made.seq}")
    return made


@router.get("/transition-requests", response_model=list[RequestView])
async def list_requests(acting: ActingDep) -> list[RequestView]:
    """Every request of the cooperation, oldest first, with its reason (PostgreSQL: the
    workflow keeps no free text)."""
    return await acting.read_shared("transition requests", requests_of)


@router.get("/transition-requests/{seq}", response_model=RequestView)
async def read_request(
    # Bounded as an event's seq: a number past bigint reached PostgreSQL and answered 500.
    seq: Annotated[int, Path(ge=1, le=2**53)],
    acting: ActingDep,
) -> RequestView:
    return await acting.read_shared(
        "transition requests", lambda conn, cooperation_id: _request(conn, cooperation_id, seq)
    )


@router.post("/transition-requests/{seq}/decline", response_model=RequestView)
async def decline_request(
    seq: Annotated[int, Path(json_schema_extra={"minimum": 1})], body: Declining, acting: ActingDep
) -> RequestView:
    sent = await DECLINE_REQUEST(acting, {"request": seq, "reason": body.reason})
    async with acting.pool.acquire() as conn:
        await record_requests(conn, acting.cooperation_id, sent.answer.events)
        return await _request(conn, acting.cooperation_id, seq)


async def _request(conn: Conn, cooperation_id: str, seq: int) -> RequestView:
    found = await requests_of(conn, cooperation_id, seq)
    if not found:
        raise no("transition request", seq, cooperation_id)
    return found[0]


# -- check-ins and reviews (rule 8) ---------------------------------------------------------


@router.post("/check-ins", status_code=201, response_model=CheckInCreated)
async def check_in(body: CheckInSubmission, acting: ActingDep) -> CheckInCreated:
    await SUBMIT_CHECK_IN.may(acting)
    cooperation_id = acting.cooperation_id
    check_in_id = _check_in_id(acting.request, acting.caller)
    command = SUBMIT_CHECK_IN.door(
        {"check_in_id": check_in_id, "period": body.period, "indicators": body.indicators}
    )
    # The texts are kept first, so a lost answer loses nothing; a refusal takes them back.
    # A 503 is no refusal: the command may still apply (its check-in then shows the text),
    # and a retry with the key names the same check-in.
    async with acting.pool.acquire() as conn:
        await keep_submission(
            conn, cooperation_id, check_in_id, body.narrative, body.needs, body.indicators
        )
    try:
        answer = await SUBMIT_CHECK_IN.apply(acting, command)
    except Problem as problem:
        if problem.status < 500:
            async with acting.pool.acquire() as conn:
                await forget_pending(conn, cooperation_id, check_in_id)
        raise
    sent = SUBMIT_CHECK_IN.answered(answer)
    async with acting.pool.acquire() as conn:
        # Readable at once (its Location), before the projection catches up.
        await record_submitted(conn, cooperation_id, sent.event)
    acting.locate(f"check-ins/{check_in_id}")
    return CheckInCreated(id=check_in_id, period=sent.event.data["period"])


def _check_in_id(request: Request, caller: Caller) -> str:
    if request.headers.get("idempotency-key"):
        # The same key (the caller's, while it is kept) names the same check-in, so a retry
        # is the same submission.
        named = request_id(request, caller)
        return "ci-" + hashlib.sha256(named.encode()).hexdigest()[:20]
    return "ci-" + uuid.uuid4().hex[:20]


@router.get("/check-ins", response_model=list[CheckInShown])
async def list_check_ins(acting: ActingDep) -> list[CheckInShown]:
    return await acting.read_shared("check-ins", check_in_shown)


@router.get("/check-ins/{check_in_id}", response_model=CheckInShown)
async def read_check_in(check_in_id: str, acting: ActingDep) -> CheckInShown:
    found = await acting.read_shared(
        "check-ins", lambda conn, cooperation_id: check_in_shown(conn, cooperation_id, check_in_id)
    )
    if not found:
        raise no("check-in", check_in_id, acting.cooperation_id)
    return found[0]


@router.post("/check-ins/{check_in_id}/review", response_model=CheckInShown)
async def review(check_in_id: str, body: Review, acting: ActingDep) -> CheckInShown:
    data = {"check_in_id": check_in_id, "decision": body.decision}
    sent = await REVIEW_CHECK_IN(acting, data)
    async with acting.pool.acquire() as conn:
        await keep_comment(conn, acting.cooperation_id, sent.event, body.comment)
        (shown_,) = await check_in_shown(conn, acting.cooperation_id, check_in_id)
    return shown_


# -- approvals, repayments, write-offs (rules 3, 11) ----------------------------------------


@router.post("/approvals", response_model=CooperationSummary)
async def approve(body: ApprovalAsked, acting: ActingDep) -> CooperationSummary:
    """The facilitator (a grant it is not paid by) or the line's funder approves a tranche."""
    seen = await APPROVE.may(acting, body.line)
    sent = await APPROVE.send(acting, APPROVE.door(body.model_dump() | {"by": acting.by}))
    return shown(sent.answer.state, seen)


class RepaymentRecorded(BaseModel):
    """The `RepaymentRecorded` event's data, with its seq: what each installment took."""

    seq: int
    """The event's, also in its Location."""
    line: str
    tranche: str
    """The loan's tranche."""
    amount: DecimalText
    """The whole repayment, in the line's currency."""
    currency: str
    on: dt.date | None = None
    """The day the money was paid, when recorded later."""
    installments: list[RepaidInstallment]
    outstanding: DecimalText
    """What the schedule still expects after it."""
    settled: bool | None = None
    """Whether the loan is settled (rules 2 on)."""

    @classmethod
    def of(cls, event: Event) -> RepaymentRecorded:
        return cls.model_validate({"seq": event.seq, **event.data})


class RepaidInstallment(BaseModel):
    """What a repayment paid of one installment of the loan's schedule."""

    installment: int
    """Its number in the schedule, from 1."""
    amount: DecimalText
    """What of the repayment went to it."""
    interest: DecimalText | None = None
    """Of that amount, the interest (rules 2 on)."""
    principal: DecimalText | None = None
    """Of that amount, what repaid the principal (rules 2 on)."""


# What the event holds, no more: a field it left out (rules 1) stays out of the answer.
@router.post(
    "/repayments",
    status_code=201,
    response_model=RepaymentRecorded,
    response_model_exclude_unset=True,
)
async def repay(body: Repayment, acting: ActingDep) -> RepaymentRecorded:
    """A repayment of a loan, recorded by its funder alone (rule 11)."""
    data = {"line": body.line, "tranche": body.tranche, "amount": body.amount, "on": body.date}
    event = (await REPAY(acting, data, body.line)).event
    acting.locate(f"events/{event.seq}")
    return RepaymentRecorded.of(event)


@router.post("/write-offs", status_code=201, response_model=WrittenOff)
async def write_off(body: WriteOffAsked, acting: ActingDep) -> WrittenOff:
    """The loan's funder writes off what the schedule still expects: the loan is settled."""
    event = (await WRITE_OFF(acting, body.model_dump() | {"by": acting.by}, body.line)).event
    acting.locate(f"events/{event.seq}")
    return WrittenOff(
        seq=event.seq, **{k: event.data[k] for k in WrittenOff.model_fields if k != "seq"}
    )


__all__ = ["EVERYONE", "router"]
