"""The state of one cooperation: everything the lifecycle rules need, and nothing personal.

It travels through Temporal history and across continue-as-new as JSON, so every field
round-trips (`CooperationState.model_validate_json(s.model_dump_json()) == s`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from domain.allocation import Share
from domain.cooperation import Angle, EconomicModel, Kind, Member
from domain.durations import IsoDuration, add, subtract
from domain.line_records import (
    Approval,
    Convention,
    GrantedRelease,
    HeldRelease,
    Loan,
    OpenAmendment,
    ReleaseRecord,
    ReportClock,
    Versement,
)
from domain.money import ZERO, Amount
from domain.programme import Outcome, Phase, ProgrammeVersion, TrancheSpec

DEFAULT_REPORT_EVERY = "P6M"

TrancheStatus = Literal["pending", "released", "freed"]


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PauseSpan(_State):
    start: datetime
    end: datetime | None = None


class Segment(_State):
    """A run of check-in periods counted from one anchor (stint start, pivot or resume)."""

    anchor: datetime
    first_period: int
    line: str
    """The line whose programme gives the cadence (the shortest one, rule 8)."""
    cadence: IsoDuration
    grace: IsoDuration
    reminder_before: IsoDuration


class PeriodMark(_State):
    void: bool = False
    check_in: str | None = None
    """The check-in currently filling the period (a replaced one is not kept here)."""
    reminder_done: bool = False
    """Sent, or dropped because it fell in a pause."""
    overdue_done: bool = False


class Stint(_State):
    number: int
    phase: Phase
    start: datetime
    segments: list[Segment] = []
    periods: dict[int, PeriodMark] = {}
    clock_from: int = 1
    """Every period below this one has nothing left on the clock."""
    overrun_limit: IsoDuration | None = None
    overrun_from: datetime | None = None
    """When the limit was chosen: an overrun is never dated before it."""
    overran: bool = False


class CheckIn(_State):
    """A check-in that fills, or filled, its period. A replaced one leaves the state: no rule
    counts, reviews or shows it (PostgreSQL keeps it, `check_ins.replaced_by`)."""

    id: str
    stint: int
    period: int
    submitted_at: datetime
    status: Literal["submitted", "accepted", "changes_requested"] = "submitted"
    reviewed_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        # States recorded before replaced check-ins left carry `replaced_by` (always None
        # on the ones kept: the replaced ones are dropped by CooperationState).
        if isinstance(data, dict) and "replaced_by" in data:
            data = {k: v for k, v in data.items() if k != "replaced_by"}
        return data


class Line(_State):
    id: str
    """A line is named by its programme id (one line per programme)."""
    programme: ProgrammeVersion
    status: Literal["proposed", "active", "declined"]
    proposed_at: datetime
    attached_at: datetime | None = None
    declined_at: datetime | None = None
    awaiting_commitment: bool = False
    allocation: list[Share]
    angle: Angle | None = None
    """Kept while the line is proposed, for the `FundingLineAttached` its acceptance records;
    dropped once it is answered (the events keep it, reports read it there)."""
    committed: Amount = ZERO
    freed: Amount = ZERO
    closed: bool = False
    """The cooperation closed: nothing more is released, what was left is freed."""
    releases: list[ReleaseRecord] = []
    held: list[HeldRelease] = []
    """Releases due but held (rules 3): empty under rules 1 and 2."""
    granted: Amount | None = None
    """Rule 17: the amount its funder granted the line (a granted programme), None else."""
    grants: list[GrantedRelease] = []
    """Rule 17: each grant occurrence's amount, fixed with `granted`."""
    convention: Convention | None = None
    """Rule 18: recorded once, by the line's funder."""
    versements: list[Versement] = []
    """Each payee's part of each release (rules 3, rule 19): empty under rules 1 and 2."""
    amendment: OpenAmendment | None = None
    """Rule 20: the amendment open for this line, if any."""
    approvals: list[Approval] = []
    report: ReportClock | None = None
    loans: list[Loan] = []

    @property
    def funder(self) -> str:
        return self.programme.spec.funder

    @property
    def currency(self) -> str:
        return self.programme.spec.currency

    @property
    def released(self) -> Decimal:
        return sum((r.amount for r in self.releases), ZERO)

    def has_released(self, tranche: str, occurrence: int | None = None) -> bool:
        """Released, or due and held (a held release is taken: no trigger fires it again)."""
        return any(
            r.tranche == tranche and r.occurrence == occurrence for r in self.releases
        ) or any(h.tranche == tranche and h.occurrence == occurrence for h in self.held)

    def is_released(self, tranche: str, occurrence: int | None = None) -> bool:
        """Released indeed (a held release is still pending: committed, not yet ordered)."""
        return any(r.tranche == tranche and r.occurrence == occurrence for r in self.releases)

    def first_release(self, tranche: str) -> ReleaseRecord | None:
        return next(
            (r for r in self.releases if r.tranche == tranche and r.occurrence is None), None
        )

    def repeats_released(self, tranche: str) -> int:
        return sum(1 for r in self.releases if r.tranche == tranche and r.occurrence is not None)

    def amount_of(self, tranche: TrancheSpec, occurrence: int | None = None) -> Decimal | None:
        """What this occurrence of `tranche` pays on this line: its fixed amount, or (rule 17)
        the part of the amount granted fixed at acceptance; None while not yet granted."""
        if tranche.share is None or tranche.loan is not None:
            return tranche.amount
        return next(
            (
                g.amount
                for g in self.grants
                if g.tranche == tranche.id and g.occurrence == occurrence
            ),
            None,
        )

    def pending(self) -> Decimal:
        """What the line can still release: every tranche occurrence not yet paid (rule 9).

        Computed from the spec, independently of `committed`, so that committed =
        released + pending + freed can be checked; zero once the cooperation closed.
        """
        if self.status != "active" or self.closed:
            return ZERO
        total = ZERO
        for _, tranche in self.programme.spec.tranches():
            occurrences: list[int | None] = [None]
            if tranche.repeat is not None:
                occurrences += list(range(1, tranche.repeat.times + 1))
            for occurrence in occurrences:
                if not self.is_released(tranche.id, occurrence):
                    total += self.amount_of(tranche, occurrence) or ZERO
        return total

    def tranche_statuses(self) -> list[tuple[str, int | None, TrancheStatus, Decimal | None]]:
        """(tranche, occurrence, pending|released|freed, amount) for every occurrence; the
        amount is None for a share not yet granted (rule 17: a proposed line)."""
        rows: list[tuple[str, int | None, TrancheStatus, Decimal | None]] = []
        for _, tranche in self.programme.spec.tranches():
            occurrences: list[int | None] = [None]
            if tranche.repeat is not None:
                occurrences += list(range(1, tranche.repeat.times + 1))
            for occurrence in occurrences:
                status: TrancheStatus
                if self.is_released(tranche.id, occurrence):
                    status = "released"
                else:
                    status = "freed" if self.closed else "pending"
                rows.append((tranche.id, occurrence, status, self.amount_of(tranche, occurrence)))
        return rows

    def tranche(self, tranche_id: str) -> tuple[Phase, TrancheSpec] | None:
        return self.programme.spec.tranche(tranche_id)


