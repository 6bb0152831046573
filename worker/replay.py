"""The drift check: a recorded history replayed with the production worker configuration
must make the same commands (Temporal's own check) and, beyond what Temporal compares, the
same decisions: every `apply_effects` input it produces — the events and effects of each
decision — must equal the one in the history. A change to the rules that would decide a
past instant differently fails here, naming the first event that differs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from activities.models import ApplyEffects
from worker.main import SANDBOX, WORKFLOWS

EFFECTS_ACTIVITY = "apply_effects"


class Drift(AssertionError):
    """The replay decided differently from the history."""


@dataclass
class _Capture(Interceptor):
    """Collects the inputs of the effects activities the replayed workflow schedules."""

    inputs: list[Any] = field(default_factory=list)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        # The class is handed into the sandbox as it is: its closure reaches `inputs`.
        inputs = self.inputs

        class _Outbound(WorkflowOutboundInterceptor):
            def start_activity(self, input: StartActivityInput) -> Any:
                if input.activity == EFFECTS_ACTIVITY:
                    inputs.append(input.args[0])
                return super().start_activity(input)

        class _Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(_Outbound(outbound))

        return _Inbound


async def check_history(history: WorkflowHistory) -> int:
    """Replay `history` and compare its decisions; returns how many were compared.

    Raises Drift naming the first difference (or Temporal's non-determinism error).
    """
    capture = _Capture()
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=SANDBOX,
        interceptors=[capture],
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    recorded = await recorded_effects(history)
    replayed: list[ApplyEffects] = capture.inputs
    # The first decision that differs says more than the failure it may have led to.
    for number, (then, now) in enumerate(zip(recorded, replayed, strict=False), start=1):
        difference = first_difference(then, now)
        if difference:
            raise Drift(f"{history.workflow_id}: decision {number}: {difference}")
    if result.replay_failure is not None:
        raise Drift(f"{history.workflow_id}: the replay failed: {result.replay_failure}")
    if len(recorded) != len(replayed):
        raise Drift(
            f"{history.workflow_id}: {len(recorded)} decisions recorded, {len(replayed)} replayed"
        )
    return len(recorded)


async def recorded_effects(history: WorkflowHistory) -> list[ApplyEffects]:
    found: list[ApplyEffects] = []
    for event in history.events:
        if not event.HasField("activity_task_scheduled_event_attributes"):
            continue
        scheduled = event.activity_task_scheduled_event_attributes
        if scheduled.activity_type.name != EFFECTS_ACTIVITY:
            continue
        (value,) = await pydantic_data_converter.decode(scheduled.input.payloads, [ApplyEffects])
        found.append(value)
    return found


def first_difference(recorded: ApplyEffects, replayed: ApplyEffects) -> str | None:
    """The first event (by seq), else the first effect, that differs; None when equal. The
    read model's summary is a view, not a decision: it is not compared."""
    then = _events(recorded.events)
    now = _events(replayed.events)
    for seq in sorted(set(then) | set(now)):
        if then.get(seq) != now.get(seq):
            name = (then.get(seq) or now.get(seq) or {}).get("type")
            return (
                f"event {seq} ({name}) differs: recorded {_show(then.get(seq))}, "
                f"replayed {_show(now.get(seq))}"
            )
    effects_then = _dump(recorded.effects)
    effects_now = _dump(replayed.effects)
    for index in range(max(len(effects_then), len(effects_now))):
        a = effects_then[index] if index < len(effects_then) else None
        b = effects_now[index] if index < len(effects_now) else None
        if a != b:
            name = (a or b or {}).get("type")
            return f"effect {index + 1} ({name}) differs: recorded {_show(a)}, replayed {_show(b)}"
    return None


def _events(events: Sequence[Any]) -> dict[int, dict[str, Any]]:
    return {item["seq"]: item for item in _dump(events)}


def _dump(items: Sequence[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True) for item in items]


def _show(value: Any) -> str:
    return "nothing" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
