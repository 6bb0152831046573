"""Random scenarios through the real workflow must record exactly what the pure reducer
decides: same events, same dates, same ledger. Seeds are fixed so a failure reproduces."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from cli.simulate import simulate
from domain.errors import DomainError
from domain.scenario import ScenarioError, parse_scenario
from domain.simulation import run_scenario
from tests.workflows.scenarios import multi_year

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACTIONS = ["check_in", "review", "pause", "resume", "pivot", "advance", "restart", "request"]


def random_scenario(seed: int) -> dict[str, Any]:
    """Up to two years of random steps, several at the same instant, only steps the rules
    accept (checked with the reducer as they are drawn)."""
    rng = random.Random(seed)
    raw = multi_year()
    raw["steps"] = []
    raw["until"] = "P30M"
    day = date(2027, 1, 31)
    check_ins = 0
    for _ in range(40):
        day += timedelta(days=rng.choice([0, 0, 1, 3, 9, 17, 30]))
        action = rng.choice(ACTIONS)
        step: dict[str, Any] = {"at": day.isoformat()}
        match action:
            case "check_in":
                step["check_in"] = {"id": f"ci-{check_ins + 1}"}
            case "review":
                step["review"] = {
                    "id": f"ci-{rng.randint(1, max(check_ins, 1))}",
                    "decision": rng.choice(["accepted", "accepted", "changes_requested"]),
                }
            case "pivot":
                step["pivot"] = {"objectives": "autre cap", "reason": "terrain"}
            case "restart":
                step["restart"] = {"reason": "nouveau départ"}
            case "request":
                step["request"] = {"action": "pause", "reason": "été"}
            case _:
                step[action] = {}
        candidate = {**raw, "steps": [*raw["steps"], step], "until": day.isoformat()}
        try:
            run_scenario(parse_scenario(candidate))
        except (ScenarioError, DomainError):
            continue
        raw["steps"].append(step)
        check_ins += action == "check_in"
    return raw


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_scenarios_agree_with_the_reducer(seed: int, postgres_server_url: str) -> None:
    raw = random_scenario(seed)
    assert len(raw["steps"]) >= 10
    scenario = parse_scenario(raw)
    result = await simulate(scenario, database_server=postgres_server_url)
    assert result.to_json() == run_scenario(scenario).to_json()
