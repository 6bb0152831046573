"""The cooperation workflow: one per cooperation (`cooperation:<id>`), for years.

A thin shell over `domain/`: it waits for the clock's next instant (`next_wakeup`) or for a
command, lets the reducer decide, records the decision's events and carries out its effects
in one activity, then waits again. It continues as new before its history grows large,
carrying the whole state.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import ApplyEffects, CommitResult, EffectsResult
    from domain import commands as c
    from domain.effects import StartLoan
    from domain.errors import DomainError, Forbidden, InvalidInput
    from domain.events import Event
    from domain.lifecycle import (
        Decision,
        decide,
        is_finished,
        next_wakeup,
        registration_commitments,
        tick,
    )
    from domain.state import CooperationState, next_check_in
    from domain.views import is_overdue, summary
    from runtime.temporal import FACILITATOR, OVERDUE, PHASE, PROGRAMMES
    from workflows.loan import LoanWorkflow, loan_workflow_id
    from workflows.models import (
        CommandAnswer,
        CommandRequest,
        CooperationInput,
        LoanInput,
        LoanRepayment,
        TimelineAnswer,
        TimelinePage,
    )

# Updates per run (the server caps a run at 2,000).
UPDATE_BUDGET = 500
# A quiet cooperation (say, closed and waiting for its loan) still starts a fresh run every
# few years: servers may bound a run's duration (the time-skipping one to ten years).
RUN_AGE_LIMIT = timedelta(days=5 * 365)
# Request ids remembered for idempotency: a window, not forever.
ANSWER_WINDOW = 200
RECENT_EVENTS = 100

EFFECTS_TIMEOUT = timedelta(minutes=2)
# Effects are retried until they succeed, however long: a failed activity must never fail
# a cooperation that lives for years (a bug is fixed by a deploy, then the retry goes on).
EFFECTS_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)
)


def rejection(error: DomainError) -> ApplicationError:
    """A domain rejection as the update's failure: the API maps the type to 409/403/422."""
    kind = (
        "Forbidden"
        if isinstance(error, Forbidden)
        else "InvalidInput"
        if isinstance(error, InvalidInput)
        else "Conflict"
    )
    return ApplicationError(error.message, error.field, type=kind, non_retryable=True)


