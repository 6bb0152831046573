"""The forecast of a programme (DESIGN.md, HTTP API: `forecast`): the releases and loan
repayments its lines will bring over a horizon, by the lifecycle's own rules.

Each cooperation with a line of the programme is driven from its current state by the same
`Driver` as `domain.simulation` (decide and the clock), on a state the forecast owns, under
the assumptions of `ASSUMPTIONS` (`domain.forecast_trajectory`). What the line's releases and
repayments post to the ledger (`domain.ledger.ledger_rows`) is the forecast: rule-exact, to
the cent and the day.

Pure: no clock (`now` is an argument), no I/O; the same inputs give the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel

from domain.durations import Duration, DurationError, add, parse
from domain.errors import DomainError
from domain.forecast_trajectory import Part, forecast_cooperation
from domain.ledger import LedgerRow
from domain.lifecycle.context import utc
from domain.programme import ProgrammeSpec, Purpose
from domain.state import CooperationState

DEFAULT_HORIZON = "P5Y"
MAX_HORIZON = "P30Y"
MAX_HORIZON_YEARS = 30
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ASSUMPTIONS: tuple[str, ...] = (
    "check_ins_on_time",
    "approvals_at_the_earliest",
    "phases_left_after_expected_duration",
    "loans_repaid_on_schedule",
    "proposed_lines_accepted_now",
    "pauses_never_resumed",
)
"""What the forecast takes for granted, in this order (the catalog words them):
- check-ins: each period's check-in is submitted on its due date (an overdue one at once)
  and accepted at once (given only while a tranche of the line waits for them: no other
  amount or date depends on check-ins);
- approvals: every tranche released on approval is approved by the line's funder as soon as
  the rules allow it (on entering its phase, or now);
- phases: a stint is left (advance; from the last phase, close as completed) once the
  programme's `expected_duration` for its phase has elapsed since the stint started (at
  once when already past); a phase without one is never left;