class TransitionRequestMark(_State):
    """An open request of the collective for a transition (rule 15), named by its event's
    seq. Its reason is in its event only, and once answered or declined it leaves the state:
    PostgreSQL keeps every request (`transition_requests`)."""

    seq: int
    action: Literal["advance", "restart", "pivot", "pause", "resume", "close"]
    to: Phase | None = None
    at: datetime

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        # Recorded before requests left the state: their reason and status went with them.
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in _LEGACY_REQUEST_FIELDS}
        return data


_LEGACY_REQUEST_FIELDS = frozenset({"reason", "status", "decided_at"})


class CooperationState(_State):
    id: str
    name: str | None = None
    """The cooperation's own name (a project's, not a person's); None in states recorded
    before it was kept."""
    rules_version: int = 1
    """The version of the lifecycle rules this cooperation runs under (`domain.rules`): a
    changed behaviour is gated on it, so a recorded decision is never decided differently.
    States recorded before versions were kept ran under version 1."""
    kind: Kind
    model: str | None = None
    economic_model: EconomicModel
    members: list[Member]
    lead: str | None = None
    fiscal_host: str | None = None
    facilitator: str | None = None
    former_fiscal_host: str | None = None
    """Rule 20: the fiscal host whose hosting ended (`fiscal_host` is then None)."""
    hosting_ended_at: datetime | None = None
    registered_at: datetime
    phase: Phase
    """The current phase; after close, the phase the cooperation was in."""
    outcome: Outcome | None = None
    closed_at: datetime | None = None
    stint: Stint
    pauses: list[PauseSpan] = []
    check_ins: list[CheckIn] = []
    """Every check-in not replaced (replaced ones leave: the state never grows with them)."""
    lines: list[Line] = []
    requests: list[TransitionRequestMark] = []
    """The open transition requests (states recorded before they were kept have none)."""
    next_seq: int = 1
    last_at: datetime
    """The latest instant a command or the clock was applied at: time never goes back."""

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """States recorded by older code (histories, runs carried across continue-as-new)
        load without what no rule reads: the pivot's objectives, requests answered or
        declined, replaced check-ins, the angle of a line no longer proposed. Free text
        lives in the events and PostgreSQL, never in the state."""
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k != "objectives"}
        if isinstance(data.get("requests"), list):
            data["requests"] = [
                r
                for r in data["requests"]
                if not isinstance(r, dict) or r.get("status", "open") == "open"
            ]
        if isinstance(data.get("check_ins"), list):
            data["check_ins"] = [
                ci
                for ci in data["check_ins"]
                if not isinstance(ci, dict) or ci.get("replaced_by") is None
            ]
        if isinstance(data.get("lines"), list):
            data["lines"] = [
                {**x, "angle": None}
                if isinstance(x, dict) and x.get("status", "proposed") != "proposed"
                else x
                for x in data["lines"]
            ]
        return data

    @property
    def closed(self) -> bool:
        return self.outcome is not None

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].end is None

    def line(self, line_id: str) -> Line | None:
        return next((line for line in self.lines if line.id == line_id), None)

    def active_lines(self) -> list[Line]:
        return [line for line in self.lines if line.status == "active"]

    def member(self, member_id: str) -> Member | None:
        return next((m for m in self.members if m.id == member_id), None)

    def check_in(self, check_in_id: str) -> CheckIn | None:
        return next((c for c in self.check_ins if c.id == check_in_id), None)