@workflow.defn(name="CooperationWorkflow")
class CooperationWorkflow:
    @workflow.init
    def __init__(self, start: CooperationInput) -> None:
        # Handlers can run before `run` (right after start or continue-as-new): state first.
        self._id = start.cooperation_id
        self._state: CooperationState | None = start.state
        self._offset = timedelta(seconds=start.clock_offset_seconds)
        self._simulation = start.simulation
        # History events per run before continuing as new: well under the 10,240 warning,
        # leaving room for the updates in flight when the budget is reached.
        self._history_budget = start.history_budget
        self._answers: dict[str, CommandAnswer] = dict(start.answers)
        self._recent: list[Event] = list(start.recent_events)
        self._lock = asyncio.Lock()
        self._updates = 0
        self._woken = False
        self._search: tuple[Any, ...] | None = None
        self._run_started = workflow.now()
        # The clock's next instant, kept with the state it was computed from.
        self._next = next_wakeup(start.state) if start.state is not None else None
        self._summary: dict[str, Any] | None = None
        self._registered = start.state is not None

    # -- the story: register, then wait, react, record, continue --------------------------

    @workflow.run
    async def run(self, start: CooperationInput) -> dict[str, Any]:
        if self._state is None:
            if start.registration is None:
                raise ApplicationError("no registration and no state", non_retryable=True)
            async with self._lock:
                await self._register(start.registration, start.registered_at)
            self._registered = True
        while True:
            state = self._require_state()
            if is_finished(state):
                workflow.logger.info("cooperation finished", extra={"outcome": state.outcome})
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._settle_loans()
                return summary(self._require_state())
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.logger.info(
                    "continuing as new",
                    extra={
                        "history_length": workflow.info().get_current_history_length(),
                        "updates": self._updates,
                        "last_seq": state.next_seq - 1,
                    },
                )
                workflow.continue_as_new(self._carry())
            wake = self._next
            if wake is None or wake > self._now():
                self._woken = False
                timeout = None if wake is None else wake - self._now()
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self._woken or self._should_continue_as_new(),
                        timeout=timeout,
                    )
            async with self._lock:
                now = self._now()
                if self._next is not None and self._next <= now:
                    await self._apply(tick(self._require_state(), now), now)

    async def _register(self, register: c.Register, at: datetime | None) -> None:
        now = at if self._simulation and at is not None else self._now()
        try:
            # Decided first: a registration the rules refuse commits nothing.
            decision = decide(None, register, now)
        except DomainError as error:
            raise rejection(error) from None
        commitments = registration_commitments(register)
        if commitments:
            result = await self._effects(
                ApplyEffects(cooperation_id=self._id, events=[], effects=commitments)
            )
            for refused in (r for r in result.commitments if not r.committed):
                raise ApplicationError(
                    f"funding line {refused.line}: {refused.reason}",
                    type="Conflict",
                    non_retryable=True,
                )
        await self._apply(decision, now)

    # -- commands -------------------------------------------------------------------------

    @workflow.update(name="apply")
    async def apply(self, request: CommandRequest) -> CommandAnswer:
        # A command may arrive while the registration's own effects are still being recorded.
        await workflow.wait_condition(lambda: self._state is not None)
        async with self._lock:
            if request.request_id and request.request_id in self._answers:
                return self._answers[request.request_id]
            now = self._command_instant(request)
            wake = self._next
            try:
                # The clock's occurrences dated before `now` come first in the decision.
                decision = decide(self._require_state(), request.command, now)
            except DomainError as error:
                raise rejection(error) from None
            events, refused = await self._apply(decision, now)
            self._updates += 1
            # Move the timer only when the command moved the clock's next instant.
            self._woken = self._next != wake
            if refused:
                raise ApplicationError(
                    f"the budget cannot cover line {refused.line}: {refused.reason}",
                    {"remaining": str(refused.remaining), "needed": str(refused.needed)},
                    type="Conflict",
                    non_retryable=True,
                )
            answer = CommandAnswer(events=events, state=self._current_summary())
            if request.request_id:
                self._remember(request.request_id, answer)
            return answer

    @apply.validator
    def _validate(self, request: CommandRequest) -> None:
        # Runs before the update is written to history: a rejection here leaves no trace.
        if request.request_id and request.request_id in self._answers:
            return
        if request.at is not None and not self._simulation:
            raise ApplicationError("only a simulation dates its commands", type="InvalidInput")
        if self._state is None:
            return  # registering: the handler waits, then the rules decide
        now = self._command_instant(request)
        try:
            decide(self._state, request.command, now)
        except DomainError as error:
            raise rejection(error) from None

    # -- queries --------------------------------------------------------------------------

    @workflow.query
    def state(self) -> dict[str, Any]:
        return self._current_summary()

    @workflow.query
    def full_state(self) -> CooperationState:
        return self._require_state()

    @workflow.query
    def schedule(self) -> dict[str, Any]:
        state = self._require_state()
        upcoming = next_check_in(state)
        wake = next_wakeup(state)
        return {
            "next_wakeup": wake.isoformat() if wake else None,
            "next_check_in": (
                {"period": upcoming[0], "due": upcoming[1].isoformat()} if upcoming else None
            ),
            "pending_tranches": [
                {"line": line.id, "tranche": t, "occurrence": o, "amount": format(a, "f")}
                for line in state.lines
                for t, o, status, a in line.tranche_statuses()
                if status == "pending"
            ],
        }

    @workflow.query
    def timeline(self, page: TimelinePage) -> TimelineAnswer:
        """A page of the latest events kept in the workflow (the last RECENT_EVENTS); the
        whole log is in PostgreSQL (`GET /v1/cooperations/{id}/events`)."""
        items = [e for e in self._recent if e.seq > page.after][: page.limit]
        return TimelineAnswer(items=items, next_after=items[-1].seq if items else page.after)

    # -- the shell's mechanics ------------------------------------------------------------

    def _now(self) -> datetime:
        return workflow.now() + self._offset

    def _command_instant(self, request: CommandRequest) -> datetime:
        if self._simulation and request.at is not None:
            return max(request.at, self._require_state().last_at)
        return self._now()

    def _current_summary(self) -> dict[str, Any]:
        if not self._registered:
            # Readers see a cooperation once its registration is recorded, not before.
            raise ApplicationError("the cooperation is being registered", type="Conflict")
        state = self._require_state()
        if self._summary is None or self._summary.get("last_seq") != state.next_seq - 1:
            self._summary = summary(state)
        return self._summary

    def _require_state(self) -> CooperationState:
        if self._state is None:
            raise ApplicationError("the cooperation is not registered yet", type="Conflict")
        return self._state

    async def _apply(
        self, decision: Decision, now: datetime
    ) -> tuple[list[Event], CommitResult | None]:
        """Adopt a decision, record it and carry out its effects; commitments asked for are
        answered back to the reducer at the same instant. Returns every event recorded and
        the refused commitment, if any."""
        self._state = decision.state
        self._next = next_wakeup(decision.state)
        if not decision.events and not decision.effects:
            return [], None
        self._summary = summary(decision.state)
        result = await self._effects(
            ApplyEffects(
                cooperation_id=self._id,
                events=decision.events,
                summary=self._summary,
                effects=decision.effects,
            )
        )
        self._recent = (self._recent + decision.events)[-RECENT_EVENTS:]
        self._upsert_search_attributes()
        await self._follow_loans(decision)
        events = list(decision.events)
        refused: CommitResult | None = None
        for outcome in result.commitments:
            answer: c.Command = (
                c.CommitmentCommitted(line=outcome.line)
                if outcome.committed
                else c.CommitmentRefused(line=outcome.line, reason=outcome.reason)
            )
            more, _ = await self._apply(decide(self._require_state(), answer, now), now)
            events += more
            if not outcome.committed:
                refused = outcome
        return events, refused

    async def _follow_loans(self, decision: Decision) -> None:
        """Each disbursed loan runs as its own workflow; repayments are told to it."""
        for effect in decision.effects:
            if isinstance(effect, StartLoan):
                await workflow.start_child_workflow(
                    LoanWorkflow.run,
                    LoanInput(
                        cooperation_id=self._id,
                        line=effect.line,
                        tranche=effect.tranche,
                        principal=effect.principal,
                        currency=self._currency_of(effect.line),
                        terms=effect.terms,
                        disbursed=effect.disbursed,
                        clock_offset_seconds=self._offset.total_seconds(),
                    ),
                    id=loan_workflow_id(self._id, effect.line, effect.tranche),
                    parent_close_policy=ParentClosePolicy.ABANDON,
                )
        for event in decision.events:
            if event.type == "RepaymentRecorded":
                loan = workflow.get_external_workflow_handle(
                    loan_workflow_id(self._id, event.data["line"], event.data["tranche"])
                )
                await loan.signal(
                    LoanWorkflow.repayment,
                    LoanRepayment(
                        at=event.at,
                        amount=event.data["amount"],
                        installments=event.data["installments"],
                    ),
                )

    async def _settle_loans(self) -> None:
        loans = [
            (line.id, loan.tranche) for line in self._require_state().lines for loan in line.loans
        ]
        for line_id, tranche in loans:
            handle = workflow.get_external_workflow_handle(
                loan_workflow_id(self._id, line_id, tranche)
            )
            await handle.signal(LoanWorkflow.settle)
        if loans:
            # Let the loans close before their cooperation does.
            await workflow.sleep(timedelta(seconds=5))

    def _currency_of(self, line_id: str) -> str:
        line = self._require_state().line(line_id)
        assert line is not None, line_id
        return line.currency

    async def _effects(self, request: ApplyEffects) -> EffectsResult:
        result: EffectsResult = await workflow.execute_activity(
            "apply_effects",
            request,
            result_type=EffectsResult,
            start_to_close_timeout=EFFECTS_TIMEOUT,
            retry_policy=EFFECTS_RETRY,
        )
        return result

    def _upsert_search_attributes(self) -> None:
        state = self._require_state()
        phase = state.outcome.value if state.outcome else state.phase.value
        programmes = [line.id for line in state.lines if line.status != "declined"]
        current = (phase, tuple(programmes), is_overdue(state), state.facilitator)
        if current == self._search:
            return
        self._search = current
        updates: list[SearchAttributeUpdate[Any]] = [
            PHASE.value_set(phase),
            PROGRAMMES.value_set(programmes),
            OVERDUE.value_set(current[2]),
        ]
        if state.facilitator:
            updates.append(FACILITATOR.value_set(state.facilitator))
        workflow.upsert_search_attributes(updates)

    def _remember(self, request_id: str, answer: CommandAnswer) -> None:
        self._answers[request_id] = answer
        while len(self._answers) > ANSWER_WINDOW:
            self._answers.pop(next(iter(self._answers)))

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._history_budget
            or self._updates >= UPDATE_BUDGET
            or workflow.now() - self._run_started > RUN_AGE_LIMIT
        )

    def _carry(self) -> CooperationInput:
        return CooperationInput(
            cooperation_id=self._id,
            state=self._require_state(),
            clock_offset_seconds=self._offset.total_seconds(),
            answers=self._answers,
            recent_events=self._recent,
            simulation=self._simulation,
            history_budget=self._history_budget,
        )
