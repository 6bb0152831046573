"""The run's time: Temporal's clock moved by the run's offset (a simulation's, a test's),
the instant the rules next want to be woken, and whether a decision moved it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

from domain.lifecycle import next_wakeup
from domain.state import CooperationState
from workflows.models import CommandRequest, CooperationInput


class Clock:
    def __init__(self, start: CooperationInput) -> None:
        self.offset = timedelta(seconds=start.clock_offset_seconds)
        self.simulation = start.simulation
        self.next = next_wakeup(start.state) if start.state is not None else None
        self.woken = False
        """A decision moved `next`: the timer waiting for the old instant is given up."""

    def now(self) -> datetime:
        return workflow.now() + self.offset

    def instant(self, request: CommandRequest, state: CooperationState) -> datetime:
        """When a command applies: now, or in a simulation the scenario's instant (never
        before what the state has already seen)."""
        if self.simulation and request.at is not None:
            return max(request.at, state.last_at)
        return self.now()

    def follow(self, state: CooperationState) -> None:
        """The rules' next instant for a state just adopted."""
        wake = next_wakeup(state)
        # Move the timer only when the decision moved the clock's next instant.
        self.woken = self.woken or wake != self.next
        self.next = wake

    def due(self, now: datetime) -> bool:
        return self.next is not None and self.next <= now

    async def wait(self, interrupted: Callable[[], bool]) -> None:
        """Until the next instant, a decision that moves it, or `interrupted`."""
        wake = self.next
        if wake is None or wake > self.now():
            self.woken = False
            timeout = None if wake is None else wake - self.now()
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self.woken or interrupted(), timeout=timeout)