# Check-in schedule arithmetic (rule 8), shared by the rules and by readers of the state.


def segment_of(stint: Stint, period: int) -> Segment:
    # The last segment that starts at or before `period` (segments go in period order).
    for segment in reversed(stint.segments):
        if segment.first_period <= period:
            return segment
    raise IndexError(f"period {period} comes before the stint's first segment")


def due_of(stint: Stint, period: int) -> datetime:
    """Period k is due at anchor + j × cadence, j counting periods from its anchor."""
    segment = segment_of(stint, period)
    return add(segment.anchor, segment.cadence, period - segment.first_period + 1)


def reminder_of(stint: Stint, period: int) -> datetime:
    return subtract(due_of(stint, period), segment_of(stint, period).reminder_before)


def overdue_of(stint: Stint, period: int) -> datetime:
    return add(due_of(stint, period), segment_of(stint, period).grace)


def period_at(stint: Stint, moment: datetime) -> int:
    """The period covering `moment`: period k covers (due k−1, due k]."""
    last = stint.segments[-1]
    if moment <= last.anchor:
        k = 1
        while due_of(stint, k) < moment:
            k += 1
        return k
    # Within the last segment due dates only grow with the period (each is computed from
    # the anchor): the first one not before `moment` is found by doubling, then halving,
    # instead of walking every period of a long stint.
    low = last.first_period
    if due_of(stint, low) >= moment:
        return low
    step, high = 1, low + 1
    while due_of(stint, high) < moment:
        low, step = high, 2 * step
        high = low + step
    while high - low > 1:
        middle = (low + high) // 2
        if due_of(stint, middle) < moment:
            low = middle
        else:
            high = middle
    return high


def has_begun(stint: Stint, period: int, moment: datetime) -> bool:
    if period == 1:
        return moment >= stint.segments[0].anchor
    return moment > due_of(stint, period - 1)


def next_check_in(state: CooperationState) -> tuple[int, datetime] | None:
    """(period, due) of the first period of the current stint still waiting for a check-in."""
    stint = state.stint
    if state.closed or not stint.segments:
        return None
    k = period_at(stint, state.last_at)
    while True:
        mark = stint.periods.get(k)
        if mark is None or not (mark.void or mark.check_in):
            return k, due_of(stint, k)
        k += 1
