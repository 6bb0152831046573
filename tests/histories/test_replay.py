"""Recorded histories of every released workflow shape must replay on the current code with
the same decisions: a change that breaks them would change what live cooperations decide
(gate it on the rules version, or behind `workflow.patched`)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

import domain.lifecycle.releases as releases
from domain.state import CooperationState, Line
from worker.main import SANDBOX, WORKFLOWS
from worker.replay import Drift, check_history

HERE = Path(__file__).resolve().parent
HISTORIES = sorted(HERE.glob("v*/*.json"))


def _load(path: Path) -> WorkflowHistory:
    text = path.read_text(encoding="utf-8")
    workflow_type = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"][
        "workflowType"
    ]["name"]
    return WorkflowHistory.from_json(f"{workflow_type}:{path.parent.name}/{path.stem}", text)


def test_histories_of_each_shape_are_recorded() -> None:
    versions = {p.parent.name for p in HISTORIES}
    assert {"v1", "v2", "v3", "v4"} <= versions
    for version in ("v2", "v3", "v4"):
        assert len([p for p in HISTORIES if p.parent.name == version]) >= 4
    # v2 and v3 are shape 2 (runs started before coopflow-shape-3), v4 is shape 3.
    assert "coopflow-shape-3" not in _patches(HERE / "v3" / "production-run1.json")
    assert {"coopflow-shape-2", "coopflow-shape-3"} <= _patches(
        HERE / "v4" / "production-run1.json"
    )


def _patches(path: Path) -> set[str]:
    found = set()
    for event in json.loads(path.read_text(encoding="utf-8"))["events"]:
        marker = event.get("markerRecordedEventAttributes")
        for detail in (marker or {}).get("details", {}).values():
            for payload in detail.get("payloads", []):
                found.add(json.loads(base64.b64decode(payload["data"]))["id"])
    return found


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_recorded_history_replays_with_the_same_decisions(path: Path) -> None:
    history = await asyncio.to_thread(_load, path)
    compared = await check_history(history)
    if history.events[0].workflow_execution_started_event_attributes.workflow_type.name == (
        "CooperationWorkflow"
    ):
        assert compared > 0


async def test_a_rule_that_decides_the_past_differently_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A changed rule 3 without a rules version: one accepted check-in fewer counts, so the
    # tranche released at the second acceptance is not. The workflow issues the same
    # commands (Temporal's own replay check passes), but it decides the past differently.
    history = await asyncio.to_thread(_load, HERE / "v2" / "production-run1.json")
    counted = releases.accepted_since_attachment

    def one_fewer(state: CooperationState, line: Line) -> int:
        return counted(state, line) - 1

    monkeypatch.setattr(releases, "accepted_since_attachment", one_fewer)
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=SANDBOX
    )
    assert (await replayer.replay_workflow(history)).replay_failure is None
    with pytest.raises(
        Drift,
        match=r"event \d+ \(TrancheReleased\) differs: recorded .*"
        r"emergence-2.*replayed nothing",
    ):
        await check_history(history)
