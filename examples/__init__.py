"""The sample programme (examples/programme-coop-2027.yaml, DESIGN.md's), as a mapping to
post or to change. The one sample every reader takes: the API's example body, the demo, the
tests. It ships as package data, so the image's API shows it too; the other files here are
examples to read, not shipped."""

from __future__ import annotations

import copy
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

SAMPLE_PROGRAMME = files(__name__) / "programme-coop-2027.yaml"


@cache
def _sample() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
    return loaded


def sample_programme(**changes: Any) -> dict[str, Any]:
    """A fresh copy of the sample programme, its top-level fields replaced by `changes`."""
    return copy.deepcopy(_sample()) | changes
