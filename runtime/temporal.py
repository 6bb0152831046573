"""Temporal clients: one data converter (pydantic) everywhere, one set of search attributes."""

from __future__ import annotations

import logging
from functools import lru_cache

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from runtime.config import Settings

# Typed keys; values are ids and flags only, never personal data (they are not encrypted).
PHASE = SearchAttributeKey.for_keyword("CoopPhase")
PROGRAMMES = SearchAttributeKey.for_keyword_list("CoopProgrammes")
OVERDUE = SearchAttributeKey.for_bool("CoopOverdue")
FACILITATOR = SearchAttributeKey.for_keyword("CoopFacilitator")

SEARCH_ATTRIBUTES: dict[str, str] = {
    PHASE.name: "Keyword",
    PROGRAMMES.name: "KeywordList",
    OVERDUE.name: "Bool",
    FACILITATOR.name: "Keyword",
}


@lru_cache(maxsize=1)
def sdk_runtime() -> Runtime:
    """The SDK's native core logs through Python logging (stderr, our format), never stdout."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            )
        )
    )


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=sdk_runtime(),
    )


def cooperation_workflow_id(cooperation_id: str) -> str:
    return f"cooperation:{cooperation_id}"
