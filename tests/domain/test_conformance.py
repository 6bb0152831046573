"""The shared conformance example jardin.yaml, every expectation of jardin.expected.yaml."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.scenario_files import load_scenario_file
from domain.simulation import SimulationResult, run_scenario
from tests.domain.helpers import dates, of_type

_SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
# The shared files are the reference; the copies let a clone without shared/ beside it run
# them (refresh them when the shared files change).
_COPY = Path(__file__).resolve().parent / "vectors"
VECTORS = _SHARED if (_SHARED / "jardin.yaml").is_file() else _COPY
# Vectors written here (graduation*.yaml) have no shared original: always read them here.
OWN_VECTORS = _COPY


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    return run_scenario(load_scenario_file(VECTORS / "jardin.yaml"))


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (VECTORS / "jardin.expected.yaml").read_text(encoding="utf-8")
    )
    return loaded


def _iso(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else value


def test_jardin_releases(result: SimulationResult, expected: dict[str, Any]) -> None:
    got = [
        [e.data["line"], e.data["tranche"], e.at.date().isoformat(), e.data["amount"]]
        for e in of_type(result.events, "TrancheReleased")
    ]
    assert got == [[line, t, _iso(d), amount] for line, t, d, amount in expected["releases"]]
    ledger = [[r.line, r.tranche, r.at.date().isoformat(), str(r.amount)] for r in result.ledger]
    assert ledger == got


def test_jardin_payee(result: SimulationResult, expected: dict[str, Any]) -> None:
    assert {row.payee for row in result.ledger} == {expected["payee"]}
    assert {row.beneficiary for row in result.ledger} == {"jardin"}
    assert all(row.kind == "release" for row in result.ledger)


def test_jardin_committed_and_freed(result: SimulationResult, expected: dict[str, Any]) -> None:
    (attached,) = of_type(result.events, "FundingLineAttached")
    assert attached.data["amount"] == expected["committed"]
    if result.state is not None:  # the reducer's run also exposes its final state
        assert result.state.lines[0].committed == Decimal(expected["committed"])
    freed_on, freed = expected["freed_at_close"]
    (released,) = of_type(result.events, "CommitmentReleased")
    assert [released.at.date(), released.data["amount"]] == [freed_on, freed]


def test_jardin_check_ins(result: SimulationResult, expected: dict[str, Any]) -> None:
    got = [[e.at.date(), e.data["period"]] for e in of_type(result.events, "CheckInSubmitted")]
    assert got == expected["check_ins"]


def test_jardin_phase_entered(result: SimulationResult, expected: dict[str, Any]) -> None:
    got = [[e.data["phase"], e.at.date()] for e in of_type(result.events, "PhaseEntered")]
    assert got == expected["phase_entered"]


def test_jardin_reminders_and_overdues(result: SimulationResult, expected: dict[str, Any]) -> None:
    assert dates(result.events, "CheckInReminderSent") == [
        _iso(d) for d in expected["check_in_reminders"]
    ]
    assert dates(result.events, "CheckInOverdue") == [_iso(d) for d in expected["check_in_overdue"]]


def test_jardin_moves(result: SimulationResult, expected: dict[str, Any]) -> None:
    for event_type, key in [
        ("Paused", "paused"),
        ("Resumed", "resumed"),
        ("Restarted", "restarted"),
        ("Closed", "closed"),
    ]:
        assert dates(result.events, event_type) == [_iso(d) for d in expected[key]], key


def test_jardin_close_stops_the_clock(result: SimulationResult) -> None:
    closed = of_type(result.events, "Closed")[0]
    assert result.events[-1] == closed
    assert [e.seq for e in result.events] == list(range(1, len(result.events) + 1))


def test_jardin_output_shape(result: SimulationResult) -> None:
    out = result.to_json()
    assert set(out) == {"events", "ledger"}
    assert out["events"][0]["at"] == "2027-05-31T00:00:00Z"
    assert out["ledger"][0] == {
        "line": "jardin-prog",
        "tranche": "t-entry",
        "amount": "3000.00",
        "currency": "EUR",
        "purpose": "animation",
        "kind": "release",
        "payee": "centre-social",
        "beneficiary": "jardin",
        "at": "2027-05-31T00:00:00Z",
    }
