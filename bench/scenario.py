"""The benchmarks' cooperation: ten years of monthly check-ins and reviews, built in code.

The counts say how much Temporal work the scenario asks of the workflow (updates, timers,
activities), so the bare baseline can be made to do the same amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.client import Client

from domain.commands import Register
from domain.cooperation import CooperationSpec
from domain.programme import ProgrammeVersion
from domain.rules import RULES_VERSION
from domain.scenario import Scenario, parse_scenario
from domain.simulation import BudgetRaise, run_scenario, step_actions
from examples import sample_phase, sample_programme, sample_tranche
from store.people import nameless
from workflows.client import register

YEARS = 10
START = "2027-01-04"

PROGRAMME: dict[str, Any] = sample_programme(
    drop={"locale", "requires_lead"},
    id="bench-coop",
    name="Coopérations territoriales (bench)",
    funder="fondation-bench",
    # Enough for every cooperation the memory bench registers (each commits 95,000).
    budget="1000000000.00",
    # Monthly check-ins in every phase, no deadline in emergence, no loan.
    phases={
        "emergence": sample_phase(
            "emergence", drop={"check_in_grace", "reminder_before", "max_duration"}
        ),
        "experimentation": sample_phase(
            "experimentation",
            check_in_every="P1M",
            tranches=[
                sample_tranche("experimentation-1"),
                sample_tranche("experimentation-2"),
                sample_tranche("coordination"),
            ],
        ),
        "structuring": sample_phase("structuring", check_in_every="P1M"),
    },
)

COOPERATION: dict[str, Any] = {
    "id": "bench",
    "name": "Coopération du bench",
    "kind": "non_modelled",
    "economic_model": "hybrid",
    "members": [
        {"id": "habitants", "name": "Collectif d'habitants", "legal_form": "informal"},
        {"id": "asso", "name": "Association du quartier", "legal_form": "association"},
    ],
    "fiscal_host": "pole-107",
    "funding_lines": ["bench-coop"],
}


async def register_accepted(
    client: Client,
    cooperation_id: str,
    version: ProgrammeVersion,
    task_queue: str,
    facilitator: str | None = None,
) -> None:
    """COOPERATION under its own id, registered as the API does but with its line taken as
    accepted: the funder's decision is not what the benchmarks measure, and check-ins are
    scheduled from the start. With a `facilitator`, check-ins notify someone."""
    changes: dict[str, Any] = {"id": cooperation_id}
    if facilitator is not None:
        changes["facilitator"] = facilitator
    spec = CooperationSpec.model_validate(COOPERATION | changes)
    await register(
        client,
        Register(
            cooperation=nameless(spec),
            programmes=[version],
            lines_accepted=True,
            rules_version=RULES_VERSION,
        ),
        task_queue=task_queue,
    )


def ten_year_scenario(years: int = YEARS) -> Scenario:
    """A check-in on the 20th day of each month and its review two days later; the
    cooperation advances to experimentation after a year and to structuring after three."""
    steps: list[dict[str, Any]] = []
    for month in range(12 * years):
        check_in = f"ci-{month + 1}"
        steps.append({"at": f"P{month}M20D", "check_in": {"id": check_in}})
        steps.append({"at": f"P{month}M22D", "review": {"id": check_in, "decision": "accepted"}})
        if month in (11, 35):
            # After that month's review: the new stint's first check-in comes a month later.
            steps.append({"at": f"P{month}M25D", "advance": {}})
    return _scenario(steps, until=f"P{years}Y")


def empty_scenario() -> Scenario:
    """Registration only, ending where it starts: what any `simulate()` call costs."""
    return _scenario([], until=START)


def _scenario(steps: list[dict[str, Any]], until: str) -> Scenario:
    return parse_scenario(
        {
            "start": START,
            "programmes": [PROGRAMME],
            "cooperation": COOPERATION,
            "steps": steps,
            "until": until,
        }
    )


@dataclass(frozen=True)
class Workload:
    """What a scenario asks of Temporal, as a bare workflow would have to do it."""

    updates: list[datetime]
    """The instant of each command the steps send (an `attach` step sends two)."""
    timers: list[datetime]
    """The clock's own instants: where the workflow wakes up with no command."""

    @property
    def activities(self) -> int:
        # About one per decision that records something: each command, each clock instant.
        # (The registration's two are left out; the bare workflow does one at its start.)
        return len(self.updates) + len(self.timers)


def workload(scenario: Scenario) -> Workload:
    """Derived from the pure runner: the instants of events no step caused are timers."""
    versions = {p.id: ProgrammeVersion(version=1, spec=p) for p in scenario.programmes}
    updates = [
        step.at
        for step in scenario.steps
        for action in step_actions(scenario, step, versions)
        if not isinstance(action, BudgetRaise)
    ]
    commanded = {scenario.start, *updates}
    events = run_scenario(scenario).events
    timers = sorted({e.at for e in events if e.at not in commanded})
    return Workload(updates=updates, timers=timers)
