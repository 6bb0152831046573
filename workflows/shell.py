"""The cooperation workflow's mechanics: deciding, adopting a decision, answering, the
courier that carries effects out, search attributes, continue-as-new. The story itself (wait,
react, record, continue) is in workflows/cooperation.py.

Outside the sandbox (passed through, not re-imported for every workflow: it holds no state
of its own, every call goes through `temporalio.workflow` of the running workflow).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    TemporalError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import NondeterminismError, ParentClosePolicy

from activities.models import Answered, ApplyEffects, CommitResult, EffectsResult
from domain import commands as c
from domain.effects import StartLoan
from domain.errors import DomainError
from domain.events import Event
from domain.lifecycle import Decision, decide, next_wakeup
from domain.rules import RULES_VERSION, upgrade
from domain.state import CooperationState
from domain.views import CooperationSummary, is_overdue, summary
from runtime.temporal import FACILITATOR, FAULT, OVERDUE, PHASE, PROGRAMMES
from workflows.models import (
    CommandAnswer,
    CommandRequest,
    CooperationInput,
    LoanInput,
    LoanRepayment,
    LoanWriteOff,
    Remembered,
)

# Updates per run (the server caps a run at 2,000).
UPDATE_BUDGET = 500
# A quiet cooperation (say, closed and waiting for its loan) still starts a fresh run every
# few years: servers may bound a run's duration (the time-skipping one to ten years).
RUN_AGE_LIMIT = timedelta(days=5 * 365)
# Past this many history events a run continues even with effects still failing, carrying
# them (Temporal refuses a history past 51,200 events).
HISTORY_HARD_LIMIT = 20_000
# Request ids remembered for idempotency across continue-as-new: a window, not forever
# (repayments are idempotent for ever by the loan's own record of them).
ANSWER_WINDOW = 200
RECENT_EVENTS = 100
# A registration update that never comes (a client gone between start and update) ends
# the run rather than leaving it open for ever.
REGISTRATION_WAIT = timedelta(hours=1)
# CoopFault is a keyword: every source in fault, kept short.
FAULT_LENGTH = 500

# One batch is one PostgreSQL transaction of milliseconds; a worker killed in the middle of
# one is noticed after this long, and the batch runs again.
EFFECTS_TIMEOUT = timedelta(seconds=20)
EFFECTS_TIMEOUT_SHAPE_1 = timedelta(minutes=2)
# Effects are retried with backoff (CooperationInput.effects_attempts); past that the
# cooperation is flagged (search attribute CoopFault, an error log, a counter) and the
# courier tries again every `fault_retry_seconds` until they succeed: nothing is lost, and
# commands are still answered meanwhile.
EFFECTS_BACKOFF = timedelta(seconds=1)
EFFECTS_BACKOFF_MAX = timedelta(minutes=1)
# Shape 1 retried effects for ever, inside the command.
EFFECTS_RETRY_SHAPE_1 = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)
)


def loan_workflow_id(cooperation_id: str, line: str, tranche: str) -> str:
    return f"loan:{cooperation_id}:{line}:{tranche}"


SHAPE_2 = "coopflow-shape-2"
"""Registration by update-with-start, commands answered at once, effects carried out by the
courier, a fault flag when they keep failing; no fixed sleep before the end."""

SHAPE_3 = "coopflow-shape-3"
"""The shell as guarded as the validator: a command whose handler meets a bug in the rules is
refused (InternalError) and the cooperation flagged; the courier outlives its own failures
(flagged, backed off, retried); the effects still pending at continue-as-new are carried as
one merged batch."""

# The loan workflow and its signals, by name (its class lives in the sandboxed modules).
LOAN_WORKFLOW = "LoanWorkflow"
REPAYMENT_SIGNAL = "repayment"
SETTLE_SIGNAL = "settle"
WRITTEN_OFF_SIGNAL = "written_off"


def rejection(error: DomainError) -> ApplicationError:
    """A domain rejection as the update's failure: the API maps the type to 409/403/422."""
    return ApplicationError(error.message, error.field, type=error.kind, non_retryable=True)


