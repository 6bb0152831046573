"""How long a run may grow before it continues as new: history, updates, age, or a bug
caught in it (docs/versioning.md)."""

from __future__ import annotations

from temporalio import workflow

from workflows.models import CooperationInput
from workflows.parts.faults import Faults
from workflows.shell import HISTORY_HARD_LIMIT, RUN_AGE_LIMIT, UPDATE_BUDGET


class Lifetime:
    def __init__(self, start: CooperationInput, faults: Faults) -> None:
        self.history_budget = start.history_budget
        self.updates = 0
        self._started = workflow.now()
        self._faults = faults

    def over(self) -> bool:
        """Time to continue as new, once the handlers are done."""
        info = workflow.info()
        return (
            self._faults.caught
            or info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self.history_budget
            or self.updates >= UPDATE_BUDGET
            or workflow.now() - self._started > RUN_AGE_LIMIT
        )

    def history_too_long(self) -> bool:
        """Past this, a run continues even with effects still failing, carrying them."""
        return workflow.info().get_current_history_length() > HISTORY_HARD_LIMIT
