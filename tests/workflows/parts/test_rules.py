"""workflows/parts/rules.py: what each cached cooperation keeps of its programme."""

from __future__ import annotations

from typing import Any

from domain.state import CooperationState
from tests.domain.helpers import Shell, at, cooperation, programme, version
from workflows.parts.rules import share_programmes


def _state(spec: dict[str, Any], coop: str) -> CooperationState:
    shell = Shell(cooperation(id=coop), [version(spec)], at(2027, 1, 5))
    assert shell.state is not None
    return shell.state


def test_cooperations_on_one_programme_version_share_one_copy_of_it() -> None:
    first, second = _state(programme(), "ruche"), _state(programme(), "forge")
    assert first.lines[0].programme is not second.lines[0].programme
    share_programmes(first)
    share_programmes(second)
    assert second.lines[0].programme is first.lines[0].programme


def test_another_spec_under_the_same_id_and_version_is_kept_apart() -> None:
    first = _state(programme(), "ruche")
    other = _state(programme(name="Autre programme"), "forge")
    share_programmes(first)
    share_programmes(other)
    assert other.lines[0].programme is not first.lines[0].programme
    assert other.lines[0].programme.spec.name == "Autre programme"
    assert first.lines[0].programme.spec.name == "Prog"
