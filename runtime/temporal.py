"""Temporal clients: one data converter (pydantic) everywhere, one set of search attributes."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter

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


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


def cooperation_workflow_id(cooperation_id: str) -> str:
    return f"cooperation:{cooperation_id}"
