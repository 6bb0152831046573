"""The baseline: a bare workflow doing the Temporal work a cooperation does (timers,
updates, one activity each, continue-as-new on the same history budget) and nothing else,
run the same way (same sandbox, same data converter), so that a ratio against it measures
what coopflow adds."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import activity, workflow

ACTIVITY_TIMEOUT = timedelta(minutes=2)


class BareInput(BaseModel):
    clock_offset_seconds: float = 0.0
    """Scenario time = server time + offset, as for the cooperation workflow."""
    timers: list[datetime] = []
    """Scenario instants still to wake up at, in order."""
    until: datetime | None = None
    """When to end, in scenario time; None: stay open (the memory bench)."""
    history_budget: int = 4_000
    """History events per run before continuing as new: the cooperation workflow's default
    (`CooperationInput.history_budget`)."""
    updates: int = 0
    """Updates taken by the previous runs."""
    registered: bool = False
    """The first run's activity is done (it stands for the cooperation's registration)."""


@activity.defn(name="bare_noop")
async def noop() -> None:
    pass


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    @workflow.init
    def __init__(self, start: BareInput) -> None:
        self._offset = timedelta(seconds=start.clock_offset_seconds)
        self._updates = start.updates

    @workflow.run
    async def run(self, start: BareInput) -> int:
        if not start.registered:
            await self._noop()
        for i, instant in enumerate(start.timers):
            # Needed, not only fair: the time-skipping server caps a run at 3,650 days.
            if workflow.info().get_current_history_length() > start.history_budget:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    start.model_copy(
                        update={
                            "timers": start.timers[i:],
                            "updates": self._updates,
                            "registered": True,
                        }
                    )
                )
            await workflow.sleep(max(instant - self._now(), timedelta(0)))
            await self._noop()
        if start.until is None:
            await workflow.wait_condition(lambda: False)
        else:
            await workflow.sleep(max(start.until - self._now(), timedelta(0)))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._updates

    @workflow.update(name="apply")
    async def apply(self, command: str) -> str:
        await self._noop()
        self._updates += 1
        return command

    @workflow.update(name="at_once")
    def at_once(self, command: str) -> str:
        # The server's own round trip and nothing more: what every update pays (bench.server).
        self._updates += 1
        return command

    @workflow.query
    def state(self) -> int:
        return self._updates

    def _now(self) -> datetime:
        return workflow.now() + self._offset

    async def _noop(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=ACTIVITY_TIMEOUT)
