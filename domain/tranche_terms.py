"""A tranche's terms in a programme spec: how it pays (a grant, or a loan's terms), when
(its trigger) and how often (its repeat); and what every part of a spec shares (`Spec`,
the checks of its durations at the door).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    PositiveInt,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.durations import IsoDuration, parse, reaches_later
from domain.limits import (
    MAX_DURATION_YEARS,
    MAX_INSTALLMENTS,
    MAX_NOTICE_YEARS,
    MAX_OCCURRENCES,
    MAX_RATE,
    RATE_PLACES,
    at_the_door,
    door_check,
)
from domain.money import DecimalText


class Spec(BaseModel):
    """Every part of a programme spec (this module's, `domain.programme`'s)."""

    # Specs are loaded with every copy of a cooperation's state (each line carries its
    # programme), so they do not check every field for storable text as other input does
    # (`storable` on "*"): their only free text is the programme's name, checked by name.
    # Ids, currencies and durations are patterns; amounts are decimals.
    model_config = ConfigDict(extra="forbid", frozen=True)


_RATE_STEP = Decimal(1).scaleb(-RATE_PLACES)


def whole_days(text: str, info: ValidationInfo) -> str:
    """At the door, cadences and loan terms count whole days: a cadence of seconds would put
    millions of dates in a year, and a loan's dates would drop a partial day."""
    if at_the_door(info) and not parse(text).is_calendar:
        raise ValueError(f"{text} has a time part: use years, months, weeks or days (P1D at least)")
    return text


def short_notice(text: str, info: ValidationInfo) -> str:
    if at_the_door(info) and not parse(text).within_years(MAX_NOTICE_YEARS):
        raise ValueError(f"{text} is longer than {MAX_NOTICE_YEARS} year (P{MAX_NOTICE_YEARS}Y)")
    return text


def whole_days_or_none(text: str | None, info: ValidationInfo) -> str | None:
    if text is None:
        return None
    return whole_days(text, info)


class LoanTerms(Spec):
    annual_rate: DecimalText
    grace: IsoDuration
    term: IsoDuration
    installment_every: IsoDuration
    reminder_before: IsoDuration = "P14D"

    _calendar = field_validator("grace", "term", "installment_every", "reminder_before")(whole_days)
    _shortshort_notice = field_validator("reminder_before")(short_notice)

    @field_validator("annual_rate")
    @classmethod
    def _moderate(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        if at_the_door(info):
            if not 0 <= value <= MAX_RATE:
                raise ValueError(f"must be between 0 and {MAX_RATE} (a fraction: 0.01 is 1 %)")
            if value != value.quantize(_RATE_STEP):
                raise ValueError(f"has at most {RATE_PLACES} decimal places")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> LoanTerms:
        if self.annual_rate < 0:
            raise ValueError("annual_rate must not be negative")
        if parse(self.installment_every).is_zero():
            raise ValueError("installment_every must be a positive duration")
        if parse(self.term).is_zero():
            raise ValueError("term must be a positive duration")
        return self

    @door_check
    def _first_installment(self) -> None:
        # The schedule needs an installment on or before the term whatever the disbursement
        # date: month-end clamping can put grace + installment_every after the term from
        # some dates only (a term of P1M after 31 January ends on 28 February).
        first = parse(self.grace).plus(parse(self.installment_every))
        start = reaches_later(first, parse(self.term))
        if start is not None:
            raise ValueError(
                f"term {self.term} ends before the first installment (grace {self.grace} + "
                f"installment_every {self.installment_every}) for a loan disbursed on a day "
                f"such as {start.isoformat()} (month ends and leap years move dates): the "
                "term must cover the grace and one installment from every disbursement date"
            )
        if self.installments > MAX_INSTALLMENTS:
            raise ValueError(
                f"term {self.term} holds up to {self.installments} installments of "
                f"{self.installment_every}: at most {MAX_INSTALLMENTS}"
            )

    @property
    def installments(self) -> int:
        """The most installments the schedule can hold, counted generously (a month spans 28
        to 31 days): the bound of what a loan adds to the state."""
        grace, every, term = (parse(d) for d in (self.grace, self.installment_every, self.term))
        return max(1, (term.longest_days - grace.shortest_days) // max(1, every.shortest_days))


class LoanInstrument(Spec):
    loan: LoanTerms


def _instrument_kind(value: Any) -> str:
    return "grant" if isinstance(value, str) else "loan"


# Told apart by shape, so an error names the branch meant rather than both.
Instrument = Annotated[
    Annotated[Literal["grant"], Tag("grant")] | Annotated[LoanInstrument, Tag("loan")],
    Discriminator(_instrument_kind),
]


class Elapsed(Spec):
    elapsed: IsoDuration


class AcceptedCheckIns(Spec):
    accepted_check_ins: PositiveInt


Trigger = Literal["entry", "approval"] | Elapsed | AcceptedCheckIns


class Repeat(Spec):
    every: IsoDuration
    times: PositiveInt

    _calendar = field_validator("every")(whole_days)

    @field_validator("times")
    @classmethod
    def _within_a_century(cls, value: int, info: ValidationInfo) -> int:
        every = info.data.get("every")
        if at_the_door(info) and every is not None:
            if value > MAX_OCCURRENCES:
                raise ValueError(f"must be at most {MAX_OCCURRENCES}")
            if not parse(every).times(value).within_years(MAX_DURATION_YEARS):
                raise ValueError(
                    f"{value} × {every} reaches beyond {MAX_DURATION_YEARS} years after the "
                    "first release"
                )
        return value

    @model_validator(mode="after")
    def _positive(self) -> Repeat:
        if parse(self.every).is_zero():
            raise ValueError("every must be a positive duration")
        return self
