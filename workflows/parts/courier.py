"""The courier: each decision's consequences (events to PostgreSQL, ledger, notifications,
loans) carried out in order, batched (one activity for all that waits), retried, and the
cooperation flagged while they keep failing. Commands are answered meanwhile.

Not a local activity, though one would spare the server an activity's round trip (measured:
a check-in's server CPU halved): a local activity runs inside the workflow task that took
the decision, before that task is recorded. When the task's completion is refused (an update
arriving as the run ends: UNHANDLED_COMMAND) or its worker dies, the effects are already in
PostgreSQL, and the retried task decides again at another instant: the same seq with other
content (EventConflict, seen in tests/workflows/test_answers.py's race at the end). An
activity starts only once its decision is in history."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import NondeterminismError, ParentClosePolicy

from activities.models import ApplyEffects, EffectsResult
from domain.effects import StartLoan
from domain.state import CooperationState
from domain.views import CooperationSummary
from workflows.models import CooperationInput, LoanInput, LoanRepayment, LoanWriteOff
from workflows.parts.faults import Faults
from workflows.shell import (
    EFFECTS_BACKOFF,
    EFFECTS_BACKOFF_MAX,
    EFFECTS_TIMEOUT,
    LOAN_WORKFLOW,
    REPAYMENT_SIGNAL,
    SETTLE_SIGNAL,
    WRITTEN_OFF_SIGNAL,
    Shape,
    loan_workflow_id,
)


@dataclass
class Delivery:
    """One decision's consequences waiting for the courier."""

    request: ApplyEffects
    result: EffectsResult | None = None
    followed: bool = False
    """Shape 3: its loans told (a courier retrying after a failure skips them)."""

    @property
    def done(self) -> bool:
        return self.result is not None


def merge(cooperation_id: str, requests: list[ApplyEffects]) -> ApplyEffects:
    """Several decisions' consequences as one, in order: one activity for all that waits."""
    if len(requests) == 1:
        return requests[0]
    return ApplyEffects(
        cooperation_id=cooperation_id,
        events=[e for r in requests for e in r.events],
        summary=next((r.summary for r in reversed(requests) if r.summary is not None), None),
        state=next((r.state for r in reversed(requests) if r.state is not None), None),
        effects=[e for r in requests for e in r.effects],
        rules_version=next(
            (r.rules_version for r in reversed(requests) if r.rules_version is not None), None
        ),
        answered=[a for r in requests for a in r.answered],
    )


