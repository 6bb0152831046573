"""The sample programme (examples/programme-coop-2027.yaml, DESIGN.md's), as a mapping to
post or to change: read from the source tree, where `make run`, the tests and the benchmarks
run (the image ships no examples)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SAMPLE_PROGRAMME = Path(__file__).resolve().parent.parent / "examples" / "programme-coop-2027.yaml"


@cache
def _sample() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
    return loaded


def sample_programme(**changes: Any) -> dict[str, Any]:
    """A fresh copy of the sample programme, its top-level fields replaced by `changes`."""
    return copy.deepcopy(_sample()) | changes
