"""The forecast on the machine's cores: the cooperations' states (JSON text, as PostgreSQL
keeps them) split into parts, each forecast in its own process, the outcomes put back in
their order and assembled (`domain.forecast.assemble`: Decimal sums, exact whatever the
split). Few cooperations are forecast in the caller's process: a pool would cost more than
it saves (bench/forecast.py measures both).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime
from decimal import Decimal

from domain.forecast import (
    ZERO,
    CooperationOutcome,
    Forecast,
    assemble,
    forecast_outcomes,
    horizon_end,
)
from domain.programme import ProgrammeSpec
from domain.state import CooperationState

PARALLEL_FROM = 50
"""Fewer cooperations than this are forecast in the caller's process."""

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def pool() -> ProcessPoolExecutor:
    """The process's pool, made at its first use and kept: its processes' start (the
    imports) is paid once. `spawn`, not `fork`: the API's process runs threads and an event
    loop, which a fork would copy mid-step."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=workers(), mp_context=multiprocessing.get_context("spawn")
            )
        return _pool


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


def started() -> bool:
    """Whether the pool's processes are up (they start with the first large forecast)."""
    return _pool is not None


def forecast_part(
    programme: ProgrammeSpec, texts: Sequence[str], now: datetime, end: datetime
) -> list[CooperationOutcome]:
    """One part's outcomes, its states read from their text where they are forecast."""
    states = [CooperationState.model_validate_json(t) for t in texts]
    return forecast_outcomes(programme, states, now, end)


def forecast_texts(
    programme: ProgrammeSpec,
    texts: Sequence[str],
    now: datetime,
    horizon: str,
    released: Decimal = ZERO,
    executor: Executor | None = None,
    parts: int | None = None,
) -> Forecast:
    """`domain.forecast.forecast` of the states `texts`, in `parts` processes of `executor`
    (the process's pool by default) from PARALLEL_FROM cooperations on."""
    end = horizon_end(now, horizon)
    count = parts or workers()
    if len(texts) < PARALLEL_FROM or count < 2:
        here = forecast_part(programme, texts, now, end)
        return assemble(programme, here, now, horizon=horizon, released=released)
    runner = executor or pool()
    # Interleaved, not halves: cooperations of a kind come together, and kinds differ in cost.
    futures = [
        runner.submit(forecast_part, programme, list(texts[k::count]), now, end)
        for k in range(count)
    ]
    results = [f.result() for f in futures]
    outcomes: list[CooperationOutcome] = [None] * len(texts)  # type: ignore[list-item]
    for k, result in enumerate(results):
        outcomes[k::count] = result
    return assemble(programme, outcomes, now, horizon=horizon, released=released)
