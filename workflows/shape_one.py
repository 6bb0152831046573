"""Shape 1 of the cooperation workflow: the code paths of runs started before the patch
`coopflow-shape-2`, kept so that their histories replay (tests/histories/v1). Effects were
carried out inside each command, registration came in the run's input, and the run waited
five seconds before ending after its loans. Remove once no such run is open
(docs/versioning.md).

A mixin of `CooperationWorkflow`, outside the sandbox (passed through: stateless code, so
it is not re-imported for every workflow).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from activities.models import ApplyEffects, CommitResult, EffectsResult
from domain import commands as c
from domain.effects import StartLoan
from domain.errors import DomainError
from domain.events import Event
from domain.lifecycle import (
    Decision,
    decide,
    is_finished,
    next_wakeup,
    registration_commitments,
    tick,
)
from domain.views import summary
from workflows.models import (
    CommandAnswer,
    CommandRequest,
    CooperationInput,
    LoanRepayment,
    Remembered,
)
from workflows.shell import (
    ANSWER_WINDOW,
    EFFECTS_RETRY_SHAPE_1,
    EFFECTS_TIMEOUT_SHAPE_1,
    RECENT_EVENTS,
    REPAYMENT_SIGNAL,
    SETTLE_SIGNAL,
    Shell,
    budget_refusal,
    loan_workflow_id,
    rejection,
)


class ShapeOne(Shell):
    _answers_v1: dict[str, CommandAnswer]

    async def _run_shape_1(self, start: CooperationInput) -> dict[str, Any]:
        if self._state is None:
            if start.registration is None:
                raise ApplicationError("no registration and no state", non_retryable=True)
            async with self._lock:
                await self._register_shape_1(start.registration, start.registered_at)
            self._registered = True
        while True:
            state = self._require_state()
            if is_finished(state):
                workflow.logger.info("cooperation finished", extra={"outcome": state.outcome})
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._settle_loans_shape_1()
                return summary(self._require_state()).model_dump(mode="json")
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
                workflow.continue_as_new(
                    CooperationInput(
                        cooperation_id=self._id,
                        state=self._require_state(),
                        clock_offset_seconds=self._offset.total_seconds(),
                        answers=self._answers_v1,
                        recent_events=self._recent,
                        simulation=self._simulation,
                        history_budget=self._history_budget,
                    )
                )
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
                    await self._apply_decision_shape_1(tick(self._require_state(), now), now)

    async def _register_shape_1(self, register: c.Register, at: datetime | None) -> None:
        now = at if self._simulation and at is not None else self._now()
        try:
            decision = decide(None, register, now)
        except DomainError as error:
            raise rejection(error) from None
        commitments = registration_commitments(register)
        if commitments:
            result = await self._effects_shape_1(
                ApplyEffects(cooperation_id=self._id, events=[], effects=list(commitments))
            )
            for refused in (r for r in result.commitments if not r.committed):
                raise ApplicationError(
                    f"funding line {refused.line}: {refused.reason}",
                    type="Conflict",
                    non_retryable=True,
                )
        await self._apply_decision_shape_1(decision, now)

    async def _apply_shape_1(self, request: CommandRequest) -> CommandAnswer:
        await workflow.wait_condition(lambda: self._state is not None)
        async with self._lock:
            if request.request_id and request.request_id in self._answers_v1:
                return self._answers_v1[request.request_id]
            now = self._command_instant(request)
            wake = self._next
            decision = self._decide(request.command, now)
            events, refused = await self._apply_decision_shape_1(decision, now)
            self._updates += 1
            self._woken = self._next != wake
            if refused:
                raise budget_refusal(refused)
            answer = CommandAnswer(events=events, state=self._current_summary())
            if request.request_id:
                self._answers_v1[request.request_id] = answer
                self._remembered[request.request_id] = Remembered(
                    first_seq=events[0].seq if events else 0,
                    last_seq=events[-1].seq if events else 0,
                )
                while len(self._answers_v1) > ANSWER_WINDOW:
                    self._answers_v1.pop(next(iter(self._answers_v1)))
            return answer

    async def _apply_decision_shape_1(
        self, decision: Decision, now: datetime
    ) -> tuple[list[Event], CommitResult | None]:
        self._state = decision.state
        self._next = next_wakeup(decision.state)
        self._summary = None
        if not decision.events and not decision.effects:
            return [], None
        result = await self._effects_shape_1(
            ApplyEffects(
                cooperation_id=self._id,
                events=decision.events,
                summary=summary(decision.state),
                effects=decision.effects,
            )
        )
        self._recent = (self._recent + decision.events)[-RECENT_EVENTS:]
        self._upsert_search_attributes()
        for effect in decision.effects:
            if isinstance(effect, StartLoan):
                await self._start_loan(effect)
        for event in decision.events:
            if event.type == "RepaymentRecorded":
                loan = workflow.get_external_workflow_handle(
                    loan_workflow_id(self._id, event.data["line"], event.data["tranche"])
                )
                await loan.signal(
                    REPAYMENT_SIGNAL,
                    LoanRepayment(
                        at=event.at,
                        amount=event.data["amount"],
                        installments=event.data["installments"],
                    ),
                )
        events = list(decision.events)
        refused: CommitResult | None = None
        for outcome in result.commitments:
            answer: c.Command = (
                c.CommitmentCommitted(line=outcome.line)
                if outcome.committed
                else c.CommitmentRefused(line=outcome.line, reason=outcome.reason)
            )
            more, _ = await self._apply_decision_shape_1(
                decide(self._require_state(), answer, now), now
            )
            events += more
            if not outcome.committed:
                refused = outcome
        return events, refused

    async def _settle_loans_shape_1(self) -> None:
        loans = [
            (line.id, loan.tranche) for line in self._require_state().lines for loan in line.loans
        ]
        for line_id, tranche in loans:
            handle = workflow.get_external_workflow_handle(
                loan_workflow_id(self._id, line_id, tranche)
            )
            await handle.signal(SETTLE_SIGNAL)
        if loans:
            await workflow.sleep(timedelta(seconds=5))

    async def _effects_shape_1(self, request: ApplyEffects) -> EffectsResult:
        result: EffectsResult = await workflow.execute_activity(
            "apply_effects",
            request,
            result_type=EffectsResult,
            start_to_close_timeout=EFFECTS_TIMEOUT_SHAPE_1,
            retry_policy=EFFECTS_RETRY_SHAPE_1,
        )
        return result
