"""What the cooperation is flagged for: the search attribute CoopFault, a counter and an
error log for each flag, cleared when its source passes again (docs/versioning.md)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import MetricCounter
from temporalio.exceptions import ActivityError, ApplicationError

from runtime.temporal import FAULT
from workflows.models import CooperationInput
from workflows.shell import FAULT_LENGTH


class Faults:
    def __init__(self, cooperation_id: str, start: CooperationInput) -> None:
        self._id = cooperation_id
        # The faults a run begins with: those its previous run carried, which CoopFault
        # (inherited at continue-as-new) still shows. A run of shape 2 carried none, and
        # flagged its effects only.
        self._shown = workflow.info().typed_search_attributes.get(FAULT)
        self.by_source: dict[str, str] = dict(start.faults)
        if not self.by_source and self._shown:
            self.by_source["effects"] = self._shown
        self._effects_2: str | None = None
        """Shape 2's one flag, for its effects only."""
        self.caught = False
        """Shape 3: a bug was caught in this run, which therefore continues as new as soon
        as its handlers are done (the failure and its flag usually in the same workflow
        task): a fix deployed later never replays the recorded failure, which would
        otherwise decide differently under the fixed code (a non-determinism)."""

    def flag(self, source: str, kind: str) -> None:
        """Shape 3: flag the cooperation for `source` (effects, the courier, the rules on a
        command) until it passes again; CoopFault names every source in fault."""
        _counter().add(1, {"source": source.split(":")[0]})
        self.by_source[source] = f"{source}:{kind}"
        self._show()

    def unflag(self, source: str) -> None:
        if self.by_source.pop(source, None) is not None:
            self._show()

    def effects_failed(self, error: ActivityError, shape_3: bool) -> None:
        """The effects failed past their retries: flagged until they pass."""
        cause = error.cause
        kind = cause.type if isinstance(cause, ApplicationError) and cause.type else "Error"
        workflow.logger.error(
            "effects keep failing: the cooperation is flagged and retried",
            extra={"cooperation": self._id, "error": kind, "detail": str(cause or error)},
        )
        if shape_3:
            self.flag("effects", kind)
            return
        _counter().add(1)
        fault = f"effects:{kind}"
        if fault != self._effects_2:
            self._effects_2 = fault
            workflow.upsert_search_attributes([FAULT.value_set(fault)])

    def effects_passed(self, shape_3: bool) -> None:
        if shape_3:
            if "effects" in self.by_source:
                workflow.logger.warning(
                    "effects carried out again", extra={"cooperation": self._id}
                )
                self.unflag("effects")
        elif self._effects_2 is not None:
            workflow.logger.warning("effects carried out again", extra={"cooperation": self._id})
            self._effects_2 = None
            workflow.upsert_search_attributes([FAULT.value_unset()])

    def _show(self) -> None:
        fault = " ".join(self.by_source.values())[:FAULT_LENGTH] or None
        if fault == self._shown:
            return
        self._shown = fault
        workflow.upsert_search_attributes(
            [FAULT.value_set(fault) if fault else FAULT.value_unset()]
        )


def _counter() -> MetricCounter:
    return workflow.metric_meter().create_counter(
        "coopflow_effects_faults", "Effects that failed past their retries"
    )