- loans: each installment is repaid in full on its due date;
- proposed lines: accepted now, at their whole amount (a granted programme's line at the
  grant's maximum, else its minimum; without bounds it is left out);
- pauses: a paused cooperation stays paused (nothing of its lines is released, no phase is
  left; its loans are still repaid).
"""


class HorizonError(ValueError):
    """A horizon that is not an ISO 8601 duration of whole days, or beyond MAX_HORIZON."""


def parse_horizon(text: str) -> Duration:
    try:
        duration = parse(text)
    except DurationError as exc:
        raise HorizonError(str(exc)) from None
    if duration.is_zero() or not duration.is_calendar:
        raise HorizonError(f"{text}: a horizon is a positive duration of days, months or years")
    if duration.longest_days > 366 * MAX_HORIZON_YEARS:
        raise HorizonError(f"{text} is longer than {MAX_HORIZON}")
    return duration


@dataclass(frozen=True)
class Flow:
    """One posting of the programme's line, as the ledger would show it."""

    cooperation: str
    part: Part
    row: LedgerRow


# ---------------------------------------------------------------------------------------
# The figures


class Figures(BaseModel):
    releases: dict[Purpose, Decimal]
    """By purpose; a loan's disbursement counts with its tranche's purpose."""
    repayments: Decimal


class MonthFigures(Figures):
    month: str
    """`2027-03`."""


class YearFigures(Figures):
    year: int
    """The calendar year (the *exercice* a public funder votes its payment credits on)."""


class PartFigures(Figures):
    cooperations: int
    months: list[MonthFigures]
    years: list[YearFigures]


class Forecast(BaseModel):
    assumptions: list[str]
    start: date
    end: date
    horizon: str
    currency: str
    budget: Decimal
    released: Decimal
    """What the programme released before the forecast starts."""
    months: list[MonthFigures]
    years: list[YearFigures]
    accepted: PartFigures
    proposed: PartFigures
    budget_runs_out_on: date | None
    """The first day on which what was released plus the forecast releases of accepted and
    proposed lines exceeds the budget; None when it does not within the horizon."""
    skipped: list[str] = []
    """Cooperations the rules refused a forecast step for (left out of the figures)."""


def _months(start: date, end: date) -> list[str]:
    months, (year, month) = [], (start.year, start.month)
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _figures(
    flows: Iterable[Flow], start: date, end: date
) -> tuple[list[MonthFigures], list[YearFigures]]:
    by_month: dict[str, dict[Purpose, Decimal]] = defaultdict(dict)
    repaid_month: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for flow in flows:
        row = flow.row
        month = f"{row.at.year:04d}-{row.at.month:02d}"
        if row.kind == "repayment":
            repaid_month[month] += row.amount
        else:
            purposes = by_month[month]
            purposes[row.purpose] = purposes.get(row.purpose, ZERO) + row.amount
    months = [
        MonthFigures(
            month=m,
            releases={p: v.quantize(CENT) for p, v in sorted(by_month[m].items())},
            repayments=repaid_month[m].quantize(CENT),
        )
        for m in _months(start, end)
    ]
    by_year: dict[int, dict[Purpose, Decimal]] = defaultdict(dict)
    repaid_year: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for m in months:
        year = int(m.month[:4])
        repaid_year[year] += m.repayments
        for purpose, amount in m.releases.items():
            by_year[year][purpose] = by_year[year].get(purpose, ZERO) + amount
    years = [
        YearFigures(
            year=y,
            releases={p: v for p, v in sorted(by_year[y].items())},
            repayments=repaid_year[y],
        )
        for y in range(start.year, end.year + 1)
    ]
    return months, years


def _part(flows: Sequence[Flow], cooperations: int, start: date, end: date) -> PartFigures:
    months, years = _figures(flows, start, end)
    releases: dict[Purpose, Decimal] = {}
    for year in years:
        for purpose, amount in year.releases.items():
            releases[purpose] = releases.get(purpose, ZERO) + amount
    return PartFigures(
        cooperations=cooperations,
        releases=dict(sorted(releases.items())),
        repayments=sum((y.repayments for y in years), ZERO),
        months=months,
        years=years,
    )


def _runs_out(flows: Sequence[Flow], budget: Decimal, released: Decimal) -> date | None:
    total = released
    days: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for flow in flows:
        if flow.row.kind != "repayment":
            days[flow.row.at.date()] += flow.row.amount
    for day in sorted(days):
        total += days[day]
        if total > budget:
            return day
    return None


@dataclass(frozen=True)
class CooperationOutcome:
    """What the forecast made of one cooperation: its part and its flows within the
    horizon, None when it has none to forecast; `skipped` when the rules refused a step."""

    cooperation: str
    part: Part | None
    flows: tuple[Flow, ...] = ()
    skipped: bool = False


def forecast_outcomes(
    programme: ProgrammeSpec, states: Iterable[CooperationState], now: datetime, end: datetime
) -> list[CooperationOutcome]:
    """Each cooperation's outcome, in the order of `states` (changed in place). Independent
    of one another: a forecast may compute them in parts, in other processes, and
    `assemble` the whole."""
    now, end = utc(now), utc(end)
    outcomes: list[CooperationOutcome] = []
    for state in states:
        try:
            trajectory = forecast_cooperation(state, programme, now, end)
        except DomainError:
            # A state the assumptions cannot move (none is known): said, not guessed at.
            outcomes.append(CooperationOutcome(state.id, None, skipped=True))
            continue
        if trajectory is None:
            outcomes.append(CooperationOutcome(state.id, None))
            continue
        flows = tuple(
            Flow(state.id, trajectory.part, row) for row in trajectory.rows if now <= row.at <= end
        )
        outcomes.append(CooperationOutcome(state.id, trajectory.part, flows))
    return outcomes


def horizon_end(now: datetime, horizon: str) -> datetime:
    return add(utc(now), parse_horizon(horizon))


def assemble(
    programme: ProgrammeSpec,
    outcomes: Iterable[CooperationOutcome],
    now: datetime,
    *,
    horizon: str,
    released: Decimal,
) -> Forecast:
    """The figures of the cooperations' outcomes (sums of Decimals and sorted days: the
    same whatever order the outcomes come in)."""
    now = utc(now)
    end = horizon_end(now, horizon)
    flows: list[Flow] = []
    counts = {"accepted": 0, "proposed": 0}
    skipped: list[str] = []
    for outcome in outcomes:
        if outcome.skipped:
            skipped.append(outcome.cooperation)
        elif outcome.part is not None:
            counts[outcome.part] += 1
            flows.extend(outcome.flows)
    start_day, end_day = now.date(), end.date()
    months, years = _figures(flows, start_day, end_day)
    parts = {
        part: _part([f for f in flows if f.part == part], counts[part], start_day, end_day)
        for part in ("accepted", "proposed")
    }
    return Forecast(
        assumptions=list(ASSUMPTIONS),
        start=start_day,
        end=end_day,
        horizon=horizon,
        currency=programme.currency,
        budget=programme.budget,
        released=released,
        months=months,
        years=years,
        accepted=parts["accepted"],
        proposed=parts["proposed"],
        budget_runs_out_on=_runs_out(flows, programme.budget, released),
        skipped=sorted(skipped),
    )


def forecast(
    programme: ProgrammeSpec,
    states: Iterable[CooperationState],
    now: datetime,
    horizon: str = DEFAULT_HORIZON,
    released: Decimal = ZERO,
) -> Forecast:
    """The programme's forecast from `now` over `horizon`, its cooperations' states given
    (they are the forecast's own: changed in place). `released`: what the programme's lines
    released before now. `programme` is the programme's current spec: its budget and its
    phases' `expected_duration`."""
    outcomes = forecast_outcomes(programme, states, now, horizon_end(now, horizon))
    return assemble(programme, outcomes, now, horizon=horizon, released=released)
