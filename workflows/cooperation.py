"""The cooperation workflow: one per cooperation (`cooperation:<id>`), for years.

A thin shell over `domain/`: it waits for the clock's next instant (`next_wakeup`) or for a
command, lets the reducer decide, answers at once — the decision is durable in history the
moment it is taken — and hands the decision's events and effects to a courier that carries
them out in order, batched, in one activity at a time. It continues as new before its
history grows large, carrying the whole state, and ends once the cooperation is closed and
every loan settled.

The mechanics (deciding, adopting, answering, the courier, search attributes) are in
workflows/shell.py; the code paths of runs started before the patch `coopflow-shape-2`, in
workflows/shape_one.py, stay until no such run is open (docs/versioning.md). Both live
outside the sandbox, so this module, the one re-imported for every workflow, stays small.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.models import ApplyEffects, CommitResult
    from domain import commands as c
    from domain.effects import RequestCommitment
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
    from domain.state import CooperationState, next_check_in
    from domain.views import CooperationSummary, summary
    from workflows.models import (
        CommandAnswer,
        CommandRequest,
        CooperationInput,
        Remembered,
        TimelineAnswer,
        TimelinePage,
    )
    from workflows.shape_one import ShapeOne
    from workflows.shell import (
        EFFECTS_BACKOFF,
        EFFECTS_BACKOFF_MAX,
        REGISTRATION_WAIT,
        SETTLE_SIGNAL,
        Delivery,
        budget_refusal,
        carried,
        loan_workflow_id,
        rejection,
    )


@workflow.defn(name="CooperationWorkflow")
class CooperationWorkflow(ShapeOne):
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
        self._outbox: list[Delivery] = [Delivery(p) for p in start.pending]
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
        self._shape3: bool | None = None
        self._fault: str | None = None
        self._init_faults(start)
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
                        and (not self._outbox or self._history_too_long() or self._caught)
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
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and (not self._outbox or self._caught)
        )
        if self._outbox and self._state is not None:
            # Shape 3: the courier failed on the last effects; a new run carries them.
            workflow.continue_as_new(self._carry())
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
                    ).signal(SETTLE_SIGNAL)

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
            # The move to newer rules is recorded (patch marker, log) as it happens: it
            # stands even when the command is refused, and the next decision records it.
            self._move_rules(now)
            with self._rules_guard(request.command):
                decision = self._decide(carried(request), now)
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
            decide(self._state, carried(request), now)
        except DomainError as error:
            raise rejection(error) from None
        except Exception as error:
            # A bug in the rules must not freeze the cooperation: the command is refused,
            # loudly, and the cooperation goes on.
            raise self._rules_failed(request.command, error) from None

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
                with self._rules_guard(register):
                    decision = decide(None, register, now)
            except DomainError as error:
                self._refused = True
                raise rejection(error) from None
            except ApplicationError:
                self._refused = True  # shape 3: a bug in the rules refused it
                raise
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
            self._keep_answer(request, delivery, list(decision.events))
            # Readers find the cooperation in PostgreSQL once its registration is answered.
            await workflow.wait_condition(lambda: delivery.done)
            self._registered = True
            return self._answer(request, list(decision.events))

    async def _answer_commitments(
        self, delivery: Delivery, decision: Decision, now: datetime
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
            # Not guarded: the acceptance is adopted and its budget committed already; a
            # refusal now would leave the line waiting for an answer nothing asks again.
            # A bug here fails the workflow task, retried until a fix (and flagged).
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
                {
                    "line": line.id,
                    "tranche": t,
                    "occurrence": o,
                    "amount": format(a, "f") if a is not None else None,
                }
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
