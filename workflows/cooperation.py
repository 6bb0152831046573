"""The cooperation workflow: one per cooperation (`cooperation:<id>`), for years.

A thin shell over `domain/`: it waits for the clock's next instant (`next_wakeup`) or for a
command, lets the reducer decide, answers at once — the decision is durable in history the
moment it is taken — and hands the decision's events and effects to a courier that carries
them out in order, batched, in one activity at a time. It continues as new before its
history grows large, carrying the whole state, and ends once the cooperation is closed and
every loan settled.

Two shapes live here: runs started before the patch `coopflow-shape-2` awaited each
decision's effects inside the command and registered from their input; their code paths
(marked "shape 1") stay until no such run is open (docs/versioning.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import ApplyEffects, CommitResult, EffectsResult
    from domain import commands as c
    from domain.effects import RequestCommitment, StartLoan
    from domain.errors import Conflict, DomainError
    from domain.events import Event
    from domain.lifecycle import (
        Decision,
        decide,
        is_finished,
        next_wakeup,
        registration_commitments,
        tick,
    )
    from domain.rules import RULES_VERSION, upgrade
    from domain.state import CooperationState, next_check_in
    from domain.views import CooperationSummary, is_overdue, summary
    from runtime.temporal import FACILITATOR, FAULT, OVERDUE, PHASE, PROGRAMMES
    from workflows.loan import LoanWorkflow, loan_workflow_id
    from workflows.models import (
        CommandAnswer,
        CommandRequest,
        CooperationInput,
        LoanInput,
        LoanRepayment,
        LoanWriteOff,
        Remembered,
        TimelineAnswer,
        TimelinePage,
    )

SHAPE_2 = "coopflow-shape-2"
"""Registration by update-with-start, commands answered at once, effects carried out by the
courier, a fault flag when they keep failing; no fixed sleep before the end."""

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
class _Delivery:
    """One decision's consequences waiting for the courier."""

    request: ApplyEffects
    result: EffectsResult | None = None

    @property
    def done(self) -> bool:
        return self.result is not None


