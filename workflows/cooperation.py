"""The cooperation workflow: one per cooperation (`cooperation:<id>`), for years."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import EventRecord, RecordEvents
    from runtime.temporal import FACILITATOR, PHASE, PROGRAMMES
    from workflows.models import CooperationStart, CooperationView

ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


@workflow.defn(name="CooperationWorkflow")
class CooperationWorkflow:
    @workflow.init
    def __init__(self, start: CooperationStart) -> None:
        # Handlers can run before `run` (right after start or continue-as-new): state first.
        self._view = CooperationView(
            id=start.cooperation_id,
            name=start.name,
            phase=start.start_phase,
            facilitator=start.facilitator,
            programmes=list(start.programmes),
        )

    @workflow.run
    async def run(self, start: CooperationStart) -> CooperationView:
        now = workflow.now() + timedelta(seconds=start.clock_offset_seconds)
        registered = EventRecord(
            seq=1,
            type="CooperationRegistered",
            at=now,
            data={"phase": start.start_phase, "programmes": list(start.programmes)},
        )
        workflow.upsert_search_attributes(
            [
                PHASE.value_set(self._view.phase),
                PROGRAMMES.value_set(self._view.programmes),
                *(
                    [FACILITATOR.value_set(self._view.facilitator)]
                    if self._view.facilitator
                    else []
                ),
            ]
        )
        await workflow.execute_activity(
            "record_events",
            RecordEvents(
                cooperation_id=start.cooperation_id,
                events=[registered],
                summary=self._view.model_dump(mode="json"),
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=ACTIVITY_RETRY,
        )
        self._view.events = [registered]
        # The walking skeleton stops here; the lifecycle (domain reducer) drives it from now on.
        await workflow.wait_condition(lambda: self._view.closed)
        return self._view

    @workflow.query
    def state(self) -> CooperationView:
        return self._view
