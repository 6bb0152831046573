"""Recorded histories of every released workflow shape must replay on the current code: a
change that breaks them would break live cooperations (use `workflow.patched` instead)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker.main import SANDBOX, WORKFLOWS

HISTORIES = sorted(Path(__file__).resolve().parent.glob("v*/*.json"))


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 5


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_recorded_history_replays(path: Path) -> None:
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    workflow_type = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"][
        "workflowType"
    ]["name"]
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=SANDBOX
    )
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json(f"{workflow_type}:{path.stem}", text)
    )
    assert result.replay_failure is None
