"""Temporal clients: one data converter (pydantic) everywhere, one set of search attributes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from temporalio.client import Client, Interceptor
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.service import TLSConfig

from runtime.config import Settings
from runtime.metrics import CommandMetrics

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

# Typed keys; values are ids and flags only, never personal data (they are not encrypted).
PHASE = SearchAttributeKey.for_keyword("CoopPhase")
PROGRAMMES = SearchAttributeKey.for_keyword_list("CoopProgrammes")
OVERDUE = SearchAttributeKey.for_bool("CoopOverdue")
FACILITATOR = SearchAttributeKey.for_keyword("CoopFacilitator")
# Set while a cooperation's effects keep failing ("effects:<error type>"), unset once they
# pass; from workflow shape 3 also "courier:<error type>" and "rules:<command>:<error type>",
# space-separated (docs/versioning.md). Temporal's own TemporalReportedProblems flags a
# workflow task that keeps failing.
FAULT = SearchAttributeKey.for_keyword("CoopFault")

# Temporal flags a workflow whose tasks keep failing (a bug in the rules or the shell) with
# the search attribute TemporalReportedProblems; servers leave it off unless told.
SERVER_DYNAMIC_CONFIG: dict[str, str] = {
    "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute": "2",
}

SEARCH_ATTRIBUTES: dict[str, str] = {
    PHASE.name: "Keyword",
    PROGRAMMES.name: "KeywordList",
    OVERDUE.name: "Bool",
    FACILITATOR.name: "Keyword",
    FAULT.name: "Keyword",
}


@cache
def sdk_runtime(metrics_address: str | None = None) -> Runtime:
    """The SDK's native core logs through Python logging (stderr, our format), never stdout;
    with `metrics_address`, its metrics and coopflow's are served for Prometheus there.

    An address already taken is a warning, not a failure: metrics watch the process, they
    must not stop it (two processes given the same address, say)."""
    try:
        return _runtime(metrics_address)
    except ValueError as error:  # the core's "Failed starting Prometheus exporter: …"
        if metrics_address is None:
            raise
        logging.getLogger("coopflow.metrics").warning(
            "metrics not served at %s (COOPFLOW_METRICS_ADDRESS): %s", metrics_address, error
        )
        return sdk_runtime(None)


def _runtime(metrics_address: str | None) -> Runtime:
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
            metrics=PrometheusConfig(bind_address=metrics_address) if metrics_address else None,
        )
    )


async def connect(
    settings: Settings,
    *,
    metrics_address: str | None = None,
    tls: bool | TLSConfig | None = None,
    api_key: str | None = None,
    tracing: TracerProvider | None = None,
) -> Client:
    runtime = sdk_runtime(metrics_address)
    interceptors: Sequence[Interceptor] = [CommandMetrics(runtime.metric_meter)]
    if tracing is not None:
        # Imported here: workflows import this module, and need none of OpenTelemetry.
        from runtime.tracing import tracing_interceptor

        # On the client, it reaches workers made from it too.
        interceptors = [*interceptors, tracing_interceptor(tracing)]
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        tls=tls,
        api_key=api_key,
        interceptors=interceptors,
    )


def cooperation_workflow_id(cooperation_id: str) -> str:
    return f"cooperation:{cooperation_id}"


def cooperation_id_of(workflow_id: str) -> str:
    return workflow_id.removeprefix("cooperation:")
