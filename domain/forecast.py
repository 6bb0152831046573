"""The forecast of a programme (DESIGN.md, HTTP API: `forecast`): the releases and loan
repayments its lines will bring over a horizon, by the lifecycle's own rules.

Each cooperation with a line of the programme is driven from its current state by the same
`Driver` as `domain.simulation` (decide and the clock), on a state the forecast owns, under
the assumptions of `ASSUMPTIONS`. What the line's releases and repayments post to the ledger
(`domain.ledger.ledger_rows`) is the forecast: rule-exact, to the cent and the day.

Pure: no clock (`now` is an argument), no I/O; the same inputs give the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from domain import commands as c
from domain.durations import Duration, DurationError, add, parse
from domain.effects import RequestCommitment
from domain.errors import DomainError
from domain.ledger import LedgerRow, ledger_rows
from domain.lifecycle import Decision, Driver
from domain.lifecycle.context import utc
from domain.programme import PHASE_ORDER, AcceptedCheckIns, Outcome, ProgrammeSpec, Purpose
from domain.state import CooperationState, Line, next_check_in

DEFAULT_HORIZON = "P5Y"
MAX_HORIZON = "P30Y"
MAX_HORIZON_YEARS = 30
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# A bound on the forecast's own steps for one cooperation: weekly check-ins for 30 years
# are ~1,600 of them.
_STEP_LIMIT = 100_000

Part = Literal["accepted", "proposed"]

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


@dataclass
class Trajectory:
    """What the forecast did to one cooperation: the commands it gave at their instants (in
    order) and the postings of the programme's line that followed."""

    cooperation: str
    part: Part
    commands: list[tuple[datetime, c.Command]] = field(default_factory=list)
    rows: list[LedgerRow] = field(default_factory=list)


