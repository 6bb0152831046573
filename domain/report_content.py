"""Rule 12: what a funder's report shows, built from the event log alone (pure: no I/O, no
words). The shared parts (check-ins and their indicators, members, moves) and the funder's own
line (its money, its commitment, its loans, its versements, its angle), never another line's.
The content is stored as it is built here; `notify.reports` only puts it in words.

Events are the log's rows as mappings: `seq`, `type`, `at` (an aware datetime) and `data`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from domain.events import instant
from domain.lifecycle import versements
from domain.loans import Installment, loan_schedule
from domain.programme import ProgrammeSpec, Purpose
from domain.tranche_terms import LoanTerms

LoggedEvent = Mapping[str, Any]
"""An event as the log holds it: `{seq, type, at, data}`."""

_MOVES = ("PhaseEntered", "Restarted", "Pivoted", "Paused", "Resumed", "Closed")
_PAUSES = ("Paused", "Resumed", "Closed")
_ZERO = Decimal("0.00")
PURPOSES = tuple(purpose.value for purpose in Purpose)
"""In the programme's order of purposes: reports list them so."""


def _money(value: Decimal) -> str:
    return format(value, "f")


def build_report(
    cooperation_id: str,
    line: str,
    start: datetime,
    end: datetime,
    events: Sequence[LoggedEvent],
    *,
    name: str | None = None,
    programme: ProgrammeSpec | None = None,
) -> dict[str, Any]:
    """What a funder reads for one period of its line (rule 12), from the event log up to
    `end`: the shared parts (check-ins and their indicators, members, moves) and this line's
    own money and angle only, never another line's.

    The period is (start, end]; the first one also holds what happened at the attachment
    itself, from the attachment on (the entry tranche, the phase entered at registration).
    `programme` (the line's version) gives its name and the loans' schedules.
    """
    attached = _attachment(events, line)
    in_period = [ev for ev in events if _in_period(ev, start, end, attached)]
    mine = [ev for ev in events if ev["data"].get("line") == line]
    proposal: Mapping[str, Any] = next(
        (
            ev["data"]
            for ev in reversed(mine)
            if ev["type"] in ("FundingLineProposed", "FundingLineAttached")
        ),
        {},
    )
    currency = proposal.get("currency") or (programme.currency if programme else None)
    registered: Mapping[str, Any] = next(
        (ev["data"] for ev in events if ev["type"] == "CooperationRegistered"), {}
    )
    angle = proposal.get("angle")
    counts = Counter(ev["type"] for ev in in_period)
    decisions = Counter(
        ev["data"].get("decision") for ev in in_period if ev["type"] == "CheckInReviewed"
    )
    check_ins = _check_ins(events, in_period)
    releases = _releases(in_period, line)
    return {
        "cooperation": cooperation_id,
        "name": name,
        "line": line,
        "programme": {
            "id": proposal.get("programme", line),
            "name": programme.name if programme is not None else None,
        },
        "funder": proposal.get("funder"),
        "currency": currency,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "phase": next(
            (ev["data"]["phase"] for ev in reversed(events) if ev["type"] == "PhaseEntered"),
            None,
        ),
        "outcome": next(
            (ev["data"].get("outcome") for ev in events if ev["type"] == "Closed"), None
        ),
        "paused": next(
            (ev["type"] == "Paused" for ev in reversed(events) if ev["type"] in _PAUSES),
            False,
        ),
        "fiscal_host": registered.get("fiscal_host"),
        "facilitator": registered.get("facilitator"),
        "angle": angle,
        "check_ins": {
            "submitted": counts["CheckInSubmitted"],
            "accepted": decisions["accepted"],
            "changes_requested": decisions["changes_requested"],
            "overdue": counts["CheckInOverdue"],
            "items": check_ins,
            "overdue_periods": [
                {
                    "period": ev["data"].get("period"),
                    "phase": ev["data"].get("phase"),
                    "due": ev["data"].get("due"),
                }
                for ev in in_period
                if ev["type"] == "CheckInOverdue"
            ],
        },
        "indicators": _indicators(check_ins, (angle or {}).get("indicators") or []),
        **_members(events, in_period, (angle or {}).get("members") or []),
        "moves": [
            {"type": ev["type"], "at": ev["at"].isoformat(), **ev["data"]}
            for ev in in_period
            if ev["type"] in _MOVES
        ],
        "releases": releases,
        "commitment": _commitment(mine, proposal),
        "loans": _loans(mine, in_period, line, end, programme),
        "versements": versements.report_part(in_period, line),
    }


def _attachment(events: Sequence[LoggedEvent], line: str) -> tuple[datetime, int] | None:
    """When and at which seq the line was (last) attached."""
    return next(
        (
            (ev["at"], ev["seq"])
            for ev in reversed(events)
            if ev["type"] == "FundingLineAttached" and ev["data"].get("line") == line
        ),
        None,
    )


