"""What readers see of a cooperation's state: the summary behind `GET /v1/cooperations/{id}`,
the workflow's `state` query and the PostgreSQL read model (`cooperations.state`)."""

from __future__ import annotations

import weakref
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from domain.allocation import Share
from domain.cooperation import EconomicModel, Kind, Member
from domain.events import instant
from domain.lifecycle import is_finished
from domain.lifecycle.holds import CONVENTION_AWAITED, held_waits_for, hold_of
from domain.money import ZERO, DecimalText
from domain.programme import Outcome, Phase
from domain.state import CooperationState, Line, next_check_in


class _View(BaseModel):
    # Read back from PostgreSQL rows written by older code: a field added later has a default,
    # a field removed since is ignored rather than refused.
    model_config = ConfigDict(extra="ignore", frozen=True)


V = TypeVar("V", bound=_View)

# Per view kind, the names of all its fields: one set shared by every view `_made` builds.
_FIELDS: dict[type[_View], set[str]] = {}


def _made(kind: type[V], /, **values: Any) -> V:
    """A view from values of its fields' types already (read from a valid state), every field
    given: nothing to parse, so it is built as validation would leave it, without validating
    again (a summary is built for every decision). Its set of given fields is one set shared
    by the kind, rather than one each (half a summary's memory, and a summary is kept by every
    cached workflow); a copy with changes (`model_copy(update=…)`) copies it first."""
    view = object.__new__(kind)
    put = object.__setattr__
    put(view, "__dict__", values)
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _FIELDS.setdefault(kind, set(kind.model_fields))
    put(view, "__pydantic_fields_set__", fields)
    put(view, "__pydantic_extra__", None)
    put(view, "__pydantic_private__", None)
    return view


class TrancheView(_View):
    tranche: str
    occurrence: int | None = None
    status: Literal["pending", "released", "freed"]
    amount: DecimalText | None = None
    """None only for a share of a line not yet granted its amount (rule 17: proposed)."""
    waits_for: str | None = None
    """Due but held (rules 3): what its release waits for, in words."""


class LoanView(_View):
    tranche: str
    principal: DecimalText
    outstanding: DecimalText
    """What the schedule still expects (principal and interest), nothing once written off."""
    overdue: int
    """Installments gone overdue and still not repaid in full."""
    settled: bool
    written_off: DecimalText | None = None


class ConventionView(_View):
    """A line's convention as its funder recorded it (rule 18)."""

    reference: str
    signed_on: str
    ends_on: str | None = None


class VersementView(_View):
    """Rule 19 (rules 3): one payee's part of a release, ordered (with its due date, if any)
    or paid (with its date); never shown as received before it is paid."""

    tranche: str
    occurrence: int | None = None
    payee: str
    amount: DecimalText
    kind: Literal["release", "loan"] = "release"
    ordered_at: str
    due_on: str | None = None
    paid_on: str | None = None
    status: Literal["ordered", "paid"]
    late: bool = False
    """`VersementLate` was recorded (it stays so once paid: `VersementPaid` says how late)."""


class AmendmentView(_View):
    """Rule 20: the amendment (avenant) open on a line, waiting for its funder."""

    seq: int
    allocation: list[dict[str, str]]
    proposed_at: str


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
    convention: ConventionView | None = None
    convention_awaited: bool = False
    """Rule 18: its programme requires a convention not yet recorded: its releases are held."""
    versements: list[VersementView] = []
    """Rule 19 (rules 3): each payee's part of each release, in the order ordered."""
    amendment: AmendmentView | None = None
    """Rule 20: the amendment open on the line; its releases falling due are held meanwhile."""
    allocation: list[dict[str, str]] = []
    """Who the line pays now (rule 10), `[{payee, share}]`."""


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
    former_fiscal_host: str | None = None
    """Rule 20: the fiscal host whose hosting ended, and when."""
    hosting_ended_at: str | None = None
    finished: bool = False
    """Closed with every loan settled: its workflow ends, nothing more happens to it."""


