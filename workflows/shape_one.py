"""Shape 1 of the cooperation workflow: the code paths of runs started before the patch
`coopflow-shape-2`, kept so that their histories replay (tests/histories/v1). Effects were
carried out inside each command, registration came in the run's input, and the run waited
five seconds before ending after its loans. Only such runs reach it (`Shape.two()` false);
remove it once none is open (docs/versioning.md, "When shape 1 can go").

A part of `CooperationWorkflow` over the same parts as the shapes after it, outside the
sandbox (passed through: stateless code, so it is not re-imported for every workflow).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from activities.models import ApplyEffects, CommitResult, EffectsResult
from domain import commands as c
from domain import lifecycle
from domain.effects import StartLoan
from domain.errors import DomainError
from domain.events import Event
from domain.views import summary
from workflows.models import CommandAnswer, CommandRequest, CooperationInput, LoanRepayment
from workflows.parts.answers import Answers
from workflows.parts.clock import Clock
from workflows.parts.courier import Courier
from workflows.parts.lifetime import Lifetime
from workflows.parts.rules import Rules
from workflows.parts.search import Search
from workflows.shell import (
    ANSWER_WINDOW,
    EFFECTS_RETRY_SHAPE_1,
    EFFECTS_TIMEOUT_SHAPE_1,
    REPAYMENT_SIGNAL,
    budget_refusal,
    loan_workflow_id,
    rejection,
)


@dataclass
class ShapeOne:
    id: str
    lock: asyncio.Lock
    clock: Clock
    rules: Rules
    answers: Answers
    courier: Courier
    search: Search
    lifetime: Lifetime

    async def run(self, start: CooperationInput) -> dict[str, Any]:
        rules, clock = self.rules, self.clock
        if rules.state is None:
            if start.registration is None:
                raise ApplicationError("no registration and no state", non_retryable=True)
            async with self.lock:
                await self._register(start.registration, start.registered_at)
            rules.registered = True
        while True:
            state = rules.require()
            if lifecycle.is_finished(state):
                workflow.logger.info("cooperation finished", extra={"outcome": state.outcome})
                await workflow.wait_condition(workflow.all_handlers_finished)
                state = rules.require()
                await self.courier.settle_loans(state)
                if any(line.loans for line in state.lines):
                    await workflow.sleep(timedelta(seconds=5))
                return summary(rules.require()).model_dump(mode="json")
            if self.lifetime.over():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.logger.info(
                    "continuing as new",
                    extra={
                        "history_length": workflow.info().get_current_history_length(),
                        "updates": self.lifetime.updates,
                        "last_seq": state.next_seq - 1,
                    },
                )
                workflow.continue_as_new(
                    CooperationInput(
                        cooperation_id=self.id,
                        state=rules.require(),
                        clock_offset_seconds=clock.offset.total_seconds(),
                        answers=self.answers.whole,
                        recent_events=self.answers.recent,
                        simulation=clock.simulation,
                        history_budget=self.lifetime.history_budget,
                    )
                )
            await clock.wait(self.lifetime.over)
            async with self.lock:
                now = clock.now()
                if clock.due(now):
                    await self._apply_decision(lifecycle.tick(rules.require(), now), now)

    async def _register(self, register: c.Register, at: datetime | None) -> None:
        now = at if self.clock.simulation and at is not None else self.clock.now()
        try:
            decision = lifecycle.decide(None, register, now)
        except DomainError as error:
            raise rejection(error) from None
        commitments = lifecycle.registration_commitments(register)
        if commitments:
            result = await self._effects(
                ApplyEffects(cooperation_id=self.id, events=[], effects=list(commitments))
            )
            for refused in (r for r in result.commitments if not r.committed):
                raise ApplicationError(
                    f"funding line {refused.line}: {refused.reason}",
                    type="Conflict",
                    non_retryable=True,
                )
        await self._apply_decision(decision, now)

    async def apply(self, request: CommandRequest) -> CommandAnswer:
        rules, clock, answers = self.rules, self.clock, self.answers
        await workflow.wait_condition(lambda: rules.state is not None)
        async with self.lock:
            if request.request_id and request.request_id in answers.whole:
                return answers.whole[request.request_id]
            now = clock.instant(request, rules.require())
            wake = clock.next
            decision = rules.decide(request.command, now)
            events, refused = await self._apply_decision(decision, now)
            self.lifetime.updates += 1
            clock.woken = clock.next != wake
            if refused:
                raise budget_refusal(refused)
            answer = CommandAnswer(events=events, state=rules.view())
            if request.request_id:
                answers.whole[request.request_id] = answer
                answers.remember(request.request_id, events)
                while len(answers.whole) > ANSWER_WINDOW:
                    answers.whole.pop(next(iter(answers.whole)))
            return answer

    async def _apply_decision(
        self, decision: lifecycle.Decision, now: datetime
    ) -> tuple[list[Event], CommitResult | None]:
        rules = self.rules
        rules.take(decision.state)
        self.clock.next = lifecycle.next_wakeup(decision.state)
        if not decision.events and not decision.effects:
            return [], None
        result = await self._effects(
            ApplyEffects(
                cooperation_id=self.id,
                events=decision.events,
                summary=summary(decision.state),
                effects=decision.effects,
            )
        )
        self.answers.record(decision.events)
        self.search.show(rules.require())
        for effect in decision.effects:
            if isinstance(effect, StartLoan):
                await self.courier.start_loan(effect)
        for event in decision.events:
            if event.type == "RepaymentRecorded":
                loan = workflow.get_external_workflow_handle(
                    loan_workflow_id(self.id, event.data["line"], event.data["tranche"])
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
            more, _ = await self._apply_decision(
                lifecycle.decide(rules.require(), answer, now), now
            )
            events += more
            if not outcome.committed:
                refused = outcome
        return events, refused

    async def _effects(self, request: ApplyEffects) -> EffectsResult:
        result: EffectsResult = await workflow.execute_activity(
            "apply_effects",
            request,
            result_type=EffectsResult,
            start_to_close_timeout=EFFECTS_TIMEOUT_SHAPE_1,
            retry_policy=EFFECTS_RETRY_SHAPE_1,
        )
        return result
