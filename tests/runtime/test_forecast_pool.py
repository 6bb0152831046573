"""The forecast in the pool's processes (runtime.forecast_pool) gives the forecast of one
process to the cent and the day, whatever the split; few cooperations start no pool."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from bench.forecast import PROGRAMME, documents
from domain.forecast import forecast
from domain.programme import ProgrammeSpec
from domain.state import CooperationState
from runtime import forecast_pool

SPEC = ProgrammeSpec.model_validate(PROGRAMME)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    # Every kind of the bench's mix (young and older, loans, proposed, paused, closed),
    # enough of them for the pool.
    return documents(2 * forecast_pool.PARALLEL_FROM)


@pytest.fixture(scope="module")
def executor() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(max_workers=2) as pool:
        yield pool


def _one_process(texts: list[str]) -> str:
    states = [CooperationState.model_validate_json(t) for t in texts]
    now = max(s.last_at for s in states)
    return forecast(SPEC, states, now, "P5Y").model_dump_json()


@pytest.mark.parametrize("parts", [2, 3])
def test_the_pool_gives_the_forecast_of_one_process(
    texts: list[str], executor: ProcessPoolExecutor, parts: int
) -> None:
    now = max(CooperationState.model_validate_json(t).last_at for t in texts)
    result = forecast_pool.forecast_texts(SPEC, texts, now, "P5Y", executor=executor, parts=parts)
    assert result.model_dump_json() == _one_process(texts)
    assert result.accepted.cooperations + result.proposed.cooperations == len(texts)
    assert sum(y.repayments for y in result.years) > 0


def test_few_cooperations_start_no_pool(texts: list[str]) -> None:
    few = texts[: forecast_pool.PARALLEL_FROM - 1]
    forecast_pool.shutdown()
    now = max(CooperationState.model_validate_json(t).last_at for t in few)
    result = forecast_pool.forecast_texts(SPEC, few, now, "P5Y")
    assert not forecast_pool.started()
    assert result.model_dump_json() == _one_process(few)
