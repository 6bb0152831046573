"""A shell that holds the state in memory and applies rule 14's same-instant order (clock.py
says it): the scenario runner and the tests drive the rules through it."""

from __future__ import annotations

from datetime import datetime

from domain import commands as c
from domain.lifecycle.clock import next_wakeup, run_clock
from domain.lifecycle.context import Context, Decision, copy_state
from domain.lifecycle.dispatch import decide
from domain.state import CooperationState


class Driver:
    """One cooperation's state, moved by commands and by the clock, one timer as a workflow
    keeps: the clock runs from wakeup to wakeup.

    `apply(command, at)` runs the clock strictly before `at`, then the command, so the
    commands of one instant come before the clock at that instant, which waits for
    `run_clock(at)`. Every decision taken, the clock's and the commands', goes to `record`,
    in order.
    """

    def __init__(
        self, state: CooperationState | None = None, *, owned: bool = False, lean: bool = False
    ) -> None:
        self.state = state
        self.owned = owned
        """The driver owns its state and changes it in place, without a copy per decision:
        for a shell that drops everything on a refusal (a scenario run, a forecast). A
        refused command may then leave the state half changed."""
        self.lean = lean
        """No event kept, no notice built (`Context`): for a shell that reads neither."""

    def record(self, decision: Decision) -> None:
        """What a shell keeps of each decision (events, effects); nothing here."""

    def apply(self, command: c.Command, at: datetime) -> Decision:
        """The clock strictly before `at`, then `command` at `at`: the command's decision
        (the clock's own went to `record` first). A refusal raises DomainError and changes
        nothing but the clock already run."""
        self.run_clock(at, inclusive=False)
        return self._take(
            decide(self.state, command, at, in_place=self.owned, clock_run=True, lean=self.lean)
        )

    def run_clock(self, until: datetime, inclusive: bool = True) -> None:
        """The clock up to `until` (strictly before it when not `inclusive`), one decision."""
        if self.state is None:
            return
        if self.owned:
            # No copy to spare: the clock runs through every wakeup in one pass (the same
            # occurrences, in the same order, as wakeup after wakeup).
            owned = Context(self.state, lean=self.lean)
            run_clock(owned, until, inclusive)
            if owned.events or owned.effects:
                self._take(owned.decision())
            return
        ctx: Context | None = None
        wakeup = next_wakeup(self.state)
        # Wakeup after wakeup, as a timer would, in one private copy of the state.
        while wakeup is not None and (wakeup < until or (inclusive and wakeup == until)):
            ctx = ctx or Context(
                self.state if self.owned else copy_state(self.state), lean=self.lean
            )
            wakeup = run_clock(ctx, wakeup, inclusive=True)
        if ctx is not None:
            self._take(ctx.decision())

    def _take(self, decision: Decision) -> Decision:
        self.state = decision.state
        self.record(decision)
        return decision