def versements(line: Line) -> list[VersementView]:
    if not line.versements:
        return []
    kinds = {r.tranche: r.kind for r in line.releases}
    return [
        _made(
            VersementView,
            tranche=v.tranche,
            occurrence=v.occurrence,
            payee=v.payee,
            amount=v.amount,
            kind=kinds.get(v.tranche, "release"),
            ordered_at=instant(v.ordered_at),
            due_on=v.due_on.isoformat() if v.due_on else None,
            paid_on=v.paid_on.isoformat() if v.paid_on else None,
            status="paid" if v.paid_on is not None else "ordered",
            late=v.late_done,
        )
        for v in line.versements
    ]


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


def _convention(line: Line) -> ConventionView | None:
    recorded = line.convention
    if recorded is None:
        return None
    return _made(
        ConventionView,
        reference=recorded.reference,
        signed_on=recorded.signed_on.isoformat(),
        ends_on=recorded.ends_on.isoformat() if recorded.ends_on else None,
    )


def _allocation(allocation: list[Share]) -> list[dict[str, str]]:
    return [{"payee": a.payee, "share": format(a.share, "f")} for a in allocation]


# States their holder will not change any more (the workflow's adopted states), each with the
# summary once built for it: the courier's delivery, the answers and the queries of one state
# then share one summary rather than keep one each. Held weakly: an entry goes with its state.
_KEPT: dict[int, tuple[weakref.ref[CooperationState], list[CooperationSummary]]] = {}


def keep_summary(state: CooperationState) -> None:
    """`state` will not change any more: its summary, once built, is the one for every call."""
    key = id(state)
    _KEPT[key] = (weakref.ref(state, lambda _: _KEPT.pop(key, None)), [])


def summary(state: CooperationState) -> CooperationSummary:
    kept = _KEPT.get(id(state))
    if kept is None or kept[0]() is not state:
        return _summary(state)
    if not kept[1]:
        kept[1].append(_summary(state))
    return kept[1][0]


def _summary(state: CooperationState) -> CooperationSummary:
    upcoming = next_check_in(state)
    return _made(
        CooperationSummary,
        id=state.id,
        name=state.name,
        kind=state.kind,
        model=state.model,
        economic_model=state.economic_model,
        phase=state.phase,
        stint=_made(StintView, number=state.stint.number, start=instant(state.stint.start)),
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
            _made(CheckInDue, period=upcoming[0], due=instant(upcoming[1])) if upcoming else None
        ),
        lines=[
            _made(
                LineView,
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
                    _made(
                        TrancheView,
                        tranche=t,
                        occurrence=o,
                        status=s,
                        amount=a,
                        waits_for=held_waits_for(state, line, t, o) if s == "pending" else None,
                    )
                    for t, o, s, a in line.tranche_statuses()
                ],
                loans=[
                    _made(
                        LoanView,
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
                convention=_convention(line),
                convention_awaited=line.status == "active"
                and not state.closed
                and hold_of(state, line) == CONVENTION_AWAITED,
                versements=versements(line),
                amendment=_made(
                    AmendmentView,
                    seq=line.amendment.seq,
                    allocation=_allocation(line.amendment.allocation),
                    proposed_at=instant(line.amendment.proposed_at),
                )
                if line.amendment is not None
                else None,
                allocation=_allocation(line.allocation),
            )
            for line in state.lines
        ],
        requests=[
            _made(
                RequestView,
                seq=r.seq,
                action=r.action,
                to=r.to,
                reason=None,
                at=instant(r.at),
                status="open",
                decided_at=None,
            )
            for r in state.requests
        ],
        rules_version=state.rules_version,
        former_fiscal_host=state.former_fiscal_host,
        hosting_ended_at=instant(state.hosting_ended_at) if state.hosting_ended_at else None,
        finished=is_finished(state),
    )