class Courier:
    def __init__(
        self,
        cooperation_id: str,
        start: CooperationInput,
        shape: Shape,
        faults: Faults,
        currency_of: Callable[[str], str],
    ) -> None:
        self._id = cooperation_id
        self.outbox: list[Delivery] = [Delivery(p) for p in start.pending]
        self.sent: CooperationSummary | None = None
        """The summary last handed over: a delivery carries one only when it changed."""
        self.failures = start.courier_failures
        """Shape 3: the courier's own failures in a row, carried across continue-as-new so
        that the next run backs off as long."""
        self._retry = RetryPolicy(
            initial_interval=EFFECTS_BACKOFF,
            maximum_interval=EFFECTS_BACKOFF_MAX,
            maximum_attempts=start.effects_attempts,
        )
        self._fault_retry = timedelta(seconds=start.fault_retry_seconds)
        self._offset_seconds = timedelta(seconds=start.clock_offset_seconds).total_seconds()
        self._shape = shape
        self._faults = faults
        self._currency_of = currency_of
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._carry())

    async def close(self) -> None:
        """Once the outbox is empty, the courier ends."""
        self._closing = True
        if self._task is not None:
            await self._task

    def pending(self) -> list[ApplyEffects]:
        """What a run continuing as new carries, to be carried out first by the next."""
        pending = [d.request for d in self.outbox]
        if self._shape.three() and len(pending) > 1:
            # One batch however long the effects failed: the carried input holds one
            # summary, not one per decision, and stays far below Temporal's payload limit.
            return [merge(self._id, pending)]
        return pending

    async def _carry(self) -> None:
        if self._shape.three():
            await self._carry_3()
            return
        while True:
            await workflow.wait_condition(lambda: bool(self.outbox) or self._closing)
            if not self.outbox:
                return
            batch = list(self.outbox)
            result = await self.carry_out(merge(self._id, [d.request for d in batch]))
            for delivery in batch:
                delivery.result = result
            for delivery in batch:
                await self.follow_loans(delivery.request)
            # Out of the outbox only once wholly done: a run that continues meanwhile carries
            # it, and the next run repeats what is idempotent (activity, signals by seq).
            del self.outbox[: len(batch)]
            # The last batch (a whole state with it) is not held while the cooperation idles.
            del batch

    async def _carry_3(self) -> None:
        """The courier of shape 3: any failure of its own (a bug in following loans, a
        signal a loan workflow refuses, an unexpected error around the activity) flags the
        cooperation and is retried with backoff. The batch stays first in the outbox, so
        nothing is lost or overtaken; what was done of it is not done again in this run
        (the activity for deliveries with a result, the loans of those followed), and what
        is repeated across continue-as-new is idempotent (activity, signals by seq)."""
        while True:
            await workflow.wait_condition(lambda: bool(self.outbox) or self._closing)
            if not self.outbox:
                return
            if self.failures:
                backoff = EFFECTS_BACKOFF * 2 ** min(self.failures - 1, 20)
                await workflow.sleep(min(backoff, max(self._fault_retry, EFFECTS_BACKOFF)))
            batch = list(self.outbox)
            try:
                await self._deliver(batch)
            except NondeterminismError:
                raise
            except Exception as error:
                self.failures += 1
                self._faults.caught = True
                self._faults.flag("courier", type(error).__name__)
                workflow.logger.error(
                    "the courier failed: flagged, the batch retried in a new run",
                    extra={"cooperation": self._id, "attempt": self.failures},
                    exc_info=True,
                )
                continue
            if self.failures:
                workflow.logger.warning("the courier goes on", extra={"cooperation": self._id})
            self.failures = 0
            self._faults.unflag("courier")
            del self.outbox[: len(batch)]
            # The last batch (a whole state with it) is not held while the cooperation idles.
            del batch

    async def _deliver(self, batch: list[Delivery]) -> None:
        undone = [d for d in batch if not d.done]
        if undone:
            result = await self.carry_out(merge(self._id, [d.request for d in undone]))
            for delivery in undone:
                delivery.result = result
        for delivery in batch:
            if not delivery.followed:
                await self.follow_loans(delivery.request)
                delivery.followed = True

    async def carry_out(self, request: ApplyEffects) -> EffectsResult:
        """One activity, retried; past its retries flagged and tried again until it passes."""
        while True:
            try:
                result: EffectsResult = await workflow.execute_activity(
                    "apply_effects",
                    request,
                    result_type=EffectsResult,
                    start_to_close_timeout=EFFECTS_TIMEOUT,
                    retry_policy=self._retry,
                )
            except ActivityError as error:
                self._faults.effects_failed(error, self._shape.three())
                await workflow.sleep(self._fault_retry)
                continue
            self._faults.effects_passed(self._shape.three())
            return result

    async def follow_loans(self, request: ApplyEffects) -> None:
        """Each disbursed loan runs as its own workflow, told of repayments and settlement."""
        for effect in request.effects:
            if isinstance(effect, StartLoan):
                await self.start_loan(effect)
        for event in request.events:
            if event.type not in ("RepaymentRecorded", "LoanWrittenOff"):
                continue
            loan = workflow.get_external_workflow_handle(
                loan_workflow_id(self._id, event.data["line"], event.data["tranche"])
            )
            if event.type == "RepaymentRecorded":
                await loan.signal(
                    REPAYMENT_SIGNAL,
                    LoanRepayment(
                        seq=event.seq,
                        at=event.at,
                        amount=event.data["amount"],
                        installments=event.data["installments"],
                    ),
                )
                if event.data.get("settled"):
                    await loan.signal(SETTLE_SIGNAL)
            else:
                await loan.signal(
                    WRITTEN_OFF_SIGNAL,
                    LoanWriteOff(
                        at=event.at, amount=event.data["amount"], reason=event.data["reason"]
                    ),
                )

    async def start_loan(self, effect: StartLoan) -> None:
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                LOAN_WORKFLOW,
                LoanInput(
                    cooperation_id=self._id,
                    line=effect.line,
                    tranche=effect.tranche,
                    principal=effect.principal,
                    currency=self._currency_of(effect.line),
                    terms=effect.terms,
                    disbursed=effect.disbursed,
                    clock_offset_seconds=self._offset_seconds,
                ),
                id=loan_workflow_id(self._id, effect.line, effect.tranche),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )

    async def settle_loans(self, state: CooperationState) -> None:
        """Tell every loan its cooperation is over."""
        for line in state.lines:
            for loan in line.loans:
                await workflow.get_external_workflow_handle(
                    loan_workflow_id(self._id, line.id, loan.tranche)
                ).signal(SETTLE_SIGNAL)
