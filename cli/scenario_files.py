"""Scenario files: a scenario YAML (or JSON) file and the programme files it names, read and
handed to the pure `domain.scenario.parse_scenario`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from domain.scenario import Scenario, ScenarioError, parse_scenario


def load_scenario_file(path: str | Path) -> Scenario:
    """The scenario in `path`; its programmes named by paths are read relative to it.

    A file that cannot be read or parsed is a ScenarioError naming it.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(None, f"cannot read {path}: {exc}") from None
    return parse_scenario(_with_programmes_read(raw, path.resolve().parent))


def _with_programmes_read(raw: Any, base: Path) -> Any:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("programmes"), list):
        return raw  # parse_scenario says what is wrong
    return {
        **raw,
        "programmes": [_programme(i, item, base) for i, item in enumerate(raw["programmes"])],
    }


def _programme(index: int, item: Any, base: Path) -> Any:
    """A programme given inline, or the content of the file it names."""
    if not isinstance(item, str):
        return item
    try:
        return yaml.safe_load((base / item).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(None, f"programmes[{index}]: cannot read {item}: {exc}") from None
