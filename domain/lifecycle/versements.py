"""Rule 19 (rules 3): a release is an order to pay, not a payment.

Each payee's part of a release, and a loan's disbursement, is a *versement* ordered at the
release's instant. With `payment_within` in the line's programme it is due by the order's
date + payment_within (calendar arithmetic, domain/durations.py). The line's funder records
it paid (`VersementPaid`, with `days_late`); one not paid at due + P1D is `VersementLate`
once, and the funder and the facilitator are notified. Under rules 1 and 2 a release keeps
no versement: nothing here decides for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from domain import commands as c
from domain.durations import add
from domain.effects import Part
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.events import instant
from domain.lifecycle.context import Context, Occurrence, known_line, money_text, require_open
from domain.line_records import Versement
from domain.state import CooperationState, Line

LATE_AFTER = timedelta(days=1)
"""A versement not paid at due + P1D is late."""


def due_on(line: Line, ordered_at: datetime) -> date | None:
    """The date a versement ordered at `ordered_at` is due by; None without payment_within."""
    within = line.programme.spec.payment_within
    return add(ordered_at.date(), within) if within is not None else None


def order(
    ctx: Context,
    line: Line,
    tranche: str,
    occurrence: int | None,
    parts: Sequence[Part],
    at: datetime,
) -> date | None:
    """A release's parts become versements ordered at `at` (rules 3); their due date."""
    if ctx.state.rules_version < 3:
        return None
    due = due_on(line, at)
    for part in parts:
        line.versements.append(
            Versement(
                tranche=tranche,
                occurrence=occurrence,
                payee=part.payee,
                amount=part.amount,
                ordered_at=at,
                due_on=due,
            )
        )
    return due


def days_late(versement: Versement, paid_on: date) -> int:
    """Days after the due date; 0 when on time or without a due date."""
    if versement.due_on is None:
        return 0
    return max(0, (paid_on - versement.due_on).days)


def late_at(versement: Versement) -> datetime | None:
    """When an unpaid versement is late: due + P1D, at the time of day of its order (as a
    loan's dates keep their disbursement's)."""
    if versement.due_on is None:
        return None
    ordered = versement.ordered_at
    return datetime.combine(
        versement.due_on + LATE_AFTER,
        time(ordered.hour, ordered.minute, ordered.second, ordered.microsecond),
        UTC,
    )


def _data(line: Line, v: Versement) -> dict[str, object]:
    return {
        "line": line.id,
        "programme": line.programme.spec.id,
        "tranche": v.tranche,
        "occurrence": v.occurrence,
        "payee": v.payee,
        "amount": money_text(v.amount),
        "currency": line.currency,
        "ordered_at": instant(v.ordered_at),
        "due_on": v.due_on.isoformat() if v.due_on is not None else None,
    }


# ---------------------------------------------------------------------------------------
# The clock: VersementLate


def versement_late_occurrences(s: CooperationState) -> list[Occurrence]:
    # Closed: nothing more is recorded paid (rule 13), so nothing is announced late.
    if s.rules_version < 3 or s.closed:
        return []
    found: list[Occurrence] = []
    for i, line in enumerate(s.lines):
        for j, v in enumerate(line.versements):
            if v.paid_on is None and not v.late_done:
                at = late_at(v)
                if at is not None:
                    found.append(Occurrence(at, (i, j), _late(line.id, j)))
    return found


def _late(line_id: str, index: int) -> Callable[[Context], None]:
    def apply(ctx: Context) -> None:
        s = ctx.state
        line = s.line(line_id)
        assert line is not None
        v = line.versements[index]
        at = late_at(v)
        assert at is not None
        v.late_done = True
        seq = ctx.emit("VersementLate", at, **_data(line, v))
        ctx.notify("funder", line.funder, "VersementLate", seq)
        ctx.notify("facilitator", s.facilitator, "VersementLate", seq)

    return apply


# ---------------------------------------------------------------------------------------
# The funder records a versement paid


