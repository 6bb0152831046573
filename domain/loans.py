"""A loan's repayment schedule and its reminders (DESIGN.md rule 11).

Installment k falls at disbursement + (grace + k × installment_every), the sum added to the
disbursement in one step so month-end clamping never accumulates. There are as many
installments as such dates that fall on or before disbursement + term. When the last of them
does not land exactly on disbursement + term (say grace P6M, every P5M, term P24M: the fourth
would fall at P26M, the third at P21M), the schedule has no extra installment: the last one is
moved to disbursement + term, so the loan always ends on its term and a shortened cadence
never creates a payment the terms do not count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, localcontext

from pydantic import BaseModel, ConfigDict

from domain.durations import Duration, add, parse, subtract
from domain.money import DecimalText, amount, cents, half_even
from domain.tranche_terms import LoanTerms

DAYS_PER_YEAR = 365


class Installment(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    """1-based."""
    due: date
    principal: DecimalText
    interest: DecimalText

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


def _calendar(terms: LoanTerms, name: str) -> Duration:
    duration = parse(getattr(terms, name))
    if duration.seconds:
        # A date ignores a partial day, so PT12H would silently count as nothing, and a cadence
        # under a day would put several installments on one date.
        raise ValueError(
            f"loan {name} {getattr(terms, name)!r} has a time part: installments fall on "
            "dates, so use years, months, weeks or days"
        )
    return duration


def _digits(value: Decimal) -> int:
    return len(value.as_tuple().digits)


def loan_schedule(principal: Decimal, terms: LoanTerms, disbursed: date) -> list[Installment]:
    """The installments of a loan of `principal` disbursed on `disbursed`, in order."""
    try:
        principal = amount(principal)
    except ValueError as exc:
        raise ValueError(f"loan principal {principal}: {exc}") from None
    if principal == 0:
        raise ValueError("loan principal must be positive")
    grace = _calendar(terms, "grace")
    every = _calendar(terms, "installment_every")
    end = add(disbursed, _calendar(terms, "term"))

    dues: list[date] = []
    while (due := add(disbursed, grace.plus(every.times(len(dues) + 1)))) <= end:
        dues.append(due)
    if not dues:
        raise ValueError(
            f"loan term {terms.term} ends on {end}, before the first installment at grace "
            f"{terms.grace} + {terms.installment_every} ({due}): the term must cover the grace "
            "and at least one installment"
        )
    dues[-1] = end

    n = len(dues)
    # Enough digits that the context never rounds before rule 11 does: balance × rate × days
    # is exact (a product needs the sum of its operands' digits; day counts and n have at most
    # 7, the calendar ending in 9999), and the guard digits on the divisions keep a quotient on
    # the same side of a cent (or half-cent) boundary as its exact value.
    with localcontext() as ctx:
        ctx.prec = _digits(principal) + _digits(terms.annual_rate) + 7 + 12
        share = cents(principal / n)
        schedule: list[Installment] = []
        balance = principal
        previous = disbursed
        for number, due in enumerate(dues, start=1):
            part = share if number < n else principal - share * (n - 1)
            days = (due - previous).days
            interest = half_even(balance * terms.annual_rate * days / DAYS_PER_YEAR)
            schedule.append(Installment(number=number, due=due, principal=part, interest=interest))
            balance -= part
            previous = due
    return schedule


def loan_reminders(schedule: Sequence[Installment], terms: LoanTerms) -> list[tuple[int, date]]:
    """(installment number, reminder date) for each installment: due − `reminder_before`.

    Whether an installment is already repaid in full (and so needs no reminder) is history,
    not terms: the caller skips those.
    """
    before = parse(terms.reminder_before)
    return [(item.number, subtract(item.due, before)) for item in schedule]