def budget_refusal(refused: CommitResult) -> ApplicationError:
    """Rule 9's refusal as the update's failure: 409 with what remains and what is needed."""
    return ApplicationError(
        f"the budget cannot cover line {refused.line}: {refused.reason}",
        {"remaining": str(refused.remaining), "needed": str(refused.needed)},
        type="Conflict",
        non_retryable=True,
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


def carried(request: CommandRequest) -> c.Command:
    """The command with its request's id: the rules key by it what must happen once."""
    if request.request_id and request.command.request_id is None:
        return request.command.model_copy(update={"request_id": request.request_id})
    return request.command


class Shell:
    """The mechanics the workflow class inherits; its state is set in its `__init__`."""

    _id: str
    _state: CooperationState | None
    _offset: timedelta
    _simulation: bool
    _history_budget: int
    _effects_retry: RetryPolicy
    _fault_retry: timedelta
    _carried: CooperationInput
    _remembered: dict[str, Remembered]
    _recent: list[Event]
    _outbox: list[Delivery]
    _lock: asyncio.Lock
    _updates: int
    _woken: bool
    _search: tuple[Any, ...] | None
    _run_started: datetime
    _next: datetime | None
    _summary: CooperationSummary | None
    _sent: CooperationSummary | None
    _registered: bool
    _refused: bool
    _shape: bool | None
    _shape3: bool | None
    _fault: str | None
    _faults: dict[str, str]
    _shown: str | None
    _courier_failures: int
    _caught: bool
    """Shape 3: a bug was caught in this run, which therefore continues as new as soon as
    its handlers are done (the failure and its flag usually in the same workflow task): a
    fix deployed later never replays the recorded failure, which would otherwise decide
    differently under the fixed code (a non-determinism)."""
    _rules_moved: int | None
    _closing: bool

    def _shape_2(self) -> bool:
        # Memoised by the SDK per run: the first call decides the whole run's shape.
        if self._shape is None:
            self._shape = workflow.patched(SHAPE_2)
            # Decided with shape 2, at the run's first step: a run started before shape 3
            # replays that step without its marker and keeps shape 2 to its end.
            self._shape3 = self._shape and workflow.patched(SHAPE_3)
        return self._shape

    def _shape_3(self) -> bool:
        return self._shape_2() and bool(self._shape3)

    def _rules_available(self) -> int:
        """The newest rules this run may use: each version is a patch, recorded in history
        the first time a run meets it, so a replay finds the same version at the same
        decision."""
        version = 1
        for number in range(2, RULES_VERSION + 1):
            if not workflow.patched(f"coopflow-rules-{number}"):
                break
            version = number
        return version

    def _move_rules(self, now: datetime) -> None:
        """Move to newer rules before deciding, at a point the history records."""
        state = self._require_state()
        if state.rules_version >= RULES_VERSION:
            return
        target = self._rules_available()
        if target <= state.rules_version:
            return
        workflow.logger.info(
            "rules upgraded",
            extra={"cooperation": self._id, "from": state.rules_version, "to": target},
        )
        self._state = upgrade(state, target, now)
        self._rules_moved = target

    def _now(self) -> datetime:
        return workflow.now() + self._offset

    def _command_instant(self, request: CommandRequest) -> datetime:
        if self._simulation and request.at is not None:
            return max(request.at, self._require_state().last_at)
        return self._now()

    def _decide(self, command: c.Command, now: datetime) -> Decision:
        try:
            return decide(self._require_state(), command, now)
        except DomainError as error:
            raise rejection(error) from None

    @contextlib.contextmanager
    def _rules_guard(self, command: c.Command) -> Iterator[None]:
        """Shape 3: the handler as guarded as the validator. Other decisions may have run
        between the two, so the handler decides on a later state; a bug in the rules there
        refuses the command (InternalError) and flags the cooperation, rather than failing
        the workflow task for ever. The refused command leaves the state as it was when the
        guard began: nothing is adopted before the rules have decided (a move to newer rules
        made just before stands: its marker and log are already recorded)."""
        fault = f"rules:{command.kind}"
        state, moved = self._state, self._rules_moved
        try:
            yield
        except (TemporalError, DomainError):
            raise  # a rejection, a refusal, a non-determinism: not a bug of the rules
        except Exception as error:
            if not self._shape_3():
                raise
            self._state, self._rules_moved = state, moved
            self._caught = True
            self._flag(fault, type(error).__name__)
            raise self._rules_failed(command, error) from None
        if self._shape_3():
            # The same command decided again: the bug is gone (fixed, or its state passed).
            self._unflag(fault)

    def _rules_failed(self, command: c.Command, error: Exception) -> ApplicationError:
        """A bug in the rules on a command, said loudly (log, counter) and answered as an
        internal error: the validator's refusal and the guarded handler's alike."""
        workflow.logger.error(
            "the rules failed on a command",
            extra={"cooperation": self._id, "command": command.kind},
            exc_info=error,
        )
        workflow.metric_meter().create_counter(
            "coopflow_rule_failures", "Commands the rules failed on (a bug)"
        ).add(1)
        return ApplicationError(
            f"internal error deciding {command.kind}: {type(error).__name__}",
            type="InternalError",
            non_retryable=True,
        )

    def _current_summary(self) -> CooperationSummary:
        if not self._registered:
            # Readers see a cooperation once its registration is recorded, not before.
            raise ApplicationError("the cooperation is being registered", type="Conflict")
        if self._summary is None:
            self._summary = summary(self._require_state())
        return self._summary

    def _require_state(self) -> CooperationState:
        if self._state is None:
            raise ApplicationError("the cooperation is not registered yet", type="Conflict")
        return self._state

    def _adopt(self, decision: Decision) -> Delivery | None:
        """Take a decision as the new state and give its consequences to the courier."""
        self._state = decision.state
        self._summary = None
        wake = next_wakeup(decision.state)
        # Move the timer only when the decision moved the clock's next instant.
        self._woken = self._woken or wake != self._next
        self._next = wake
        if not decision.events and not decision.effects and self._rules_moved is None:
            return None
        view = self._current_summary() if self._registered else summary(decision.state)
        delivery = Delivery(
            ApplyEffects(
                cooperation_id=self._id,
                events=decision.events,
                summary=view if view != self._sent else None,
                state=decision.state,
                effects=decision.effects,
                rules_version=self._rules_moved,
            )
        )
        self._sent = view
        self._rules_moved = None
        self._outbox.append(delivery)
        self._recent = (self._recent + decision.events)[-RECENT_EVENTS:]
        self._upsert_search_attributes()
        return delivery

    def _answer(self, request: CommandRequest, events: list[Event]) -> CommandAnswer:
        first = events[0].seq if events else 0
        last = events[-1].seq if events else 0
        if request.request_id:
            self._remembered[request.request_id] = Remembered(first_seq=first, last_seq=last)
            while len(self._remembered) > ANSWER_WINDOW:
                self._remembered.pop(next(iter(self._remembered)))
            if self._outbox:
                self._keep_answer(request, self._outbox[-1], events)
        return CommandAnswer(
            events=events, state=self._current_summary(), first_seq=first, last_seq=last
        )

    def _keep_answer(
        self, request: CommandRequest, delivery: Delivery, events: list[Event]
    ) -> None:
        """The answer kept in PostgreSQL with its events (store/answers.py), for a request
        repeated beyond the window of `_remembered`: handed to the delivery that carries the
        command's last event, while the courier has not taken it (no await since `_adopt`)."""
        if not request.request_id or not events or delivery.done:
            return
        if not any(e.seq == events[-1].seq for e in delivery.request.events):
            return
        delivery.request.answered.append(
            Answered(
                request_id=request.request_id,
                first_seq=events[0].seq,
                last_seq=events[-1].seq,
            )
        )

    def _repeated(self, request: CommandRequest) -> CommandAnswer | None:
        if not request.request_id or request.request_id not in self._remembered:
            return None
        seen = self._remembered[request.request_id]
        events = [e for e in self._recent if seen.first_seq <= e.seq <= seen.last_seq]
        return CommandAnswer(
            events=events,
            state=self._current_summary(),
            first_seq=seen.first_seq,
            last_seq=seen.last_seq,
            repeated=True,
        )

    # -- the courier: effects in order, batched, retried, flagged when stuck --------------

    async def _carry_effects(self) -> None:
        if self._shape_3():
            await self._carry_effects_3()
            return
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox) or self._closing)
            if not self._outbox:
                return
            batch = list(self._outbox)
            result = await self._carry_out(merge(self._id, [d.request for d in batch]))
            for delivery in batch:
                delivery.result = result
            for delivery in batch:
                await self._follow_loans(delivery.request)
            # Out of the outbox only once wholly done: a run that continues meanwhile carries
            # it, and the next run repeats what is idempotent (activity, signals by seq).
            del self._outbox[: len(batch)]

    async def _carry_effects_3(self) -> None:
        """The courier of shape 3: any failure of its own (a bug in following loans, a
        signal a loan workflow refuses, an unexpected error around the activity) flags the
        cooperation and is retried with backoff. The batch stays first in the outbox, so
        nothing is lost or overtaken; what was done of it is not done again in this run
        (the activity for deliveries with a result, the loans of those followed), and what
        is repeated across continue-as-new is idempotent (activity, signals by seq)."""
        failures = self._courier_failures
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox) or self._closing)
            if not self._outbox:
                return
            if failures:
                backoff = EFFECTS_BACKOFF * 2 ** min(failures - 1, 20)
                await workflow.sleep(min(backoff, max(self._fault_retry, EFFECTS_BACKOFF)))
            batch = list(self._outbox)
            try:
                await self._deliver(batch)
            except NondeterminismError:
                raise
            except Exception as error:
                failures += 1
                self._courier_failures = failures
                self._caught = True
                self._flag("courier", type(error).__name__)
                workflow.logger.error(
                    "the courier failed: flagged, the batch retried in a new run",
                    extra={"cooperation": self._id, "attempt": failures},
                    exc_info=True,
                )
                continue
            if failures:
                workflow.logger.warning("the courier goes on", extra={"cooperation": self._id})
            failures = self._courier_failures = 0
            self._unflag("courier")
            del self._outbox[: len(batch)]

    async def _deliver(self, batch: list[Delivery]) -> None:
        undone = [d for d in batch if not d.done]
        if undone:
            result = await self._carry_out(merge(self._id, [d.request for d in undone]))
            for delivery in undone:
                delivery.result = result
        for delivery in batch:
            if not delivery.followed:
                await self._follow_loans(delivery.request)
                delivery.followed = True

    async def _carry_out(self, request: ApplyEffects) -> EffectsResult:
        while True:
            try:
                result: EffectsResult = await workflow.execute_activity(
                    "apply_effects",
                    request,
                    result_type=EffectsResult,
                    start_to_close_timeout=EFFECTS_TIMEOUT,
                    retry_policy=self._effects_retry,
                )
            except ActivityError as error:
                if self._shape_3():
                    self._flag_effects(error)
                else:
                    self._flag_fault(error)
                await workflow.sleep(self._fault_retry)
                continue
            if self._shape_3():
                if "effects" in self._faults:
                    workflow.logger.warning(
                        "effects carried out again", extra={"cooperation": self._id}
                    )
                    self._unflag("effects")
            elif self._fault is not None:
                workflow.logger.warning(
                    "effects carried out again", extra={"cooperation": self._id}
                )
                self._fault = None
                workflow.upsert_search_attributes([FAULT.value_unset()])
            return result

    def _flag_fault(self, error: ActivityError) -> None:
        cause = error.cause
        kind = cause.type if isinstance(cause, ApplicationError) and cause.type else "Error"
        message = str(cause or error)
        workflow.logger.error(
            "effects keep failing: the cooperation is flagged and retried",
            extra={"cooperation": self._id, "error": kind, "detail": message},
        )
        workflow.metric_meter().create_counter(
            "coopflow_effects_faults", "Effects that failed past their retries"
        ).add(1)
        fault = f"effects:{kind}"
        if fault != self._fault:
            self._fault = fault
            workflow.upsert_search_attributes([FAULT.value_set(fault)])

    def _flag_effects(self, error: ActivityError) -> None:
        cause = error.cause
        kind = cause.type if isinstance(cause, ApplicationError) and cause.type else "Error"
        workflow.logger.error(
            "effects keep failing: the cooperation is flagged and retried",
            extra={"cooperation": self._id, "error": kind, "detail": str(cause or error)},
        )
        self._flag("effects", kind)

    def _flag(self, source: str, kind: str) -> None:
        """Shape 3: flag the cooperation for `source` (effects, the courier, the rules on a
        command) until it passes again; CoopFault names every source in fault."""
        workflow.metric_meter().create_counter(
            "coopflow_effects_faults", "Effects that failed past their retries"
        ).add(1, {"source": source.split(":")[0]})
        self._faults[source] = f"{source}:{kind}"
        self._show_faults()

    def _unflag(self, source: str) -> None:
        if self._faults.pop(source, None) is not None:
            self._show_faults()

    def _init_faults(self, start: CooperationInput) -> None:
        """The faults a run begins with: those its previous run carried, which CoopFault
        (inherited at continue-as-new) still shows. A run of shape 2 carried none, and
        flagged its effects only."""
        self._shown = workflow.info().typed_search_attributes.get(FAULT)
        self._faults = dict(start.faults)
        self._courier_failures = start.courier_failures
        self._caught = False
        if not self._faults and self._shown:
            self._faults["effects"] = self._shown

    def _show_faults(self) -> None:
        fault = " ".join(self._faults.values())[:FAULT_LENGTH] or None
        if fault == self._shown:
            return
        self._shown = fault
        workflow.upsert_search_attributes(
            [FAULT.value_set(fault) if fault else FAULT.value_unset()]
        )

    async def _follow_loans(self, request: ApplyEffects) -> None:
        """Each disbursed loan runs as its own workflow, told of repayments and settlement."""
        for effect in request.effects:
            if isinstance(effect, StartLoan):
                await self._start_loan(effect)
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

    async def _start_loan(self, effect: StartLoan) -> None:
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._start_loan_once(effect)

    async def _start_loan_once(self, effect: StartLoan) -> None:
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
                clock_offset_seconds=self._offset.total_seconds(),
            ),
            id=loan_workflow_id(self._id, effect.line, effect.tranche),
            parent_close_policy=ParentClosePolicy.ABANDON,
        )

    def _currency_of(self, line_id: str) -> str:
        line = self._require_state().line(line_id)
        assert line is not None, line_id
        return line.currency

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

    def _history_too_long(self) -> bool:
        return workflow.info().get_current_history_length() > HISTORY_HARD_LIMIT

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            self._caught
            or info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._history_budget
            or self._updates >= UPDATE_BUDGET
            or workflow.now() - self._run_started > RUN_AGE_LIMIT
        )

    def _carry(self) -> CooperationInput:
        return self._carried.model_copy(
            update={
                "registration": None,
                "registered_at": None,
                "state": self._require_state(),
                "answers": {},
                "recent_events": [],
                "remembered": self._remembered,
                "pending": self._pending(),
                # Shape 2 keeps CoopFault itself, not these: its next run reads the attribute.
                "faults": self._faults if self._shape_3() else {},
                "courier_failures": self._courier_failures,
            }
        )

    def _pending(self) -> list[ApplyEffects]:
        pending = [d.request for d in self._outbox]
        if self._shape_3() and len(pending) > 1:
            # One batch however long the effects failed: the carried input holds one
            # summary, not one per decision, and stays far below Temporal's payload limit.
            return [merge(self._id, pending)]
        return pending