def _in_period(
    ev: LoggedEvent, start: datetime, end: datetime, attached: tuple[datetime, int] | None
) -> bool:
    if start < ev["at"] <= end:
        return True
    # Periods are (start, end]: the attachment's own instant opens the first period, and
    # what came with the attachment (its entry releases) belongs to it.
    return attached is not None and ev["at"] == start == attached[0] and ev["seq"] >= attached[1]


def _check_ins(
    events: Sequence[LoggedEvent], in_period: Sequence[LoggedEvent]
) -> list[dict[str, Any]]:
    """The check-ins submitted in the period, each with its status at the period's end."""
    status: dict[str, str] = {}
    for ev in events:
        data = ev["data"]
        if ev["type"] == "CheckInSubmitted" and data.get("replaces"):
            status[data["replaces"]] = "replaced"
        elif ev["type"] == "CheckInReviewed":
            status[data.get("check_in", "")] = data.get("decision", "submitted")
    return [
        {
            "check_in": ev["data"].get("check_in"),
            "stint": ev["data"].get("stint"),
            "phase": ev["data"].get("phase"),
            "period": ev["data"].get("period"),
            "at": ev["at"].isoformat(),
            "status": status.get(ev["data"].get("check_in", ""), "submitted"),
            "indicators": ev["data"].get("indicators") or {},
        }
        for ev in in_period
        if ev["type"] == "CheckInSubmitted"
    ]


def _indicators(check_ins: list[dict[str, Any]], followed: list[str]) -> list[dict[str, Any]]:
    """The indicators the period's check-ins reported (a replaced check-in's are superseded),
    the angle's first, in its order, even when not reported; then the others as they came."""
    values: dict[str, list[dict[str, Any]]] = {name: [] for name in followed}
    for item in check_ins:
        if item["status"] == "replaced":
            continue
        for name, value in item["indicators"].items():
            values.setdefault(name, []).append(
                {"check_in": item["check_in"], "period": item["period"], "value": value}
            )
    return [
        {"name": name, "featured": name in followed, "values": found}
        for name, found in values.items()
    ]


def _members(
    events: Sequence[LoggedEvent], in_period: Sequence[LoggedEvent], featured: list[str]
) -> dict[str, Any]:
    """The members at the period's end, the angle's first; who joined and left in it."""
    members: dict[str, dict[str, Any]] = {}
    for ev in events:
        data = ev["data"]
        if ev["type"] == "CooperationRegistered":
            members = {m["id"]: m for m in data.get("members", [])}
        elif ev["type"] == "MemberJoined":
            members[data["id"]] = data
        elif ev["type"] == "MemberLeft":
            members.pop(data.get("member", ""), None)
    joined = {ev["data"].get("id") for ev in in_period if ev["type"] == "MemberJoined"}
    order = [m for m in featured if m in members] + [m for m in members if m not in featured]
    return {
        "members": [
            {
                "id": member,
                "legal_form": members[member].get("legal_form"),
                "informal": members[member].get("informal"),
                "featured": member in featured,
                "joined": member in joined,
            }
            for member in order
        ],
        "members_left": [
            ev["data"].get("member") for ev in in_period if ev["type"] == "MemberLeft"
        ],
    }


def _releases(in_period: Sequence[LoggedEvent], line: str) -> dict[str, Any]:
    """This line's releases in the period, animation apart (rule 12)."""
    items = [
        {
            "at": ev["at"].isoformat(),
            "tranche": ev["data"].get("tranche"),
            "occurrence": ev["data"].get("occurrence"),
            "phase": ev["data"].get("phase"),
            "purpose": ev["data"].get("purpose"),
            "kind": ev["data"].get("kind", "release"),
            "amount": ev["data"].get("amount"),
        }
        for ev in in_period
        if ev["type"] == "TrancheReleased" and ev["data"].get("line") == line
    ]
    by_purpose: dict[str, Decimal] = {}
    for item in items:
        by_purpose[item["purpose"]] = by_purpose.get(item["purpose"], _ZERO) + Decimal(
            item["amount"]
        )
    ordered = [p for p in PURPOSES if p in by_purpose] + sorted(set(by_purpose) - set(PURPOSES))
    return {
        "animation": _money(by_purpose.get("animation", _ZERO)),
        "other": {k: _money(by_purpose[k]) for k in sorted(by_purpose) if k != "animation"},
        "by_purpose": {k: _money(by_purpose[k]) for k in ordered},
        "total": _money(sum(by_purpose.values(), _ZERO)),
        "items": items,
    }


def _commitment(mine: Sequence[LoggedEvent], proposal: Mapping[str, Any]) -> dict[str, str] | None:
    """The line's commitment to the period's end: committed, released, freed at the close."""
    if not any(ev["type"] == "FundingLineAttached" for ev in mine):
        return None

    def total(event_type: str) -> Decimal:
        return sum(
            (Decimal(ev["data"].get("amount", "0")) for ev in mine if ev["type"] == event_type),
            _ZERO,
        )

    return {
        "committed": proposal.get("amount", "0.00"),
        "released": _money(total("TrancheReleased")),
        "freed": _money(total("CommitmentReleased")),
    }


