"""One cooperation's trajectory in a forecast (`domain.forecast`): driven from its current
state by the same `Driver` as `domain.simulation` (decide and the clock), on a state the
forecast owns, under the assumptions of `domain.forecast.ASSUMPTIONS`, each given as the
command a person would give; the postings of the programme's line that follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from domain import commands as c
from domain.durations import add
from domain.effects import RequestCommitment
from domain.ledger import LedgerRow, ledger_rows
from domain.lifecycle import Decision, Driver
from domain.lifecycle.context import utc
from domain.programme import PHASE_ORDER, Outcome, ProgrammeSpec
from domain.state import CooperationState, Line, next_check_in
from domain.tranche_terms import AcceptedCheckIns

Part = Literal["accepted", "proposed"]

# A bound on the forecast's own steps for one cooperation: weekly check-ins for 30 years
# are ~1,600 of them.
_STEP_LIMIT = 100_000


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
