"""The sample programme (examples/programme-coop-2027.yaml, DESIGN.md's), as a mapping to
post or to change. The one sample every reader takes: the API's example body, the demo, the
tests. It ships as package data, so the image's API shows it too; the other files here are
examples to read, not shipped."""

from __future__ import annotations

import copy
from collections.abc import Collection
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

SAMPLE_PROGRAMME = files(__name__) / "programme-coop-2027.yaml"


@cache
def _sample() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SAMPLE_PROGRAMME.read_text(encoding="utf-8"))
    return loaded


def sample_programme(*, drop: Collection[str] = (), **changes: Any) -> dict[str, Any]:
    """A fresh copy of the sample programme without its fields in `drop`, its top-level fields
    replaced by `changes`."""
    kept = {k: v for k, v in _sample().items() if k not in drop}
    return copy.deepcopy(kept) | changes


def sample_phase(name: str, *, drop: Collection[str] = (), **changes: Any) -> dict[str, Any]:
    """A fresh copy of the sample's phase `name` without its fields in `drop`, its fields
    replaced by `changes` (`tranches=[...]`: its own tranches, `sample_tranche`'s or new)."""
    kept = {k: v for k, v in _sample()["phases"][name].items() if k not in drop}
    return copy.deepcopy(kept) | changes


def sample_tranche(tranche_id: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of the sample's tranche `tranche_id` (ids are unique across its phases),
    its fields replaced by `changes`."""
    tranches: list[dict[str, Any]] = [
        t for phase in _sample()["phases"].values() for t in phase["tranches"]
    ]
    for tranche in tranches:
        if tranche["id"] == tranche_id:
            return copy.deepcopy(tranche) | changes
    raise KeyError(tranche_id)
