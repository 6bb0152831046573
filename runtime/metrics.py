"""coopflow's own metrics, through the Temporal SDK's meter: they are served for Prometheus
with the SDK's at each process's `COOPFLOW_METRICS_ADDRESS` (see `runtime.temporal.sdk_runtime`).

Every name starts with `coopflow_`; labels carry kinds only, never ids or personal data, so
their number stays bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.api.failure.v1 import Failure
from temporalio.api.update.v1 import Outcome
from temporalio.client import (
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError

# The cooperation workflow's one update: every command goes through it.
COMMAND_UPDATE = "apply"


class CommandMetrics(Interceptor):
    """Counts the commands a client sends and their outcome: applied, or refused by kind
    (Conflict, Forbidden, InvalidInput, InternalError, as `workflows.client.CommandRefused`).

    A client interceptor, so that one place sees every command — registrations (update with
    start) and the others alike — whichever route or tool sends it. Refusals that never
    reach Temporal are not seen here: a registration the API's own look at the rules refuses
    before starting a workflow, and a command to a cooperation whose workflow has ended
    (answered from its last state)."""

    def __init__(self, meter: MetricMeter) -> None:
        self.applied = meter.create_counter(
            "coopflow_commands_applied", "Commands the rules applied, by command"
        )
        self.refused = meter.create_counter(
            "coopflow_commands_refused", "Commands refused, by command and refusal"
        )

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _CountingOutbound(next, self)

    async def count(
        self, args: Sequence[Any], stage: WorkflowUpdateStage, handle: WorkflowUpdateHandle[Any]
    ) -> None:
        if stage != WorkflowUpdateStage.COMPLETED:
            return  # the outcome is not known yet; no caller in coopflow does this
        command = getattr(getattr(args[0] if args else None, "command", None), "kind", None)
        attributes = {"command": str(command or "unknown")}
        outcome = _outcome(handle)
        if outcome is not None:
            if outcome.HasField("failure"):
                self.refused.add(1, attributes | {"refusal": _refusal(outcome.failure)})
            else:
                self.applied.add(1, attributes)
            return
        try:
            # Known already at this stage: no call to the server.
            await handle.result()
        except WorkflowUpdateFailedError as failure:
            cause = failure.cause
            refusal = "InternalError"
            if isinstance(cause, ApplicationError):
                refusal = cause.type or "Conflict"
            self.refused.add(1, attributes | {"refusal": refusal})
        except Exception:
            return  # no outcome (a timeout, the server away): neither applied nor refused
        else:
            self.applied.add(1, attributes)


def _outcome(handle: WorkflowUpdateHandle[Any]) -> Outcome | None:
    """The outcome the handle holds, read without decoding it: the caller decodes the answer
    (a summary of the whole cooperation) once, and `result()` here would decode it a second
    time. None where this SDK keeps it elsewhere: `result()` then says."""
    outcome = getattr(handle, "_known_outcome", None)
    return outcome if isinstance(outcome, Outcome) else None


def _refusal(failure: Failure) -> str:
    """As `workflows.client.CommandRefused` names it: the ApplicationError's type (Conflict
    when it has none), InternalError for any other failure."""
    if failure.HasField("application_failure_info"):
        return failure.application_failure_info.type or "Conflict"
    return "InternalError"


class _CountingOutbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, root: CommandMetrics) -> None:
        super().__init__(next)
        self._root = root

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        handle = await super().start_workflow_update(input)
        if input.update == COMMAND_UPDATE:
            await self._root.count(input.args, input.wait_for_stage, handle)
        return handle

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        handle = await super().start_update_with_start_workflow(input)
        update = input.update_workflow_input
        if update.update == COMMAND_UPDATE:
            await self._root.count(update.args, update.wait_for_stage, handle)
        return handle


class DeliveryMetrics:
    """Webhook deliveries and e-mails that failed an attempt, and those given up, by channel
    (`webhook`, `email`): a receiver or an SMTP server down shows as failures rising."""

    def __init__(self, meter: MetricMeter | None = None) -> None:
        meter = meter or MetricMeter.noop
        self._failures = meter.create_counter(
            "coopflow_delivery_failures", "Delivery attempts that failed, by channel"
        )
        self._given_up = meter.create_counter(
            "coopflow_delivery_given_up", "Deliveries given up after their retries, by channel"
        )

    def failed(self, channel: str, *, given_up: bool) -> None:
        self._failures.add(1, {"channel": channel})
        if given_up:
            self._given_up.add(1, {"channel": channel})