@workflow.defn(name="CooperationWorkflow")
class CooperationWorkflow:
    @workflow.init
    def __init__(self, start: CooperationInput) -> None:
        # Handlers can run before `run` (update-with-start, right after continue-as-new).
        self._id = start.cooperation_id
        self._state: CooperationState | None = start.state
        self._offset = timedelta(seconds=start.clock_offset_seconds)
        self._simulation = start.simulation
        self._history_budget = start.history_budget
        self._effects_retry = RetryPolicy(
            initial_interval=EFFECTS_BACKOFF,
            maximum_interval=EFFECTS_BACKOFF_MAX,
            maximum_attempts=start.effects_attempts,
        )
        self._fault_retry = timedelta(seconds=start.fault_retry_seconds)
        self._carried = start
        self._remembered: dict[str, Remembered] = dict(start.remembered)
        for request_id, old in start.answers.items():
            self._remembered[request_id] = Remembered(
                first_seq=old.events[0].seq if old.events else 0,
                last_seq=old.events[-1].seq if old.events else 0,
            )
        self._answers_v1 = dict(start.answers)
        self._recent: list[Event] = list(start.recent_events)
        self._outbox: list[_Delivery] = [_Delivery(p) for p in start.pending]
        self._lock = asyncio.Lock()
        self._updates = 0
        self._woken = False
        self._search: tuple[Any, ...] | None = None
        self._run_started = workflow.now()
        self._next = next_wakeup(start.state) if start.state is not None else None
        self._summary: CooperationSummary | None = None
        self._sent: CooperationSummary | None = None
        self._registered = start.state is not None
        self._refused = False
        self._shape: bool | None = None
        self._fault: str | None = None
        self._rules_moved: int | None = None
        self._closing = False
        self._courier: asyncio.Task[None] | None = None

    # -- the story: register, then wait, react, record, continue --------------------------

    @workflow.run
    async def run(self, start: CooperationInput) -> dict[str, Any]:
        if not self._shape_2():
            return await self._run_shape_1(start)
        self._courier = asyncio.create_task(self._carry_effects())
        if self._state is None:
            if start.registration is not None:
                with contextlib.suppress(ApplicationError):
                    await self._register(
                        CommandRequest(command=start.registration, at=start.registered_at)
                    )
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._state is not None or self._refused,
                    timeout=REGISTRATION_WAIT,
                )
            if self._state is None:
                await self._wind_down()
                return {"id": self._id, "registered": False}
        while True:
            state = self._require_state()
            if is_finished(state):
                await self._wind_down()
                # Handlers finished meanwhile cannot have changed that: the cooperation is
                # closed and its loans settled, so every command is refused.
                workflow.logger.info("cooperation finished", extra={"outcome": state.outcome})
                return summary(self._require_state()).model_dump(mode="json")
            if self._should_continue_as_new():
                await workflow.wait_condition(
                    lambda: (
                        workflow.all_handlers_finished()
                        and (not self._outbox or self._history_too_long())
                    )
                )
                workflow.logger.info(
                    "continuing as new",
                    extra={
                        "history_length": workflow.info().get_current_history_length(),
                        "updates": self._updates,
                        "last_seq": self._require_state().next_seq - 1,
                        "pending": len(self._outbox),
                    },
                )
                workflow.continue_as_new(self._carry())
            wake = self._next
            if wake is None or wake > self._now():
                self._woken = False
                timeout = None if wake is None else wake - self._now()
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: (
                            self._woken
                            or self._should_continue_as_new()
                            or is_finished(self._require_state())
                        ),
                        timeout=timeout,
                    )
            async with self._lock:
                now = self._now()
                if self._next is not None and self._next <= now:
                    self._move_rules(now)
                    self._adopt(tick(self._require_state(), now))

    async def _wind_down(self) -> None:
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._outbox)
        self._closing = True
        if self._courier is not None:
            await self._courier
        state = self._state
        if state is not None and state.rules_version < 2:
            # Under rules 1 no event settles a loan: its workflow ends with its cooperation.
            for line in state.lines:
                for loan in line.loans:
                    await workflow.get_external_workflow_handle(
                        loan_workflow_id(self._id, line.id, loan.tranche)
                    ).signal(LoanWorkflow.settle)

    # -- commands -------------------------------------------------------------------------

    @workflow.update(name="apply")
    async def apply(self, request: CommandRequest) -> CommandAnswer:
        if not self._shape_2():
            return await self._apply_shape_1(request)
        if isinstance(request.command, c.Register):
            return await self._register(request)
        await workflow.wait_condition(lambda: self._state is not None or self._refused)
        if self._state is None:
            raise rejection(Conflict("the cooperation's registration was refused"))
        async with self._lock:
            repeated = self._repeated(request)
            if repeated is not None:
                return repeated
            now = self._command_instant(request)
            self._move_rules(now)
            decision = self._decide(request.command, now)
            delivery = self._adopt(decision)
            self._updates += 1
            events = list(decision.events)
            refused = None
            if delivery is not None and any(
                isinstance(e, RequestCommitment) for e in decision.effects
            ):
                more, refused = await self._answer_commitments(delivery, decision, now)
                events += more
            if refused is not None:
                raise budget_refusal(refused)
            return self._answer(request, events)

    @apply.validator
    def _validate(self, request: CommandRequest) -> None:
        # Runs before the update is written to history: a rejection here leaves no trace.
        if request.request_id and request.request_id in self._remembered:
            return
        if request.at is not None and not self._simulation:
            raise ApplicationError("only a simulation dates its commands", type="InvalidInput")
        if self._state is None:
            return  # the registration is decided by its handler, which records a refusal
        now = self._command_instant(request)
        try:
            decide(self._state, request.command, now)
        except DomainError as error:
            raise rejection(error) from None
        except Exception as error:
            # A bug in the rules must not freeze the cooperation: the command is refused,
            # loudly, and the cooperation goes on.
            workflow.logger.error(
                "the rules failed on a command",
                extra={"cooperation": self._id, "command": request.command.kind},
                exc_info=True,
            )
            workflow.metric_meter().create_counter(
                "coopflow_rule_failures", "Commands the rules failed on (a bug)"
            ).add(1)
            raise ApplicationError(
                f"internal error deciding {request.command.kind}: {type(error).__name__}",
                type="InternalError",
                non_retryable=True,
            ) from None

    async def _register(self, request: CommandRequest) -> CommandAnswer:
        assert isinstance(request.command, c.Register)
        async with self._lock:
            if self._state is not None:
                repeated = self._repeated(request)
                if repeated is not None:
                    return repeated
                raise rejection(Conflict(f"cooperation {self._id!r} is already registered"))
            if self._refused:
                raise rejection(Conflict("a registration of this cooperation was just refused"))
            rules = self._rules_available()
            register = request.command.model_copy(update={"rules_version": rules})
            now = request.at if self._simulation and request.at is not None else self._now()
            try:
                decision = decide(None, register, now)
            except DomainError as error:
                self._refused = True
                raise rejection(error) from None
            commitments = registration_commitments(register)
            if commitments:
                # All or nothing, before anything is recorded: a registration the budget
                # refuses commits nothing and leaves no cooperation behind.
                result = await self._carry_out(
                    ApplyEffects(
                        cooperation_id=self._id,
                        events=[],
                        effects=list(commitments),
                        all_or_nothing=True,
                    )
                )
                # Rolled back as a whole: the line that could not be committed says why.
                refused = next(
                    (r for r in result.commitments if not r.committed and r.reason), None
                )
                if refused is not None:
                    self._refused = True
                    raise ApplicationError(
                        f"funding line {refused.line}: {refused.reason}",
                        {"remaining": str(refused.remaining), "needed": str(refused.needed)},
                        type="Conflict",
                        non_retryable=True,
                    )
            self._rules_moved = rules
            delivery = self._adopt(decision)
            assert delivery is not None
            # Readers find the cooperation in PostgreSQL once its registration is answered.
            await workflow.wait_condition(lambda: delivery.done)
            self._registered = True
            return self._answer(request, list(decision.events))

    async def _answer_commitments(
        self, delivery: _Delivery, decision: Decision, now: datetime
    ) -> tuple[list[Event], CommitResult | None]:
        """Commitments (rule 9) depend on the budget in PostgreSQL: wait for the courier, then
        let the rules take the answer at the same instant."""
        await workflow.wait_condition(lambda: delivery.done)
        assert delivery.result is not None
        asked = {e.line for e in decision.effects if isinstance(e, RequestCommitment)}
        events: list[Event] = []
        refused: CommitResult | None = None
        for outcome in delivery.result.commitments:
            if outcome.line not in asked:
                continue
            answer: c.Command = (
                c.CommitmentCommitted(line=outcome.line)
                if outcome.committed
                else c.CommitmentRefused(line=outcome.line, reason=outcome.reason)
            )
            follow = self._decide(answer, now)
            self._adopt(follow)
            events += follow.events
            if not outcome.committed:
                refused = outcome
        return events, refused

    # -- queries --------------------------------------------------------------------------

    @workflow.query
    def state(self) -> CooperationSummary:
        return self._current_summary()

    @workflow.query
    def full_state(self) -> CooperationState:
        return self._require_state()

    @workflow.query
    def last_seq(self) -> int:
        return self._require_state().next_seq - 1

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

    def _shape_2(self) -> bool:
        # Memoised by the SDK per run: the first call decides the whole run's shape.
        if self._shape is None:
            self._shape = workflow.patched(SHAPE_2)
        return self._shape

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

    def _adopt(self, decision: Decision) -> _Delivery | None:
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
        delivery = _Delivery(
            ApplyEffects(
                cooperation_id=self._id,
                events=decision.events,
                summary=view if view != self._sent else None,
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
        return CommandAnswer(
            events=events, state=self._current_summary(), first_seq=first, last_seq=last
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
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox) or self._closing)
            if not self._outbox:
                return
            batch = list(self._outbox)
            result = await self._carry_out(_merge(self._id, [d.request for d in batch]))
            for delivery in batch:
                delivery.result = result
            for delivery in batch:
                await self._follow_loans(delivery.request)
            # Out of the outbox only once wholly done: a run that continues meanwhile carries
            # it, and the next run repeats what is idempotent (activity, signals by seq).
            del self._outbox[: len(batch)]

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
                self._flag_fault(error)
                await workflow.sleep(self._fault_retry)
                continue
            if self._fault is not None:
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
                    LoanWorkflow.repayment,
                    LoanRepayment(
                        seq=event.seq,
                        at=event.at,
                        amount=event.data["amount"],
                        installments=event.data["installments"],
                    ),
                )
                if event.data.get("settled"):
                    await loan.signal(LoanWorkflow.settle)
            else:
                await loan.signal(
                    LoanWorkflow.written_off,
                    LoanWriteOff(
                        at=event.at, amount=event.data["amount"], reason=event.data["reason"]
                    ),
                )

    async def _start_loan(self, effect: StartLoan) -> None:
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._start_loan_once(effect)

    async def _start_loan_once(self, effect: StartLoan) -> None:
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
            info.is_continue_as_new_suggested()
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
                "pending": [d.request for d in self._outbox],
            }
        )

    # -- shape 1: runs started before `coopflow-shape-2` (remove once none is open) ---------

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
                    LoanWorkflow.repayment,
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
            await handle.signal(LoanWorkflow.settle)
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


def _merge(cooperation_id: str, requests: list[ApplyEffects]) -> ApplyEffects:
    """Several decisions' consequences as one, in order: one activity for all that waits."""
    if len(requests) == 1:
        return requests[0]
    return ApplyEffects(
        cooperation_id=cooperation_id,
        events=[e for r in requests for e in r.events],
        summary=next((r.summary for r in reversed(requests) if r.summary is not None), None),
        effects=[e for r in requests for e in r.effects],
        rules_version=next(
            (r.rules_version for r in reversed(requests) if r.rules_version is not None), None
        ),
    )
