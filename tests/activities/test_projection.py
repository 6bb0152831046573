"""The effects activity's projection: the whole state it is handed is kept for the forecast
as the workflow wrote it, whether it came decoded from history or from the same process."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment

from activities.models import ApplyEffects
from activities.projection import Delivered, EffectActivities
from cli.scenario_files import load_scenario_file
from domain.simulation import run_scenario
from domain.state import CooperationState
from domain.views import summary
from tests.domain.test_conformance import OWN_VECTORS, VECTORS


def _sent(scenario: Path) -> tuple[CooperationState, ApplyEffects]:
    state = run_scenario(load_scenario_file(scenario)).state
    assert state is not None
    return state, ApplyEffects(
        cooperation_id=state.id, events=[], summary=summary(state), state=state
    )


async def _kept(pool: asyncpg.Pool, cooperation_id: str) -> str:
    async with pool.acquire() as conn:
        text: str = await conn.fetchval(
            "SELECT full_state FROM cooperations WHERE id = $1", cooperation_id
        )
    return text


@pytest.mark.parametrize(
    "scenario",
    [VECTORS / "jardin.yaml", OWN_VECTORS / "graduation-loan.yaml"],
    ids=["jardin.yaml", "graduation-loan.yaml"],
)
async def test_the_state_decoded_as_the_worker_does_is_kept_as_it_was_written(
    pool: asyncpg.Pool, scenario: Path
) -> None:
    state, request = _sent(scenario)
    # Through the data converter, as the worker hands it to the activity: its type hint says
    # how the payload is decoded (the state read as JSON, never validated again).
    converter = pydantic_data_converter.payload_converter
    (decoded,) = converter.from_payloads(converter.to_payloads([request]), [Delivered])
    assert isinstance(decoded, Delivered) and isinstance(decoded.state, dict)
    await ActivityEnvironment().run(EffectActivities(pool).apply_effects, decoded)
    kept = await _kept(pool, state.id)
    assert kept == state.model_dump_json()
    assert CooperationState.model_validate_json(kept) == state


async def test_a_state_handed_in_the_same_process_is_kept_alike(pool: asyncpg.Pool) -> None:
    state, request = _sent(VECTORS / "jardin.yaml")
    await ActivityEnvironment().run(EffectActivities(pool).apply_effects, request)
    assert await _kept(pool, state.id) == state.model_dump_json()
