"""Scenarios (DESIGN.md, "Scenarios") as `domain.simulation` runs them: their steps and
dates, read and checked (`parse_scenario`) from the mapping a YAML or JSON file holds, its
programmes inline (`cli.scenario_files` reads a scenario file and the programme files it
names). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.cooperation import CooperationSpec
from domain.durations import DurationError, add, parse
from domain.limits import at_door
from domain.programme import ProgrammeSpec

STEP_KINDS = (
    "check_in",
    "review",
    "advance",
    "restart",
    "pivot",
    "pause",
    "resume",
    "close",
    "approve",
    "raise_budget",
    "repay",
    "write_off",
    "attach",
    "request",
    "join",
    "leave",
    "convention",
    "paid",
    # Rule 20 (rules 3): graduation.
    "formalise",
    "amend",
    "amendment",
    "end_hosting",
)


class ScenarioError(Exception):
    """A scenario that cannot run: `step_index` (0-based) is None when the fault is not in a
    step (the programmes, the cooperation, the registration)."""

    def __init__(self, step_index: int | None, message: str) -> None:
        where = "scenario" if step_index is None else f"step {step_index}"
        super().__init__(f"{where}: {message}")
        self.step_index = step_index
        self.message = message


class Step(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    at: datetime
    kind: str
    args: dict[str, Any]


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: datetime
    programmes: list[ProgrammeSpec]
    cooperation: CooperationSpec
    steps: list[Step]
    until: datetime


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


# Scenario dates stay far from the calendar's end, so years of rules after them still fit.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def _instant(value: Any, start: datetime | None, what: str) -> datetime:
    """An absolute date or datetime, or (given `start`) an ISO 8601 offset from it, between
    FIRST_YEAR and LAST_YEAR."""
    moment = _moment(value, start, what)
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"{what}: {moment.date()} is not between {FIRST_YEAR} and {LAST_YEAR}")
    return moment


def _moment(value: Any, start: datetime | None, what: str) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("P") and start is not None:
            try:
                return add(start, parse(text))
            except DurationError as exc:
                raise ValueError(f"{what}: {exc}") from None
        if _DATE.match(text):
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"{what}: {text!r} is not an ISO 8601 date") from None
            return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise ValueError(
        f"{what}: {value!r} is neither a date nor an ISO 8601 offset such as P20D"
        if start is not None
        else f"{what}: {value!r} is not a date"
    )


def errors_text(exc: ValidationError) -> str:
    """A validation error's messages, each after the place it names."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: "
        f"{str(e['msg']).removeprefix('Value error, ')}"
        for e in exc.errors()
    )


def parse_scenario(raw: object) -> Scenario:
    """A scenario from its parsed mapping (YAML or JSON), programmes given inline."""
    if not isinstance(raw, Mapping):
        raise ScenarioError(None, "a scenario is a mapping with start, programmes, cooperation")
    try:
        start = _instant(raw.get("start"), None, "start")
    except ValueError as exc:
        raise ScenarioError(None, str(exc)) from None

    programmes: list[ProgrammeSpec] = []
    for i, item in enumerate(raw.get("programmes") or []):
        if isinstance(item, str):
            raise ScenarioError(
                None, f"programmes[{i}]: {item!r} is a path: read from a file, or give it inline"
            )
        try:
            programmes.append(at_door(ProgrammeSpec, item))
        except ValidationError as exc:
            raise ScenarioError(None, f"programmes[{i}]: {errors_text(exc)}") from None
    ids = [p.id for p in programmes]
    if len(set(ids)) != len(ids):
        raise ScenarioError(None, "a programme id appears twice")

    try:
        cooperation = at_door(CooperationSpec, raw.get("cooperation"))
    except ValidationError as exc:
        raise ScenarioError(None, f"cooperation: {errors_text(exc)}") from None

    steps: list[Step] = []
    previous = start
    for i, item in enumerate(raw.get("steps") or []):
        if not isinstance(item, Mapping) or "at" not in item:
            raise ScenarioError(i, "a step is a mapping with `at` and one step kind")
        kinds = [k for k in item if k != "at"]
        if len(kinds) != 1:
            raise ScenarioError(i, f"a step has exactly one kind besides `at`, not {kinds}")
        kind = str(kinds[0])
        if kind not in STEP_KINDS:
            raise ScenarioError(i, f"unknown step kind {kind!r} (known: {', '.join(STEP_KINDS)})")
        try:
            at = _instant(item["at"], start, "at")
        except ValueError as exc:
            raise ScenarioError(i, str(exc)) from None
        if at < previous:
            raise ScenarioError(
                i,
                f"at {at.date()} is before the previous step or the start ({previous.date()}): "
                "steps are in time order",
            )
        previous = at
        args = item[kind]
        if args is None:
            args = {}
        elif not isinstance(args, Mapping):
            args = {"value": args}
        steps.append(Step(index=i, at=at, kind=kind, args=dict(args)))

    try:
        until = _instant(raw["until"], start, "until") if raw.get("until") else previous
    except ValueError as exc:
        raise ScenarioError(None, str(exc)) from None
    if steps and until < steps[-1].at:
        raise ScenarioError(steps[-1].index, f"the step falls after until ({until.date()})")
    return Scenario(
        start=start, programmes=programmes, cooperation=cooperation, steps=steps, until=until
    )