def record_paid(ctx: Context, cmd: c.RecordPaid, now: datetime) -> None:
    s = ctx.state
    if s.rules_version < 3:
        raise Conflict(
            f"versements are recorded paid from rules 3; this cooperation runs under rules "
            f"{s.rules_version}"
        )
    require_open(s, "record a versement paid")
    line = known_line(s, cmd.line)
    if cmd.by.role != "funder" or cmd.by.id != line.funder:
        raise Forbidden(
            f"only the funder of line {line.id!r} ({line.funder}) records its versements paid",
            "by",
        )
    found = line.tranche(cmd.tranche)
    if found is None:
        raise InvalidInput(f"programme {line.id!r} has no tranche {cmd.tranche!r}", "tranche")
    _, tranche = found
    times = tranche.repeat.times if tranche.repeat is not None else 0
    if cmd.occurrence is not None and cmd.occurrence > times:
        raise InvalidInput(
            f"tranche {tranche.id!r} has no occurrence {cmd.occurrence}"
            + (f" (repeats 1 to {times})" if times else " (it does not repeat)"),
            "occurrence",
        )
    parts = [
        v for v in line.versements if v.tranche == tranche.id and v.occurrence == cmd.occurrence
    ]
    which = f"tranche {tranche.id!r}" + (
        f" occurrence {cmd.occurrence}" if cmd.occurrence is not None else ""
    )
    if not parts:
        if line.has_released(tranche.id, cmd.occurrence):
            raise Conflict(f"{which} of line {line.id!r} was released before rules 3 or is held")
        raise Conflict(f"{which} of line {line.id!r} is not released: nothing is ordered yet")
    if cmd.payee is not None:
        parts = [v for v in parts if v.payee == cmd.payee]
        if not parts:
            raise InvalidInput(
                f"{which} of line {line.id!r} pays nothing to {cmd.payee!r}", "payee"
            )
    unpaid = [v for v in parts if v.paid_on is None]
    if not unpaid:
        paid = ", ".join(sorted({v.paid_on.isoformat() for v in parts if v.paid_on}))
        raise Conflict(f"{which} of line {line.id!r} is already recorded paid (on {paid})")
    ordered = min(v.ordered_at for v in unpaid).date()
    if cmd.paid_on < ordered:
        raise InvalidInput(
            f"{cmd.paid_on} is before the versement was ordered ({ordered})", "paid_on"
        )
    if cmd.paid_on > now.date():
        raise InvalidInput(f"{cmd.paid_on} is after today ({now.date()})", "paid_on")
    for v in unpaid:
        v.paid_on = cmd.paid_on
        ctx.emit(
            "VersementPaid",
            now,
            **_data(line, v),
            paid_on=cmd.paid_on.isoformat(),
            days_late=days_late(v, cmd.paid_on),
            by=cmd.by.id,
        )


# ---------------------------------------------------------------------------------------
# Reports (rule 12): what the period ordered and what it paid


def report_part(in_period: Sequence[Mapping[str, Any]], line: str) -> dict[str, Any]:
    """The line's versements in a report period, from its events (`{type, at, data}`): each
    part ordered (a release's, with its due date), each recorded paid (with its days late),
    each gone late, and the totals ordered and paid."""

    def part(ev: Mapping[str, Any], data: Mapping[str, Any], **more: Any) -> dict[str, Any]:
        return {
            "at": ev["at"].isoformat(),
            "tranche": ev["data"].get("tranche"),
            "occurrence": ev["data"].get("occurrence"),
            "payee": data.get("payee"),
            "amount": data.get("amount"),
            "due_on": ev["data"].get("due_on"),
            **more,
        }

    mine = [ev for ev in in_period if ev["data"].get("line") == line]
    ordered = [
        part(ev, p)
        for ev in mine
        if ev["type"] == "TrancheReleased"
        for p in ev["data"].get("parts") or []
    ]
    paid = [
        part(
            ev, ev["data"], paid_on=ev["data"].get("paid_on"), days_late=ev["data"].get("days_late")
        )
        for ev in mine
        if ev["type"] == "VersementPaid"
    ]
    late = [part(ev, ev["data"]) for ev in mine if ev["type"] == "VersementLate"]

    def total(items: list[dict[str, Any]]) -> str:
        return money_text(sum((Decimal(str(i["amount"] or "0")) for i in items), Decimal("0.00")))

    return {
        "ordered": ordered,
        "paid": paid,
        "late": late,
        "ordered_total": total(ordered),
        "paid_total": total(paid),
    }
