"""The cooperation workflow: one per cooperation (`cooperation:<id>`), for years.

A thin shell over `domain/`: it waits for the clock's next instant (`next_wakeup`) or for a
command, lets the reducer decide, answers at once — the decision is durable in history the
moment it is taken — and hands the decision's events and effects to a courier that carries
them out in order, batched, in one activity at a time. It continues as new before its
history grows large, carrying the whole state, and ends once the cooperation is closed and
every loan settled.

The workflow is composed of named parts (workflows/parts/: the clock, the rules, the
answers, the courier, the faults, the search attributes, the run's lifetime), its limits and
messages are in workflows/shell.py, and the code paths of runs started before the patch
`coopflow-shape-2` in workflows/shape_one.py, until no such run is open
(docs/versioning.md).

Passed through the sandbox like its parts (worker/main.py): nothing is kept at module level,
so no copy of the module is made for each cached workflow. The sandbox then no longer
proxies its imports: like the parts, it reads time, randomness and ids only through
`temporalio.workflow`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from temporalio import workflow
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
        TimelineAnswer,
        TimelinePage,
    )
    from workflows.parts.answers import Answers
    from workflows.parts.clock import Clock
    from workflows.parts.courier import Courier, Delivery
    from workflows.parts.faults import Faults
    from workflows.parts.lifetime import Lifetime
    from workflows.parts.rules import Rules
    from workflows.parts.search import Search
    from workflows.shape_one import ShapeOne
    from workflows.shell import REGISTRATION_WAIT, Shape, budget_refusal, carried, rejection


@workflow.defn(name="CooperationWorkflow")
class CooperationWorkflow:
    @workflow.init
    def __init__(self, start: CooperationInput) -> None:
        # Handlers can run before `run` (update-with-start, right after continue-as-new).
        self._id = start.cooperation_id
        self._start = start
        self._lock = asyncio.Lock()
        self._shape = Shape()
        self._faults = Faults(self._id, start)
        self._clock = Clock(start)
        self._rules = Rules(self._id, start.state, self._shape, self._faults)
        self._answers = Answers(start, self._rules.view)
        self._courier = Courier(self._id, start, self._shape, self._faults, self._rules.currency_of)
        self._search = Search()
        self._lifetime = Lifetime(start, self._faults)
        self._refused = False
        """A registration was refused: the run ends without a cooperation."""

    def _shape_one(self) -> ShapeOne:
        return ShapeOne(
            self._id,
            self._lock,
            self._clock,
            self._rules,
            self._answers,
            self._courier,
            self._search,
            self._lifetime,
        )

    # -- the story: register, then wait, react, record, continue --------------------------

    @workflow.run
    async def run(self, start: CooperationInput) -> dict[str, Any]:
        if not self._shape.two():
            return await self._shape_one().run(start)
        rules = self._rules
        self._courier.start()
        if rules.state is None:
            if start.registration is not None:
                with contextlib.suppress(ApplicationError):
                    await self._register(
                        CommandRequest(command=start.registration, at=start.registered_at)
                    )
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: rules.state is not None or self._refused,
                    timeout=REGISTRATION_WAIT,
                )
            if rules.state is None:
                await self._wind_down()
                return {"id": self._id, "registered": False}
        while True:
            state = rules.require()
            if is_finished(state):
                await self._wind_down()
                # Handlers finished meanwhile cannot have changed that: the cooperation is
                # closed and its loans settled, so every command is refused.
                workflow.logger.info("cooperation finished", extra={"outcome": state.outcome})
                return summary(rules.require()).model_dump(mode="json")
            if self._lifetime.over():
                await workflow.wait_condition(
                    lambda: (
                        workflow.all_handlers_finished()
                        and (
                            not self._courier.outbox
                            or self._lifetime.history_too_long()
                            or self._faults.caught
                        )
                    )
                )
                workflow.logger.info(
                    "continuing as new",
                    extra={
                        "history_length": workflow.info().get_current_history_length(),
                        "updates": self._lifetime.updates,
                        "last_seq": rules.require().next_seq - 1,
                        "pending": len(self._courier.outbox),
                    },
                )
                workflow.continue_as_new(self._carry())
            await self._clock.wait(lambda: self._lifetime.over() or is_finished(rules.require()))
            async with self._lock:
                now = self._clock.now()
                if self._clock.due(now):
                    rules.move(now)
                    self._adopt(tick(rules.require(), now))

    async def _wind_down(self) -> None:
        await workflow.wait_condition(
            lambda: (
                workflow.all_handlers_finished()
                and (not self._courier.outbox or self._faults.caught)
            )
        )
        if self._courier.outbox and self._rules.state is not None:
            # Shape 3: the courier failed on the last effects; a new run carries them.
            workflow.continue_as_new(self._carry())
        await self._courier.close()
        state = self._rules.state
        if state is not None and state.rules_version < 2:
            # Under rules 1 no event settles a loan: its workflow ends with its cooperation.
            await self._courier.settle_loans(state)

    def _carry(self) -> CooperationInput:
        """The whole state for the next run, with what it must still carry out."""
        three = self._shape.three()
        return self._start.model_copy(
            update={
                "registration": None,
                "registered_at": None,
                "state": self._rules.require(),
                "answers": {},
                "recent_events": [],
                "remembered": self._answers.remembered,
                "pending": self._courier.pending(),
                # Shape 2 keeps CoopFault itself, not these: its next run reads the attribute.
                "faults": self._faults.by_source if three else {},
                "courier_failures": self._courier.failures,
            }
        )

    def _adopt(self, decision: Decision) -> Delivery | None:
        """Take a decision as the new state and give its consequences to the courier."""
        rules = self._rules
        rules.take(decision.state)
        self._clock.follow(decision.state)
        if not decision.events and not decision.effects and rules.moved is None:
            return None
        view = rules.summary()
        courier = self._courier
        delivery = Delivery(
            ApplyEffects(
                cooperation_id=self._id,
                events=decision.events,
                summary=view if view != courier.sent else None,
                state=decision.state,
                effects=decision.effects,
                rules_version=rules.moved,
            )
        )
        courier.sent = view
        rules.moved = None
        courier.outbox.append(delivery)
        self._answers.record(decision.events)
        self._search.show(rules.require())
        return delivery

    # -- commands -------------------------------------------------------------------------

    @workflow.update(name="apply")
    async def apply(self, request: CommandRequest) -> CommandAnswer:
        if not self._shape.two():
            return await self._shape_one().apply(request)
        if isinstance(request.command, c.Register):
            return await self._register(request)
        rules = self._rules
        await workflow.wait_condition(lambda: rules.state is not None or self._refused)
        if rules.state is None:
            raise rejection(Conflict("the cooperation's registration was refused"))
        async with self._lock:
            repeated = self._answers.repeated(request)
            if repeated is not None:
                return repeated
            now = self._clock.instant(request, rules.require())
            # The move to newer rules is recorded (patch marker, log) as it happens: it
            # stands even when the command is refused, and the next decision records it.
            rules.move(now)
            with rules.guard(request.command):
                decision = rules.decide(carried(request), now)
            delivery = self._adopt(decision)
            self._lifetime.updates += 1
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

    def _answer(self, request: CommandRequest, events: list[Event]) -> CommandAnswer:
        outbox = self._courier.outbox
        return self._answers.answer(request, events, outbox[-1] if outbox else None)

    @apply.validator
    def _validate(self, request: CommandRequest) -> None:
        # Runs before the update is written to history: a rejection here leaves no trace.
        if self._answers.knows(request):
            return
        if request.at is not None and not self._clock.simulation:
            raise ApplicationError("only a simulation dates its commands", type="InvalidInput")
        state = self._rules.state
        if state is None:
            return  # the registration is decided by its handler, which records a refusal
        now = self._clock.instant(request, state)
        try:
            decide(state, carried(request), now)
        except DomainError as error:
            raise rejection(error) from None
        except Exception as error:
            # A bug in the rules must not freeze the cooperation: the command is refused,
            # loudly, and the cooperation goes on.
            raise self._rules.failed(request.command, error) from None

    async def _register(self, request: CommandRequest) -> CommandAnswer:
        assert isinstance(request.command, c.Register)
        rules = self._rules
        async with self._lock:
            if rules.state is not None:
                repeated = self._answers.repeated(request)
                if repeated is not None:
                    return repeated
                raise rejection(Conflict(f"cooperation {self._id!r} is already registered"))
            if self._refused:
                raise rejection(Conflict("a registration of this cooperation was just refused"))
            version = rules.available()
            register = request.command.model_copy(update={"rules_version": version})
            now = (
                request.at
                if self._clock.simulation and request.at is not None
                else self._clock.now()
            )
            try:
                with rules.guard(register):
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
                result = await self._courier.carry_out(
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
            rules.moved = version
            delivery = self._adopt(decision)
            assert delivery is not None
            self._answers.keep(request, delivery, list(decision.events))
            # Readers find the cooperation in PostgreSQL once its registration is answered.
            await workflow.wait_condition(lambda: delivery.done)
            rules.registered = True
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
            follow = self._rules.decide(answer, now)
            self._adopt(follow)
            events += follow.events
            if not outcome.committed:
                refused = outcome
        return events, refused

    # -- queries --------------------------------------------------------------------------

    @workflow.query
    def state(self) -> CooperationSummary:
        return self._rules.view()

    @workflow.query
    def full_state(self) -> CooperationState:
        return self._rules.require()

    @workflow.query
    def last_seq(self) -> int:
        return self._rules.require().next_seq - 1

    @workflow.query
    def schedule(self) -> dict[str, Any]:
        state = self._rules.require()
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
        items = [e for e in self._answers.recent if e.seq > page.after][: page.limit]
        return TimelineAnswer(items=items, next_after=items[-1].seq if items else page.after)
