"""Rule 11: loans in the cooperation's life. A loan disburses once (a release of kind
`loan`), then runs its own schedule (computed by `domain.loans`): reminders, installments
due, overdues, repayments, a write-off; the cooperation stays open until every loan is
settled.

Rules 2 (domain/rules.py) settled what rules 1 left open: repayments go to the oldest
installment still owed, interest first; an installment not repaid in full at due + P30D is
overdue; a loan is settled when repaid in full or written off, and nothing of it falls due
after that. Rules 3 take a repayment once per request id, and post it under that id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from domain import commands as c
from domain.effects import PostRepayment, StartLoan
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.lifecycle.context import Context, Occurrence, known_line, money_text
from domain.lifecycle.line_events import line_keys
from domain.line_records import Loan, LoanInstallment
from domain.loans import loan_reminders, loan_schedule
from domain.money import ZERO
from domain.programme import TrancheSpec
from domain.state import CooperationState, Line
from domain.tranche_terms import LoanTerms

OVERDUE_AFTER = timedelta(days=30)
"""An installment not repaid in full at due + P30D is overdue (rules 2)."""


def is_finished(state: CooperationState) -> bool:
    """Closed, with every loan settled (rule 11): the workflow may end."""
    return state.closed and all(
        loan.settled(state.rules_version) for line in state.lines for loan in line.loans
    )


def adopt_overdues(state: CooperationState, at: datetime) -> None:
    """Moving to rules 2 at `at`: installments already past their overdue instant are not
    announced late, dated in the past."""
    for line in state.lines:
        for loan in line.loans:
            for item in loan.installments:
                if item.due_at + OVERDUE_AFTER < at:
                    item.overdue_done = True


def _on(day: date, like: datetime) -> datetime:
    """A loan date at the time of day of its disbursement."""
    return datetime.combine(day, time(like.hour, like.minute, like.second, like.microsecond), UTC)


def disburse(
    ctx: Context, line: Line, tranche: TrancheSpec, terms: LoanTerms, at: datetime, key: str
) -> None:
    """The loan a release of kind `loan` opens: its schedule, and the loan's own workflow."""
    principal = tranche.amount
    assert principal is not None  # a loan tranche always gives its amount (rule 17)
    schedule = loan_schedule(principal, terms, at.date())
    reminders = dict(loan_reminders(schedule, terms))
    installments = []
    for item in schedule:
        reminder = _on(reminders[item.number], at)
        installments.append(
            LoanInstallment(
                number=item.number,
                due=item.due,
                due_at=_on(item.due, at),
                principal=item.principal,
                interest=item.interest,
                # A reminder that would precede the loan itself is skipped.
                reminder_at=reminder if reminder >= at else None,
            )
        )
    line.loans.append(
        Loan(
            tranche=tranche.id,
            principal=principal,
            terms=terms,
            disbursed_at=at,
            installments=installments,
        )
    )
    ctx.effects.append(
        StartLoan(
            line=line.id,
            tranche=tranche.id,
            principal=principal,
            terms=terms,
            disbursed=at.date(),
            key=key,
        )
    )


# ---------------------------------------------------------------------------------------
# The loan clock: installments due, then reminders (clock.py orders the two kinds)


def _live_loans(s: CooperationState) -> list[tuple[int, Line, int, Loan]]:
    """(line index, line, loan index, loan) of every loan whose clock still runs."""
    return [
        (i, line, j, loan)
        for i, line in enumerate(s.lines)
        for j, loan in enumerate(line.loans)
        if s.rules_version < 2 or not loan.settled(s.rules_version)
    ]


def loan_occurrences(
    s: CooperationState,
) -> tuple[list[Occurrence], list[Occurrence], list[Occurrence]]:
    """The three loan kinds (installments due, overdue, reminders), from one pass over the
    live loans: the clock asks for all three at every wakeup."""
    due_found: list[Occurrence] = []
    overdue_found: list[Occurrence] = []
    reminder_found: list[Occurrence] = []
    overdues = s.rules_version >= 2
    for i, line, j, loan in _live_loans(s):
        due = next((x for x in loan.installments if not x.due_done), None)
        if due is not None:
            due_found.append(
                Occurrence(due.due_at, (i, j, due.number), _loan_due(line.id, j, due.number))
            )
        if overdues:
            item = next((x for x in loan.installments if not x.overdue_done and not x.repaid), None)
            if item is not None:
                overdue_found.append(
                    Occurrence(
                        item.due_at + OVERDUE_AFTER,
                        (i, j, item.number),
                        _loan_overdue(line.id, j, item.number),
                    )
                )
        for item in loan.installments:
            if item.reminder_done or item.reminder_at is None or item.repaid:
                continue
            reminder_found.append(
                Occurrence(
                    item.reminder_at,
                    (i, j, item.number),
                    _loan_reminder(line.id, j, item.number),
                )
            )
            break
    return due_found, overdue_found, reminder_found


def loan_due_occurrences(s: CooperationState) -> list[Occurrence]:
    return loan_occurrences(s)[0]


