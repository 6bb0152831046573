"""The forecast's assumptions on the pure rules (domain.forecast): a proposed line taken as
accepted now and reported apart, a paused cooperation that stays paused, a closed one that
only repays, the horizon checked, the same figures from the same inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain import commands as c
from domain.cooperation import LineRequest
from domain.forecast import HorizonError, forecast, parse_horizon
from domain.lifecycle import decide
from domain.programme import ProgrammeSpec, ProgrammeVersion
from domain.simulation import run_scenario
from domain.state import CooperationState
from tests.integration.test_forecast_simulate import COOPERATION, PROGRAMME

START = "2027-01-04"
OTHER = PROGRAMME | {"id": "autre", "funder": "fondation-autre"}


def _state(steps: list[dict[str, Any]], until: str, lines: list[str] | None = None) -> Any:
    scenario = {
        "start": START,
        "programmes": [PROGRAMME, OTHER],
        "cooperation": COOPERATION | {"funding_lines": lines or [PROGRAMME["id"]]},
        "steps": steps,
        "until": until,
    }
    state = run_scenario(scenario).state
    assert state is not None
    return state


def _copy(state: CooperationState) -> CooperationState:
    return CooperationState.model_validate_json(state.model_dump_json())


SPEC = ProgrammeSpec.model_validate(PROGRAMME)


def test_a_proposed_line_is_taken_as_accepted_now_and_reported_apart() -> None:
    state = _state([], "P1M", lines=["autre"])
    version = ProgrammeVersion(version=1, spec=SPEC)
    proposed = decide(
        state, c.ProposeLine(line=LineRequest(programme=SPEC.id), programme=version), state.last_at
    ).state
    now = proposed.last_at
    result = forecast(SPEC, [_copy(proposed)], now, "P1Y")
    assert (result.accepted.cooperations, result.proposed.cooperations) == (0, 1)
    assert result.accepted.releases == {}
    first = result.proposed.months[0]
    assert first.releases == {"animation": Decimal("5000.00")}  # its entry tranche, now
    assert result.months[0].releases == first.releases


def test_a_paused_cooperation_stays_paused() -> None:
    state = _state([{"at": "P10D", "pause": {}}], "P1M")
    result = forecast(SPEC, [_copy(state)], state.last_at, "P3Y")
    assert result.accepted.cooperations == 1
    assert result.accepted.releases == {} and result.accepted.repayments == 0


def test_a_closed_cooperation_only_repays_its_loan() -> None:
    steps = [
        {"at": "P1M", "advance": {}},
        {"at": "P1M1D", "approve": {"line": "prevision", "tranche": "pret"}},
        {"at": "P2M", "close": {"outcome": "completed"}},
    ]
    state = _state(steps, "P2M")
    result = forecast(SPEC, [_copy(state)], state.last_at, "P3Y")
    assert result.accepted.releases == {}
    # 20000 lent at 1 %: every installment repaid on its due date, interest on top.
    assert Decimal("20000.00") < result.accepted.repayments < Decimal("20500.00")
    assert sum(1 for m in result.months if m.repayments) == 3


def test_the_same_inputs_give_the_same_figures() -> None:
    state = _state([{"at": "P20D", "check_in": {}}], "P1M")
    now = datetime(2027, 2, 10, tzinfo=UTC)
    first = forecast(SPEC, [_copy(state)], now, "P5Y")
    again = forecast(SPEC, [_copy(state)], now, "P5Y")
    assert first == again
    assert first.model_dump_json() == again.model_dump_json()


@pytest.mark.parametrize("text", ["5Y", "P0D", "PT1H", "P31Y", "P400M", ""])
def test_a_horizon_is_a_positive_duration_of_days_to_thirty_years(text: str) -> None:
    with pytest.raises(HorizonError):
        parse_horizon(text)


def test_thirty_years_is_the_longest_horizon() -> None:
    assert parse_horizon("P30Y").years == 30
