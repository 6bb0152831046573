"""Builders shared by the lifecycle tests: programmes, cooperations, a tiny shell."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain import commands as c
from domain.cooperation import CooperationSpec
from domain.effects import Effect
from domain.events import Event
from domain.lifecycle import decide, next_wakeup, tick
from domain.programme import ProgrammeSpec, ProgrammeVersion
from domain.simulation import SimulationResult, run_scenario
from domain.state import CooperationState


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def programme(
    pid: str = "prog",
    phases: dict[str, Any] | None = None,
    funder: str = "fondation",
    budget: str = "1000000.00",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": pid,
        "name": pid.title(),
        "funder": funder,
        "currency": "EUR",
        "budget": budget,
        **extra,
        "phases": phases
        or {
            "emergence": {
                "check_in_every": "P1M",
                "tranches": [
                    {"id": "entry", "amount": "1000.00", "purpose": "animation", "when": "entry"}
                ],
            }
        },
    }


def version(spec: dict[str, Any], number: int = 1) -> ProgrammeVersion:
    return ProgrammeVersion(version=number, spec=ProgrammeSpec.model_validate(spec))


def cooperation(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "ruche",
        "name": "Ruche",
        "kind": "non_modelled",
        "economic_model": "hybrid",
        "members": [
            {"id": "habitants", "name": "Habitants", "legal_form": "informal"},
            {"id": "asso", "name": "Association", "legal_form": "association"},
        ],
        "facilitator": "tiers",
        "funding_lines": ["prog"],
    }
    return base | overrides


def simulate(
    programmes: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    start: str = "2027-01-04",
    until: str = "P2Y",
    **coop: Any,
) -> SimulationResult:
    return run_scenario(
        {
            "start": start,
            "programmes": programmes,
            "cooperation": cooperation(**coop),
            "steps": steps,
            "until": until,
        }
    )


def of_type(events: list[Event], *types: str) -> list[Event]:
    return [e for e in events if e.type in types]


def dates(events: list[Event], *types: str) -> list[str]:
    return [e.at.date().isoformat() for e in of_type(events, *types)]


def releases(events: list[Event]) -> list[tuple[str, str, str, str]]:
    """(line, tranche[:occurrence], date, amount) of every release."""
    return [
        (
            e.data["line"],
            e.data["tranche"] + (f":{e.data['occurrence']}" if "occurrence" in e.data else ""),
            e.at.date().isoformat(),
            e.data["amount"],
        )
        for e in of_type(events, "TrancheReleased")
    ]


class Shell:
    """What a workflow does: one timer on next_wakeup, commands after the earlier clock."""

    def __init__(
        self,
        spec: dict[str, Any],
        programmes: list[ProgrammeVersion],
        when: datetime,
        accepted: bool = True,
    ) -> None:
        command = c.Register(
            cooperation=CooperationSpec.model_validate(spec),
            programmes=programmes,
            lines_accepted=accepted,
        )
        decision = decide(None, command, when)
        self.state: CooperationState = decision.state
        self.events: list[Event] = list(decision.events)
        self.effects: list[Effect] = list(decision.effects)

    def clock(self, until: datetime, inclusive: bool = True) -> None:
        wakeup = next_wakeup(self.state)
        if wakeup is None or wakeup > until or (wakeup == until and not inclusive):
            return
        decision = tick(self.state, until, inclusive)
        self.state = decision.state
        self.events += decision.events
        self.effects += decision.effects

    def do(self, command: c.Command, when: datetime) -> list[Event]:
        self.clock(when, inclusive=False)
        decision = decide(self.state, command, when)
        self.state = decision.state
        self.events += decision.events
        self.effects += decision.effects
        return decision.events
