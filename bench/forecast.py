"""The forecast of a programme with 1,000 live cooperations over 5 years (`domain.forecast`,
what `GET /v1/programmes/{id}/forecast` computes once their states are read), and the pure
rules' cost per cooperation-year (`bench.payloads`' three-line cooperation through
`domain.simulation.run_scenario`). Both are also measured with the rules' machinery as it
was before issue 19 (every decision and clock run copying the state through JSON, nothing
owned, due dates computed again), in the same run. Target: the forecast under 5 s of wall
time (medians), in the processes of `runtime.forecast_pool` as the endpoint computes it.

    python -m bench.forecast [--runs 3] [--cooperations 1000]
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from statistics import median
from types import ModuleType
from typing import Any

from bench import scenario
from bench.payloads import three_line_scenario
from bench.support import Report, Target, command
from domain import commands as c
from domain import durations
from domain.cooperation import LineRequest
from domain.forecast import forecast, horizon_end
from domain.lifecycle import clock, context, decide, driver
from domain.programme import ProgrammeSpec, ProgrammeVersion
from domain.simulation import run_scenario
from domain.state import CooperationState
from runtime.forecast_pool import forecast_part, forecast_texts, pool, shutdown, workers

TARGET_SECONDS = 5.0
HORIZON = "P5Y"
RULES_YEARS = 10
TODAY = datetime(2029, 1, 4, tzinfo=UTC)
"""Where `bench.payloads`' three-line cooperation is two years in: the mix's today."""

LOAN = {"annual_rate": "0.01", "grace": "P12M", "term": "P60M", "installment_every": "P3M"}
PHASES: dict[str, Any] = scenario.PROGRAMME["phases"]
PROGRAMME: dict[str, Any] = scenario.PROGRAMME | {
    # The benchmarks' programme, with the lengths of a real one and a loan on approval.
    "id": "bench-forecast",
    "name": "Coopérations territoriales (prévision)",
    "budget": "900000000.00",
    "phases": {
        "emergence": PHASES["emergence"] | {"expected_duration": "P9M"},
        "experimentation": PHASES["experimentation"]
        | {
            "check_in_every": "P2M",
            "expected_duration": "P18M",
            "tranches": [
                *PHASES["experimentation"]["tranches"],
                {
                    "id": "pret",
                    "amount": "50000.00",
                    "purpose": "investment",
                    "instrument": {"loan": LOAN},
                    "when": "approval",
                },
            ],
        },
        "structuring": {"check_in_every": "P3M", "tranches": []},
    },
}
OTHER = PROGRAMME | {"id": "bench-autre", "funder": "fondation-autre"}
MEMBERS = [{"id": "asso", "name": "Association du Bourg", "legal_form": "association"}]


def _state(months: int, start_phase: str = "emergence", **steps: Any) -> CooperationState:
    """A cooperation `months` into its life: monthly check-ins, reviewed, as the mix has."""
    plan: list[dict[str, Any]] = []
    # A check-in a period: every month in emergence, every two in experimentation.
    every = 1 if start_phase == "emergence" else 2
    for month in range(0, months, every):
        plan.append({"at": f"P{month}M20D", "check_in": {"id": f"ci-{month + 1}"}})
        plan.append(
            {"at": f"P{month}M22D", "review": {"id": f"ci-{month + 1}", "decision": "accepted"}}
        )
    plan += steps.get("extra", [])
    # Every cooperation of the mix is read as it is today (TODAY), as a live one's kept
    # state is: started as long ago as its age says.
    start = durations.subtract(TODAY, f"P{months}M25D")
    plan.sort(key=lambda step: durations.add(start, step["at"]))
    result = run_scenario(
        {
            "start": start.isoformat(),
            "programmes": [PROGRAMME, OTHER],
            "cooperation": {
                "id": "modele",
                "name": "Modèle",
                "kind": "non_modelled",
                "economic_model": "hybrid",
                "members": MEMBERS,
                "start_phase": start_phase,
                "funding_lines": steps.get("lines", [PROGRAMME["id"]]),
            },
            "steps": plan,
            "until": f"P{months}M25D",
        }
    )
    assert result.state is not None
    return result.state


def _proposed(months: int) -> CooperationState:
    """A cooperation of the other programme to which a line of this one is proposed."""
    state = _state(months, lines=[OTHER["id"]])
    version = ProgrammeVersion(version=1, spec=ProgrammeSpec.model_validate(PROGRAMME))
    command = c.ProposeLine(line=LineRequest(programme=PROGRAMME["id"]), programme=version)
    return decide(state, command, state.last_at).state


def mix() -> list[tuple[float, CooperationState]]:
    """(share, state) of the realistic mix: young and older emergences, experimentations with
    their loan, lines only proposed, three-line cooperations, paused, closed with a loan."""
    approve = {"at": "P1M", "approve": {"line": PROGRAMME["id"], "tranche": "pret"}}
    return [
        (0.20, _state(2)),
        (0.15, _state(7)),
        (0.20, _state(4, "experimentation", extra=[approve])),
        (0.10, _state(14, "experimentation", extra=[approve])),
        (0.15, _proposed(3)),
        (0.10, _three_lines()),
        (0.05, _state(5, extra=[{"at": "P5M23D", "pause": {}}])),
        (
            0.05,
            _state(
                6,
                "experimentation",
                extra=[approve, {"at": "P5M24D", "close": {"outcome": "completed"}}],
            ),
        ),
    ]


def _three_lines() -> CooperationState:
    """`bench.payloads`' cooperation of three programmes, two years in, with this one's line."""
    state = run_scenario(three_line_scenario(2)).state
    assert state is not None
    # Its payee is a fiscal host, who never borrows: this programme's version without loan.
    grants = dict(PROGRAMME["phases"]["experimentation"])
    grants["tranches"] = [t for t in grants["tranches"] if "instrument" not in t]
    spec = ProgrammeSpec.model_validate(
        PROGRAMME | {"phases": PROGRAMME["phases"] | {"experimentation": grants}}
    )
    version = ProgrammeVersion(version=1, spec=spec)
    command = c.ProposeLine(line=LineRequest(programme=spec.id), programme=version)
    proposed = decide(state, command, state.last_at).state
    accepted = decide(proposed, c.AcceptLine(line=spec.id), proposed.last_at).state
    return decide(accepted, c.CommitmentCommitted(line=spec.id), accepted.last_at).state


def documents(count: int) -> list[str]:
    """`count` states as PostgreSQL keeps them (JSON text), each its own id."""
    kinds = mix()
    out: list[str] = []
    for share, state in kinds:
        for i in range(round(share * count)):
            out.append(
                state.model_copy(update={"id": f"{state.id}-{len(out)}-{i}"}).model_dump_json()
            )
    return out[:count]


def time_forecast(
    spec: ProgrammeSpec, texts: list[str], now: datetime, parts: int = 1
) -> tuple[float, Any]:
    """Reading the states (as the endpoint does) and the forecast, in wall seconds: in
    `parts` processes of the pool (`runtime.forecast_pool`, as the endpoint), or in this one."""
    began = time.perf_counter()
    if parts > 1:
        result = forecast_texts(spec, texts, now, HORIZON, parts=parts)
    else:
        states = [CooperationState.model_validate_json(t) for t in texts]
        result = forecast(spec, states, now, HORIZON)
    return time.perf_counter() - began, result


def time_rules() -> float:
    """Seconds of CPU per cooperation-year of the pure rules."""
    scenario = three_line_scenario(RULES_YEARS)
    began = time.process_time()
    run_scenario(scenario)
    return (time.process_time() - began) / RULES_YEARS


def _json_copy(state: CooperationState) -> CooperationState:
    return CooperationState.model_validate_json(state.model_dump_json())


@contextmanager
def machinery_before() -> Iterator[None]:
    """The rules' machinery as it was: a JSON copy at every decision and clock run, no state
    owned by its driver, due dates computed anew (bisected periods stay)."""
    # clock and driver hold context's copy_state under the same name: each is patched.
    saved: list[tuple[ModuleType, str, Any]] = [
        *((module, "copy_state", context.copy_state) for module in (context, clock, driver)),
        (durations, "_add", durations._add),
    ]
    before = {"copy_state": _json_copy, "_add": durations._add.__wrapped__}
    init: Callable[..., None] = driver.Driver.__init__

    def not_owned(self: driver.Driver, state: CooperationState | None = None, **_: Any) -> None:
        init(self, state, owned=False)

    for module, name, _ in saved:
        setattr(module, name, before[name])
    driver.Driver.__init__ = not_owned  # type: ignore[method-assign]
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        driver.Driver.__init__ = init  # type: ignore[method-assign]


def run(runs: int = 3, cooperations: int = 1000, before_share: int = 10) -> Report:
    spec = ProgrammeSpec.model_validate(PROGRAMME)
    texts = documents(cooperations)
    now = max(CooperationState.model_validate_json(t).last_at for t in texts)
    parts = workers()
    # Wall time counts what else runs: the load says how idle the machine was.
    load = os.getloadavg()[0]
    # The pool is the API process's, made at its first forecast and kept: its start is
    # measured apart, the forecasts after it on the warm pool.
    began = time.perf_counter()
    pool()
    time_forecast(spec, texts, now, parts)
    started = time.perf_counter() - began
    try:
        after = [time_forecast(spec, texts, now, parts) for _ in range(runs)]
    finally:
        shutdown()
    forecast_after = median(t for t, _ in after)
    single: list[tuple[float, Any]] = []
    single_cpu: list[float] = []
    for _ in range(max(1, runs // 2)):
        cpu = time.process_time()
        single.append(time_forecast(spec, texts, now))
        single_cpu.append(time.process_time() - cpu)
    forecast_single = median(t for t, _ in single)
    # Each part's CPU time, computed here one after the other: what the pool's wall time is
    # on an idle machine (the largest part), whatever else runs during this bench.
    end = horizon_end(now, HORIZON)
    part_cpu: list[float] = []
    for k in range(parts):
        cpu = time.process_time()
        forecast_part(spec, texts[k::parts], now, end)
        part_cpu.append(time.process_time() - cpu)
    rules_after = median(time_rules() for _ in range(runs))
    # Before: a tenth of the cooperations (the whole would take minutes), scaled up; in one
    # process, as it was (the machinery patched here is this process's).
    subset = texts[:: max(1, before_share)]
    with machinery_before():
        before = [time_forecast(spec, subset, now) for _ in range(max(1, runs // 2))]
        rules_before = median(time_rules() for _ in range(max(1, runs // 2)))
    forecast_before = median(t for t, _ in before) * len(texts) / len(subset)
    result = after[0][1]
    assert all(r == result for _, r in after + single), "the forecast is deterministic"
    years = result.years
    lines = [
        f"{len(texts)} cooperations ({result.accepted.cooperations} with an accepted line, "
        f"{result.proposed.cooperations} proposed), horizon {HORIZON}, medians of {runs} runs "
        f"(wall time, {os.cpu_count()} cores, load average {load:.1f} at the start)",
        f"forecast, before: {forecast_before:.2f} s (one process, measured on {len(subset)}, "
        "scaled up)",
        f"forecast, now, one process: {forecast_single:.2f} s (CPU {median(single_cpu):.2f} s) "
        f"({1000 * forecast_single / len(texts) / 5:.2f} ms per cooperation-year)",
        f"forecast, now, {parts} processes: {forecast_after:.2f} s "
        f"(the pool's start and first forecast: {started:.2f} s; the parts' CPU time: "
        + ", ".join(f"{t:.2f} s" for t in part_cpu)
        + ")",
        f"pure rules per cooperation-year (three lines, {RULES_YEARS} years, CPU): "
        f"before {1000 * rules_before:.1f} ms, now {1000 * rules_after:.1f} ms",
        "releases by year: " + ", ".join(f"{y.year}: {sum(y.releases.values())}" for y in years),
        f"budget runs out on: {result.budget_runs_out_on}",
    ]
    return Report(
        name="forecast",
        title="The forecast of 1,000 cooperations over 5 years",
        lines=lines,
        targets=[Target("forecast of 1,000 cooperations", forecast_after, TARGET_SECONDS, " s")],
        figures=[
            ("forecast before", f"{forecast_before:.2f} s"),
            ("forecast, one process", f"{forecast_single:.2f} s"),
            ("rules per coop-year", f"{1000 * rules_after:.1f} ms (was {1000 * rules_before:.1f})"),
        ],
    )


if __name__ == "__main__":
    sys.exit(command(run, runs="runs of the forecast", cooperations="live cooperations forecast"))