class _Forecaster(Driver):
    def __init__(
        self, state: CooperationState, programme: ProgrammeSpec, trajectory: Trajectory
    ) -> None:
        # Lean: the forecast reads only the effects that move money or ask for a commitment.
        super().__init__(state, owned=True, lean=True)
        self.programme = programme
        self.trajectory = trajectory
        self.funder = c.Actor(role="funder", id=programme.funder)
        self.check_ins = 0

    def record(self, decision: Decision) -> None:
        for effect in decision.effects:
            # Only releases and repayments name a line; the others post nothing.
            if getattr(effect, "line", None) != self.programme.id:
                continue
            for _, row in ledger_rows(effect):
                if row.line == self.programme.id:
                    self.trajectory.rows.append(row)

    def give(self, command: c.Command, at: datetime) -> None:
        self.trajectory.commands.append((at, command))
        decision = self.apply(command, at)
        for effect in decision.effects:
            if isinstance(effect, RequestCommitment):
                # Rule 9's commitment is the shell's; the forecast assumes it is given (the
                # budget's end is what `budget_runs_out_on` says).
                self.give(c.CommitmentCommitted(line=effect.line), at)

    @property
    def s(self) -> CooperationState:
        assert self.state is not None
        return self.state

    def line(self) -> Line:
        line = self.s.line(self.programme.id)
        assert line is not None
        return line

    # The instants of the assumed actions, each None when there is none.

    def _waits_for_check_ins(self) -> bool:
        """A tranche of the line in the current phase still waits for accepted check-ins.

        Only then are check-ins given: no other amount or date depends on them (reminders
        and overdues are notices), so the others would cost time and change no figure."""
        line = self.line()
        phase = line.programme.spec.phase(self.s.phase)
        return phase is not None and any(
            isinstance(t.when, AcceptedCheckIns) and not line.has_released(t.id)
            for t in phase.tranches
        )

    def _check_in_at(self, now: datetime) -> datetime | None:
        s = self.s
        if s.closed or s.paused or not s.stint.segments or not self._waits_for_check_ins():
            return None
        found = next_check_in(s)
        return max(found[1], now) if found is not None else None

    def _leave_at(self, now: datetime) -> datetime | None:
        s = self.s
        if s.paused or s.closed:
            return None
        phase = self.programme.phase(s.phase)
        if phase is None or phase.expected_duration is None:
            return None
        return max(add(s.stint.start, phase.expected_duration), now)

    def _repay_at(self, now: datetime) -> datetime | None:
        instants: list[datetime] = []
        for loan in self.line().loans:
            if loan.written_off is not None:
                continue
            item = next((i for i in loan.installments if not i.repaid), None)
            if item is not None:
                instants.append(max(item.due_at, now))
        return min(instants, default=None)

    # The assumed actions.

    def approve(self, at: datetime) -> None:
        s = self.s
        line = self.line()
        if s.closed or line.status != "active":
            return
        # The line's own version of the programme says its tranches (rule 9: lines keep it).
        phase = line.programme.spec.phase(s.phase)
        for tranche in phase.tranches if phase is not None else ():
            if tranche.when != "approval" or line.has_released(tranche.id):
                continue
            if any(a.tranche == tranche.id and a.stint == s.stint.number for a in line.approvals):
                continue
            self.give(c.ApproveTranche(line=line.id, tranche=tranche.id, by=self.funder), at)

    def repay(self, at: datetime) -> None:
        for loan in self.line().loans:
            if loan.written_off is not None:
                continue
            item = next((i for i in loan.installments if not i.repaid), None)
            if item is not None and max(item.due_at, at) <= at:
                self.give(
                    c.RecordRepayment(line=self.line().id, tranche=loan.tranche, amount=item.owed),
                    at,
                )

    def check_in(self, at: datetime) -> None:
        found = next_check_in(self.s)
        if found is None or max(found[1], at) > at:
            return
        self.check_ins += 1
        check_in_id = f"forecast-{self.check_ins}"
        self.give(c.SubmitCheckIn(check_in_id=check_in_id, period=found[0]), at)
        self.give(c.ReviewCheckIn(check_in_id=check_in_id, decision="accepted"), at)

    def leave(self, at: datetime) -> None:
        s = self.s
        if s.phase == PHASE_ORDER[-1]:
            self.give(c.Close(outcome=Outcome.completed), at)
        else:
            self.give(c.Advance(), at)

    def run(self, now: datetime, end: datetime, proposed_amount: Decimal | None) -> None:
        if self.line().awaiting_commitment:
            # Accepted, its commitment on its way (rule 9): taken as made.
            self.give(c.CommitmentCommitted(line=self.programme.id), now)
        elif self.line().status == "proposed":
            self.give(c.AcceptLine(line=self.programme.id, amount=proposed_amount), now)
        self.approve(now)
        moment = now
        # Closed, only the loans still run (the workflow lives on until they are settled):
        # neither check-ins nor moves are given any more, repayments still are.
        for _ in range(_STEP_LIMIT):
            candidates = [
                x
                for x in (self._repay_at(moment), self._check_in_at(moment), self._leave_at(moment))
                if x is not None
            ]
            if not candidates or min(candidates) > end:
                break
            moment = min(candidates)
            # Commands of one instant in a fixed order: what is owed, the check-in and its
            # review, then the move, then the approvals the new stint allows.
            self.repay(moment)
            if self._check_in_at(moment) == moment:
                self.check_in(moment)
            if self._leave_at(moment) == moment:
                self.leave(moment)
                self.approve(moment)
        else:
            raise AssertionError("the forecast does not settle")
        self.run_clock(end, inclusive=True)


def _proposed_amount(programme: ProgrammeSpec) -> Decimal | None:
    if programme.grant is None:
        return None
    return programme.grant.max or programme.grant.min


def forecast_cooperation(
    state: CooperationState, programme: ProgrammeSpec, now: datetime, end: datetime
) -> Trajectory | None:
    """One cooperation's trajectory under the assumptions, from `now` to `end` inclusive;
    None when it has no line of the programme to forecast. `state` is the forecast's own:
    it is changed in place."""
    now, end = utc(now), utc(end)
    line = state.line(programme.id)
    if line is None or line.status == "declined":
        return None
    part: Part = "proposed" if line.status == "proposed" else "accepted"
    if state.closed and part == "proposed":
        return None
    trajectory = Trajectory(cooperation=state.id, part=part)
    amount = _proposed_amount(programme) if part == "proposed" else None
    if part == "proposed" and programme.amounts == "granted" and amount is None:
        return None
    _Forecaster(state, programme, trajectory).run(max(now, state.last_at), end, amount)
    return trajectory


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
    horizon: str = DEFAULT_HORIZON,
    released: Decimal = ZERO,
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
    return assemble(programme, outcomes, now, horizon, released)
