"""The cooperation's search attributes other than CoopFault: what lists and filters read
(phase, programmes, overdue, facilitator), upserted only when one of them changes."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from domain.state import CooperationState
from domain.views import is_overdue
from runtime.temporal import FACILITATOR, OVERDUE, PHASE, PROGRAMMES


class Search:
    def __init__(self) -> None:
        self._shown: tuple[Any, ...] | None = None

    def show(self, state: CooperationState) -> None:
        phase = state.outcome.value if state.outcome else state.phase.value
        programmes = [line.id for line in state.lines if line.status != "declined"]
        current = (phase, tuple(programmes), is_overdue(state), state.facilitator)
        if current == self._shown:
            return
        self._shown = current
        updates: list[SearchAttributeUpdate[Any]] = [
            PHASE.value_set(phase),
            PROGRAMMES.value_set(programmes),
            OVERDUE.value_set(current[2]),
        ]
        if state.facilitator:
            updates.append(FACILITATOR.value_set(state.facilitator))
        workflow.upsert_search_attributes(updates)
