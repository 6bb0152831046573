"""The forecast of a cooperation equals, to the cent and the day, what `coopflow simulate`
gives for the same trajectory through the real workflow: the assumptions the forecast
makes (check-ins on their due dates and accepted at once, approvals at the earliest, phases
left after their `expected_duration`, loans repaid on their due dates) written as scenario
steps after the cooperation's past, then run by the CLI on the time-skipping server."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain import commands as c
from domain.durations import add
from domain.forecast import forecast
from domain.forecast_trajectory import forecast_cooperation
from domain.ledger import LedgerRow
from domain.programme import ProgrammeSpec
from domain.simulation import run_scenario
from domain.state import CooperationState

pytestmark = pytest.mark.integration

COOPFLOW = Path(sys.executable).parent / "coopflow"

PROGRAMME: dict[str, Any] = {
    "id": "prevision",
    "name": "Coopérations à prévoir",
    "funder": "fondation-prevision",
    "currency": "EUR",
    "budget": "80000.00",
    "phases": {
        "emergence": {
            "check_in_every": "P1M",
            "report_every": "P3M",
            "expected_duration": "P6M",
            "tranches": [
                {"id": "amorcage", "amount": "5000.00", "purpose": "animation", "when": "entry"},
                {
                    "id": "trois-points",
                    "amount": "3000.00",
                    "purpose": "animation",
                    "when": {"accepted_check_ins": 3},
                },
            ],
        },
        "experimentation": {
            "check_in_every": "P2M",
            "expected_duration": "P1Y",
            "tranches": [
                {"id": "x-entry", "amount": "12000.00", "purpose": "investment", "when": "entry"},
                {
                    "id": "x-six-mois",
                    "amount": "6000.00",
                    "purpose": "operating",
                    "when": {"elapsed": "P6M"},
                },
                {
                    "id": "coordination",
                    "amount": "1500.00",
                    "purpose": "animation",
                    "when": {"elapsed": "P3M"},
                    "repeat": {"every": "P1Y", "times": 3},
                },
                {
                    "id": "pret",
                    "amount": "20000.00",
                    "purpose": "investment",
                    "instrument": {
                        "loan": {
                            "annual_rate": "0.01",
                            "grace": "P6M",
                            "term": "P24M",
                            "installment_every": "P6M",
                        }
                    },
                    "when": "approval",
                },
            ],
        },
        "structuring": {"check_in_every": "P3M", "tranches": []},
    },
}
COOPERATION: dict[str, Any] = {
    "id": "ruche",
    "name": "La Ruche",
    "kind": "non_modelled",
    "economic_model": "hybrid",
    "members": [{"id": "asso-ruche", "name": "Association La Ruche", "legal_form": "association"}],
    "funding_lines": ["prevision"],
}
START = "2027-01-04"
# The cooperation's past: one check-in, reviewed; the forecast starts after it.
PAST: list[dict[str, Any]] = [
    {"at": "P20D", "check_in": {"id": "ci-1"}},
    {"at": "P22D", "review": {"id": "ci-1", "decision": "accepted"}},
]
NOW = datetime(2027, 2, 19, tzinfo=UTC)
HORIZON = "P3Y"


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def as_step(at: datetime, command: c.Command) -> dict[str, Any] | None:
    """A command the forecast gave, as the scenario step that gives it."""
    match command:
        case c.SubmitCheckIn():
            return {
                "at": _at(at),
                "check_in": {"id": command.check_in_id, "period": command.period},
            }
        case c.ReviewCheckIn():
            return {"at": _at(at), "review": {"id": command.check_in_id, "decision": "accepted"}}
        case c.ApproveTranche():
            return {"at": _at(at), "approve": {"line": command.line, "tranche": command.tranche}}
        case c.RecordRepayment():
            amount = format(command.amount, "f")
            step = {"line": command.line, "tranche": command.tranche, "amount": amount}
            return {"at": _at(at), "repay": step}
        case c.Advance():
            return {"at": _at(at), "advance": {}}
        case c.Close():
            return {"at": _at(at), "close": {"outcome": command.outcome.value}}
    raise AssertionError(f"the forecast gave a command no step says: {command.kind}")


def key(row: LedgerRow) -> tuple[Any, ...]:
    return (
        row.at,
        row.line,
        row.tranche,
        row.occurrence,
        row.kind,
        row.purpose,
        row.payee,
        row.amount,
    )


@pytest.fixture(scope="module")
def past_state() -> CooperationState:
    scenario = {
        "start": START,
        "programmes": [PROGRAMME],
        "cooperation": COOPERATION,
        "steps": PAST,
        "until": _at(NOW),
    }
    state = run_scenario(scenario).state
    assert state is not None
    return state


def test_forecast_equals_simulate_to_the_cent_and_the_day(
    past_state: CooperationState, tmp_path: Path
) -> None:
    spec = ProgrammeSpec.model_validate(PROGRAMME)
    end = add(NOW, HORIZON)
    mine = CooperationState.model_validate_json(past_state.model_dump_json())
    trajectory = forecast_cooperation(mine, spec, NOW, end)
    assert trajectory is not None and trajectory.part == "accepted"

    steps = [s for at, command in trajectory.commands if (s := as_step(at, command)) is not None]
    scenario = {
        "start": START,
        "programmes": [PROGRAMME],
        "cooperation": COOPERATION,
        "steps": PAST + steps,
        "until": _at(end),
    }
    path = tmp_path / "forecast.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    done = subprocess.run(
        [str(COOPFLOW), "simulate", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    ledger = [LedgerRow.model_validate(row) for row in json.loads(done.stdout)["ledger"]]
    simulated = sorted(key(r) for r in ledger if r.at >= NOW and r.line == "prevision")
    assert sorted(key(r) for r in trajectory.rows) == simulated

    # What the assumptions make of this programme, by hand: the third accepted check-in on
    # period 3's due date, experimentation entered after P6M with its loan approved at once,
    # its installments repaid on their due dates (grace P6M, every P6M, term P24M).
    released = {
        (r.tranche, r.occurrence): (r.at.date().isoformat(), r.amount)
        for r in trajectory.rows
        if r.kind != "repayment"
    }
    assert released == {
        ("trois-points", None): ("2027-04-04", Decimal("3000.00")),
        ("x-entry", None): ("2027-07-04", Decimal("12000.00")),
        ("pret", None): ("2027-07-04", Decimal("20000.00")),
        ("coordination", None): ("2027-10-04", Decimal("1500.00")),
        ("x-six-mois", None): ("2028-01-04", Decimal("6000.00")),
        ("coordination", 1): ("2028-10-04", Decimal("1500.00")),
        ("coordination", 2): ("2029-10-04", Decimal("1500.00")),
    }
    repaid = [(r.at.date().isoformat(), r.amount) for r in trajectory.rows if r.kind == "repayment"]
    assert [day for day, _ in repaid] == ["2028-07-04", "2029-01-04", "2029-07-04"]
    assert sum(amount for _, amount in repaid) > Decimal("20000.00")  # interest on top


def test_the_figures_add_up_and_the_budget_runs_out(past_state: CooperationState) -> None:
    spec = ProgrammeSpec.model_validate(PROGRAMME)
    states = [CooperationState.model_validate_json(past_state.model_dump_json())]
    result = forecast(spec, states, NOW, HORIZON, released=Decimal("5000.00"))
    assert result.accepted.cooperations == 1 and result.proposed.cooperations == 0
    april = next(m for m in result.months if m.month == "2027-04")
    assert april.releases == {"animation": Decimal("3000.00")}
    by_year = {y.year: y for y in result.years}
    assert by_year[2027].releases == {
        "animation": Decimal("4500.00"),
        "investment": Decimal("32000.00"),
    }
    assert sum(y.repayments for y in result.years) == result.accepted.repayments
    # 5000 released before, then 3000, 32000, 1500, 6000, 1500 (48000 on 2028-10-04),
    # 1500 (49500): never above 80000 within three years.
    assert result.budget_runs_out_on is None
    smaller = spec.model_copy(update={"budget": Decimal("45000.00")})
    states = [CooperationState.model_validate_json(past_state.model_dump_json())]
    again = forecast(smaller, states, NOW, HORIZON, released=Decimal("5000.00"))
    assert again.budget_runs_out_on is not None
    assert again.budget_runs_out_on.isoformat() == "2028-01-04"  # 5000+3000+32000+1500+6000