def loan_overdue_occurrences(s: CooperationState) -> list[Occurrence]:
    return loan_occurrences(s)[1]


def loan_reminder_occurrences(s: CooperationState) -> list[Occurrence]:
    return loan_occurrences(s)[2]


def _installment(
    s: CooperationState, line_id: str, loan: int, number: int
) -> tuple[Line, Loan, LoanInstallment]:
    line = s.line(line_id)
    assert line is not None
    item = line.loans[loan].installments[number - 1]
    return line, line.loans[loan], item


def _loan_data(line: Line, loan: Loan, item: LoanInstallment) -> dict[str, Any]:
    return {
        "line": line.id,
        "tranche": loan.tranche,
        "installment": item.number,
        "due": item.due.isoformat(),
        "principal": money_text(item.principal),
        "interest": money_text(item.interest),
        "paid": money_text(item.paid),
        "currency": line.currency,
    }


def _loan_due(line_id: str, loan: int, number: int) -> Callable[[Context], None]:
    def apply(ctx: Context) -> None:
        line, the_loan, item = _installment(ctx.state, line_id, loan, number)
        item.due_done = True
        ctx.emit("LoanInstallmentDue", item.due_at, **_loan_data(line, the_loan, item))

    return apply


def _loan_overdue(line_id: str, loan: int, number: int) -> Callable[[Context], None]:
    def apply(ctx: Context) -> None:
        line, the_loan, item = _installment(ctx.state, line_id, loan, number)
        item.overdue_done = True
        seq = ctx.emit(
            "LoanInstallmentOverdue",
            item.due_at + OVERDUE_AFTER,
            **_loan_data(line, the_loan, item),
            owed=money_text(item.owed),
        )
        ctx.notify("funder", line.funder, "LoanInstallmentOverdue", seq)
        ctx.notify("facilitator", ctx.state.facilitator, "LoanInstallmentOverdue", seq)

    return apply


def _loan_reminder(line_id: str, loan: int, number: int) -> Callable[[Context], None]:
    def apply(ctx: Context) -> None:
        line, the_loan, item = _installment(ctx.state, line_id, loan, number)
        item.reminder_done = True
        assert item.reminder_at is not None
        seq = ctx.emit(
            "LoanInstallmentReminderSent", item.reminder_at, **_loan_data(line, the_loan, item)
        )
        ctx.notify("collective", ctx.state.id, "LoanInstallmentReminderSent", seq)

    return apply


# ---------------------------------------------------------------------------------------
# Repayments


def _disbursed(
    s: CooperationState, line_id: str, tranche_id: str
) -> tuple[Line, TrancheSpec, Loan]:
    line = known_line(s, line_id)
    found = line.tranche(tranche_id)
    if found is None:
        raise InvalidInput(f"programme {line.id!r} has no tranche {tranche_id!r}", "tranche")
    _, tranche = found
    if tranche.loan is None:
        raise InvalidInput(f"tranche {tranche.id!r} is a grant, not a loan", "tranche")
    loan = next((x for x in line.loans if x.tranche == tranche.id), None)
    if loan is None:
        raise Conflict(f"loan {tranche.id!r} of line {line.id!r} is not disbursed")
    return line, tranche, loan


def _require_unsettled(s: CooperationState, line: Line, loan: Loan) -> None:
    if s.rules_version >= 2 and loan.settled(s.rules_version):
        how = "written off" if loan.written_off is not None else "repaid in full"
        raise Conflict(f"loan {loan.tranche!r} of line {line.id!r} is settled ({how})")


def record_repayment(ctx: Context, cmd: c.RecordRepayment, now: datetime) -> None:
    s = ctx.state
    line, tranche, loan = _disbursed(s, cmd.line, cmd.tranche)
    if s.rules_version < 2:
        _record_repayment_rules_1(ctx, cmd, now, line, tranche, loan)
        return
    # Rules 3: a repayment is taken once per request id, at any distance in time, and posted
    # under it. The shell gives every command its request id; rules 2 were recorded without
    # one (keyed by the next seq) and keep deciding so.
    taken = cmd.request_id if s.rules_version >= 3 else None
    if taken is not None and taken in loan.repayments:
        return  # taken already: a repeated request records nothing twice
    _require_unsettled(s, line, loan)
    if cmd.installment is not None:
        raise InvalidInput(
            "a repayment goes to the oldest installment still owed: leave installment out",
            "installment",
        )
    if cmd.amount <= 0:
        raise InvalidInput("a repayment must be positive", "amount")
    if cmd.amount > loan.outstanding:
        raise Conflict(
            f"{money_text(cmd.amount)} is more than what the loan still expects "
            f"({money_text(loan.outstanding)} {line.currency})"
        )
    if cmd.on is not None and not loan.disbursed_at.date() <= cmd.on <= now.date():
        raise InvalidInput(
            f"the repayment day {cmd.on} is not between the disbursement "
            f"({loan.disbursed_at.date()}) and today ({now.date()})",
            "on",
        )
    left = cmd.amount
    applied: list[dict[str, Any]] = []
    for item in loan.installments:
        take = min(left, item.owed)
        if take <= 0:
            continue
        interest = min(take, max(item.interest - item.paid, ZERO))
        item.paid += take
        left -= take
        applied.append(
            {
                "installment": item.number,
                "amount": money_text(take),
                "interest": money_text(interest),
                "principal": money_text(take - interest),
            }
        )
        if left == 0:
            break
    if taken is not None:
        loan.repayments.append(taken)
    key = f"{s.id}:{line.id}:{tranche.id}:repayment:{taken or s.next_seq}"
    _repayment_recorded(
        ctx,
        cmd,
        now,
        (line, tranche, loan),
        applied,
        key,
        on=cmd.on.isoformat() if cmd.on else None,
        settled=loan.settled(s.rules_version),
    )


