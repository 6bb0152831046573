"""What readers see of a cooperation's state: the summary behind `GET /v1/cooperations/{id}`,
the workflow's `state` query and the PostgreSQL read model (`cooperations.state`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.cooperation import EconomicModel, Kind, Member
from domain.events import instant
from domain.lifecycle import is_finished
from domain.money import DecimalText
from domain.programme import Outcome, Phase
from domain.state import ZERO, CooperationState, Line, next_check_in


class _View(BaseModel):
    # Read back from PostgreSQL rows written by older code: a field added later has a default,
    # a field removed since is ignored rather than refused.
    model_config = ConfigDict(extra="ignore", frozen=True)


class TrancheView(_View):
    tranche: str
    occurrence: int | None = None
    status: Literal["pending", "released", "freed"]
    amount: DecimalText | None = None
    """None only for a share of a line not yet granted its amount (rule 17: proposed)."""


class LoanView(_View):
    tranche: str
    principal: DecimalText
    outstanding: DecimalText
    """What the schedule still expects (principal and interest), nothing once written off."""
    overdue: int
    """Installments gone overdue and still not repaid in full."""
    settled: bool
    written_off: DecimalText | None = None


class LineView(_View):
    line: str
    programme: str
    version: int
    funder: str
    status: Literal["proposed", "active", "declined"]
    currency: str
    committed: DecimalText
    released: DecimalText
    freed: DecimalText
    granted: DecimalText | None = None
    """Rule 17: the amount its funder granted (a granted programme's line), once accepted."""
    tranches: list[TrancheView]
    loans: list[LoanView] = []
    awaiting_approval: list[str] = []
    """Tranches of the current phase released on approval and not yet approved (rule 3)."""


class RequestView(_View):
    """A transition request of the collective (rule 15): `seq` is its id. Its reason is read
    from PostgreSQL (`GET …/transition-requests`); the summary carries none (the workflow's
    state keeps no free text) and lists the open requests only."""

    seq: int
    action: str
    to: Phase | None = None
    reason: str | None = None
    at: str
    status: Literal["open", "answered", "declined"]
    decided_at: str | None = None


class StintView(_View):
    number: int
    start: str


class CheckInDue(_View):
    period: int
    due: str


class CooperationSummary(_View):
    """A cooperation as readers see it: ids, phases and amounts, never a person's data."""

    id: str
    name: str | None = None
    kind: Kind
    model: str | None = None
    economic_model: EconomicModel
    phase: Phase
    stint: StintView
    paused: bool
    closed: bool
    outcome: Outcome | None = None
    closed_at: str | None = None
    facilitator: str | None = None
    fiscal_host: str | None = None
    members: list[Member]
    programmes: list[str]
    overdue: bool
    next_check_in: CheckInDue | None = None
    lines: list[LineView]
    requests: list[RequestView] = []
    rules_version: int = 1
    finished: bool = False
    """Closed with every loan settled: its workflow ends, nothing more happens to it."""


def awaiting_approval(state: CooperationState, line: Line) -> list[str]:
    """Approval tranches of the current phase that an approval would release now."""
    if line.status != "active" or state.closed:
        return []
    spec = line.programme.spec.phase(state.phase)
    approved = {a.tranche for a in line.approvals if a.stint == state.stint.number}
    return [
        t.id
        for t in (spec.tranches if spec else [])
        if t.when == "approval" and not line.has_released(t.id) and t.id not in approved
    ]


def is_overdue(state: CooperationState) -> bool:
    """The collective has not checked in since a period of the current stint went overdue.

    A late check-in fills the current period (rule 8), leaving the overdue one empty for
    ever: what matters to a facilitator is whether anything came in since.
    """
    if state.closed or state.paused:
        return False
    marks = state.stint.periods
    overdue = [k for k, m in marks.items() if m.overdue_done and not m.void and m.check_in is None]
    if not overdue:
        return False
    checked_in = [k for k, m in marks.items() if m.check_in is not None]
    return max(overdue) > max(checked_in, default=0)


def summary(state: CooperationState) -> CooperationSummary:
    upcoming = next_check_in(state)
    return CooperationSummary(
        id=state.id,
        name=state.name,
        kind=state.kind,
        model=state.model,
        economic_model=state.economic_model,
        phase=state.phase,
        stint=StintView(number=state.stint.number, start=instant(state.stint.start)),
        paused=state.paused,
        closed=state.closed,
        outcome=state.outcome,
        closed_at=instant(state.closed_at) if state.closed_at else None,
        facilitator=state.facilitator,
        fiscal_host=state.fiscal_host,
        members=list(state.members),
        programmes=[line.id for line in state.lines if line.status != "declined"],
        overdue=is_overdue(state),
        next_check_in=(
            CheckInDue(period=upcoming[0], due=instant(upcoming[1])) if upcoming else None
        ),
        lines=[
            LineView(
                line=line.id,
                programme=line.programme.spec.id,
                version=line.programme.version,
                funder=line.funder,
                status=line.status,
                currency=line.currency,
                committed=line.committed,
                released=line.released,
                freed=line.freed,
                granted=line.granted,
                tranches=[
                    TrancheView(tranche=t, occurrence=o, status=s, amount=a)
                    for t, o, s, a in line.tranche_statuses()
                ],
                loans=[
                    LoanView(
                        tranche=loan.tranche,
                        principal=loan.principal,
                        outstanding=ZERO if loan.written_off is not None else loan.outstanding,
                        overdue=sum(1 for i in loan.installments if i.overdue_done and not i.repaid)
                        if loan.written_off is None
                        else 0,
                        settled=loan.settled(state.rules_version),
                        written_off=loan.written_off,
                    )
                    for loan in line.loans
                ],
                awaiting_approval=awaiting_approval(state, line),
            )
            for line in state.lines
        ],
        requests=[
            RequestView(
                seq=r.seq,
                action=r.action,
                to=r.to,
                at=instant(r.at),
                status="open",
            )
            for r in state.requests
        ],
        rules_version=state.rules_version,
        finished=is_finished(state),
    )