def _loans(
    mine: Sequence[LoggedEvent],
    in_period: Sequence[LoggedEvent],
    line: str,
    end: datetime,
    programme: ProgrammeSpec | None,
) -> dict[str, Any]:
    """The status of the line's loans at the period's end (rule 11)."""
    terms = {}
    if programme is not None:
        terms = {t.id: t.loan for _, t in programme.tranches() if t.loan is not None}
    period_seqs = {ev["seq"] for ev in in_period}
    items = []
    for ev in mine:
        if ev["type"] == "TrancheReleased" and ev["data"].get("kind") == "loan":
            tranche = ev["data"]["tranche"]
            of_loan = [e for e in mine if e["data"].get("tranche") == tranche]
            items.append(_loan(ev, of_loan, period_seqs, end.date(), terms.get(tranche)))
    return {
        "installments_due": sum(item["installments_due"] for item in items),
        "repaid": _money(sum((Decimal(i["repaid"]) for i in items), _ZERO)),
        "outstanding": (
            _money(sum((Decimal(i["outstanding"]) for i in items), _ZERO))
            if all(i["outstanding"] is not None for i in items)
            else None
        ),
        "overdue": _money(sum((Decimal(o["owed"]) for i in items for o in i["overdue"]), _ZERO)),
        "written_off": _money(sum((Decimal(i["written_off"] or "0") for i in items), _ZERO)),
        "items": items,
    }


def _loan(
    release: LoggedEvent,
    events: Sequence[LoggedEvent],
    period_seqs: set[int],
    end: date,
    terms: LoanTerms | None,
) -> dict[str, Any]:
    data = release["data"]
    principal = Decimal(data["amount"])
    schedule: list[Installment] = []
    if terms is not None:
        schedule = loan_schedule(principal, terms, release["at"].date())
    totals = {i.number: i.total for i in schedule}
    paid: dict[int, Decimal] = {}
    due: dict[int, Decimal] = {}
    overdue: dict[int, dict[str, Any]] = {}
    repaid = repaid_in_period = _ZERO
    outstanding: Decimal | None = sum(totals.values(), _ZERO) if schedule else None
    written_off: Mapping[str, Any] | None = None
    settled = False
    for ev in events:
        e = ev["data"]
        if ev["type"] == "LoanInstallmentDue":
            total = Decimal(e["principal"]) + Decimal(e["interest"])
            totals.setdefault(e["installment"], total)
            due[e["installment"]] = total
        elif ev["type"] == "LoanInstallmentOverdue":
            totals.setdefault(e["installment"], Decimal(e["principal"]) + Decimal(e["interest"]))
            overdue[e["installment"]] = {"installment": e["installment"], "due": e["due"]}
        elif ev["type"] == "RepaymentRecorded":
            repaid += Decimal(e["amount"])
            if ev["seq"] in period_seqs:
                repaid_in_period += Decimal(e["amount"])
            for part in e.get("installments", []):
                number = part["installment"]
                paid[number] = paid.get(number, _ZERO) + Decimal(part["amount"])
            outstanding = Decimal(e["outstanding"])
            settled = bool(e.get("settled")) or outstanding == 0
        elif ev["type"] == "LoanWrittenOff":
            written_off = {"amount": e["amount"], "at": ev["at"]}
            outstanding, settled = _ZERO, True
    still_overdue = [
        {**o, "owed": _money(totals[n] - paid.get(n, _ZERO))}
        for n, o in sorted(overdue.items())
        if not settled and totals[n] > paid.get(n, _ZERO)
    ]
    upcoming = next((i for i in schedule if i.due > end), None) if not settled else None
    return {
        "tranche": data["tranche"],
        "principal": data["amount"],
        "disbursed": release["at"].isoformat(),
        "annual_rate": _money(terms.annual_rate) if terms is not None else None,
        "term": terms.term if terms is not None else None,
        "installments": len(schedule) if schedule else None,
        "installments_due": len(due),
        "due_amount": _money(sum(due.values(), _ZERO)),
        "repaid": _money(repaid),
        "repaid_in_period": _money(repaid_in_period),
        "outstanding": _money(outstanding) if outstanding is not None else None,
        "overdue": still_overdue,
        "written_off": written_off["amount"] if written_off else None,
        "written_off_at": instant(written_off["at"]) if written_off else None,
        "settled": settled,
        "next": (
            {
                "installment": upcoming.number,
                "due": upcoming.due.isoformat(),
                "amount": _money(upcoming.total - paid.get(upcoming.number, _ZERO)),
            }
            if upcoming is not None
            else None
        ),
    }