def write_off(ctx: Context, cmd: c.WriteOff, now: datetime) -> None:
    """The funder gives up what the schedule still expects: the loan is settled."""
    s = ctx.state
    if s.rules_version < 2:
        raise Conflict("write-offs come with rules 2; this cooperation runs under rules 1")
    line, tranche, loan = _disbursed(s, cmd.line, cmd.tranche)
    _require_unsettled(s, line, loan)
    if cmd.by.role != "funder" or cmd.by.id != line.funder:
        raise Forbidden(
            f"only the funder of line {line.id!r} ({line.funder}) writes off its loan", "by"
        )
    principal = sum((i.principal - max(i.paid - i.interest, ZERO) for i in loan.installments), ZERO)
    amount = loan.outstanding
    loan.written_off = amount
    loan.written_off_at = now
    seq = ctx.emit(
        "LoanWrittenOff",
        now,
        line=line.id,
        tranche=tranche.id,
        amount=money_text(amount),
        principal=money_text(principal),
        interest=money_text(amount - principal),
        currency=line.currency,
        reason=cmd.reason,
        by=cmd.by.id,
    )
    ctx.notify("facilitator", s.facilitator, "LoanWrittenOff", seq)
    ctx.notify("collective", s.id, "LoanWrittenOff", seq)


def _post_repayment(
    ctx: Context,
    cmd: c.RecordRepayment,
    now: datetime,
    line: Line,
    tranche: TrancheSpec,
    key: str,
) -> None:
    ctx.effects.append(
        PostRepayment(
            **line_keys(line),
            tranche=tranche.id,
            purpose=tranche.purpose,
            amount=cmd.amount,
            currency=line.currency,
            payee=line.funder,
            beneficiary=ctx.state.id,
            at=now,
            key=key,
        )
    )


def _record_repayment_rules_1(
    ctx: Context,
    cmd: c.RecordRepayment,
    now: datetime,
    line: Line,
    tranche: TrancheSpec,
    loan: Loan,
) -> None:
    """Rules 1, as recorded: from the named installment (else the first not repaid in full)
    onwards, wrapping round; keyed by the next seq."""
    s = ctx.state
    if cmd.amount <= 0:
        raise InvalidInput("a repayment must be positive", "amount")
    if cmd.amount > loan.outstanding:
        raise InvalidInput(
            f"{money_text(cmd.amount)} is more than what is outstanding "
            f"({money_text(loan.outstanding)} {line.currency})",
            "amount",
        )
    items = loan.installments
    if cmd.installment is not None and cmd.installment > len(items):
        raise InvalidInput(f"the loan has {len(items)} installments", "installment")
    start = (cmd.installment or 1) - 1
    if cmd.installment is None:
        start = next((i for i, x in enumerate(items) if not x.repaid), 0)
    left = cmd.amount
    applied: list[dict[str, Any]] = []
    for item in items[start:] + items[:start]:
        take = min(left, item.total - item.paid)
        if take > 0:
            item.paid += take
            left -= take
            applied.append({"installment": item.number, "amount": money_text(take)})
        if left == 0:
            break
    key = f"{s.id}:{line.id}:{tranche.id}:repayment:{s.next_seq}"
    # Rules 1 recorded neither the day paid nor whether the loan was settled.
    _repayment_recorded(ctx, cmd, now, (line, tranche, loan), applied, key, on=None)


def _repayment_recorded(
    ctx: Context,
    cmd: c.RecordRepayment,
    now: datetime,
    repaid: tuple[Line, TrancheSpec, Loan],
    applied: list[dict[str, Any]],
    key: str,
    on: str | None,
    **after: Any,
) -> None:
    """The repayment's event (`after`: what follows `outstanding` in it) and its posting."""
    line, tranche, loan = repaid
    ctx.emit(
        "RepaymentRecorded",
        now,
        line=line.id,
        tranche=tranche.id,
        amount=money_text(cmd.amount),
        currency=line.currency,
        on=on,
        installments=applied,
        outstanding=money_text(loan.outstanding),
        **after,
    )
    _post_repayment(ctx, cmd, now, line, tranche, key)
