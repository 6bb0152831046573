"""The recorder builds the programmes its newest recorded histories were made from: recording a
new version changes what the workflow does, never what it is given (its programmes now read
from the sample programme, examples/)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from domain.programme import ProgrammeSpec
from tests.histories import record
from tests.workflows.scenarios import loan, multi_year

HERE = Path(__file__).resolve().parent


def _payloads(node: Any) -> list[Any]:
    """Every payload a history holds, decoded."""
    if isinstance(node, list):
        return [p for item in node for p in _payloads(item)]
    if not isinstance(node, dict):
        return []
    found = [p for value in node.values() for p in _payloads(value)]
    if "data" in node and "metadata" in node:
        found.append(json.loads(base64.b64decode(node["data"])))
    return found


def _programmes(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [p for item in node for p in _programmes(item)]
    if not isinstance(node, dict):
        return []
    here = [node] if "phases" in node and "funder" in node else []
    return here + [p for value in node.values() for p in _programmes(value)]


def _canonical(spec: ProgrammeSpec) -> str:
    return json.dumps(spec.model_dump(mode="json"), sort_keys=True)


def test_the_recorder_builds_the_programmes_of_the_newest_recordings() -> None:
    newest = max((p for p in HERE.glob("v*") if p.is_dir()), key=lambda p: int(p.name[1:]))
    recorded = {
        _canonical(ProgrammeSpec.model_validate(spec))
        for path in newest.glob("*.json")
        for spec in _programmes(_payloads(json.loads(path.read_text(encoding="utf-8"))))
    }
    built = {
        _canonical(spec)
        for spec in [
            record.GRANTS,
            record.PATIENT,
            *(ProgrammeSpec.model_validate(p) for p in multi_year()["programmes"]),
            *(ProgrammeSpec.model_validate(p) for p in loan()["programmes"]),
        ]
    }
    assert len(recorded) == 4
    assert built == recorded
