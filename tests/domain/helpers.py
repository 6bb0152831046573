"""Builders shared by the lifecycle tests: programmes, cooperations, scenarios, a tiny shell.

Every expectation in the tests is worked out by hand from DESIGN.md's text, the reasoning
beside it. Phases built here keep the programme defaults the reasoning relies on:
check_in_grace P14D, reminder_before P7D, report_every P6M.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from domain import commands as c
from domain.cooperation import CooperationSpec
from domain.effects import Effect
from domain.events import Event
from domain.lifecycle import Decision, Driver
from domain.programme import ProgrammeSpec, ProgrammeVersion
from domain.rules import RULES_VERSION
from domain.simulation import SimulationResult, run_scenario

GRANT = "1000.00"


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


def grant(tid: str, when: Any, amount: str = GRANT, **extra: Any) -> dict[str, Any]:
    return {"id": tid, "amount": amount, "purpose": "animation", "when": when, **extra}


def loan(tid: str, amount: str, **terms: str) -> dict[str, Any]:
    """A loan tranche released on approval."""
    return {
        "id": tid,
        "amount": amount,
        "purpose": "investment",
        "when": "approval",
        "instrument": {"loan": terms},
    }


def phase(tranches: list[dict[str, Any]], every: str = "P1M", **extra: Any) -> dict[str, Any]:
    return {"check_in_every": every, "tranches": tranches, **extra}


def phases(**by_phase: list[dict[str, Any]]) -> dict[str, Any]:
    """Monthly check-ins in each phase named, with its tranches."""
    return {name: phase(tranches) for name, tranches in by_phase.items()}


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


def timeline(result: SimulationResult, *types: str) -> list[tuple[str, str]]:
    return [(e.type, e.at.date().isoformat()) for e in of_type(result.events, *types)]


def periods(result: SimulationResult, *types: str) -> list[tuple[str, int]]:
    return [(e.at.date().isoformat(), e.data["period"]) for e in of_type(result.events, *types)]


def types_at(result: SimulationResult, day: str) -> list[str]:
    return [e.type for e in result.events if e.at.date().isoformat() == day]


def in_time_order(events: list[Event]) -> bool:
    return all(a.at <= b.at for a, b in pairwise(events))


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


class Shell(Driver):
    """What a workflow does, through the domain's own driver (rule 14): one timer on
    next_wakeup, commands after the earlier clock; keeps every event and effect."""

    def __init__(
        self,
        spec: dict[str, Any],
        programmes: list[ProgrammeVersion],
        when: datetime,
        accepted: bool = True,
        rules_version: int = RULES_VERSION,
    ) -> None:
        super().__init__()
        self.events: list[Event] = []
        self.effects: list[Effect] = []
        command = c.Register(
            cooperation=CooperationSpec.model_validate(spec),
            programmes=programmes,
            lines_accepted=accepted,
            rules_version=rules_version,
        )
        self.apply(command, when)

    def record(self, decision: Decision) -> None:
        self.events += decision.events
        self.effects += decision.effects

    def clock(self, until: datetime, inclusive: bool = True) -> None:
        self.run_clock(until, inclusive)

    def do(self, command: c.Command, when: datetime) -> list[Event]:
        """The command's own events (the clock's before it are in `events`)."""
        return self.apply(command, when).events
