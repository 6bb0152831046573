"""ISO 8601 durations applied on calendar dates (DESIGN.md, "Programme spec").

Durations add years, then months, then days, then the time part; a month after 31 January
is the last day of February. Series of dates are always computed from their anchor with
`add(anchor, d, k)`, never chained, so month-end clamping never accumulates.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Annotated, TypeVar

from pydantic import AfterValidator, ValidationInfo, WithJsonSchema

from domain.errors import InvalidInput
from domain.limits import MAX_DURATION_YEARS, at_the_door

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?!$)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


@dataclass(frozen=True, slots=True)
class Duration:
    years: int = 0
    months: int = 0
    days: int = 0
    seconds: int = 0

    def times(self, k: int) -> Duration:
        return Duration(self.years * k, self.months * k, self.days * k, self.seconds * k)

    def plus(self, other: Duration) -> Duration:
        return Duration(
            self.years + other.years,
            self.months + other.months,
            self.days + other.days,
            self.seconds + other.seconds,
        )

    def is_zero(self) -> bool:
        return not (self.years or self.months or self.days or self.seconds)

    @property
    def is_calendar(self) -> bool:
        """Years, months and days only: it moves a date by whole days."""
        return not self.seconds

    @property
    def shortest_days(self) -> int:
        """The fewest days it can span from some date (a year is 365 days, a month 28)."""
        return 365 * self.years + 28 * self.months + self.days + self.seconds // 86400

    @property
    def longest_days(self) -> int:
        """The most days it can span from some date (a year is 366 days, a month 31)."""
        return 366 * self.years + 31 * self.months + self.days + -(-self.seconds // 86400)

    def within_years(self, years: int) -> bool:
        """At most `years` years: each month counts for 1/12 of a year, each day (and the
        time part, in days) for 1/365.25, so P100Y, P1200M and P36525D are each a century."""
        months = Fraction(12 * self.years + self.months, 12 * years)
        seconds = Fraction(self.days * 86400 + self.seconds, years * 36525 * 864)
        return months + seconds <= 1


class DurationError(ValueError):
    pass


class CalendarOverflow(InvalidInput, ValueError):
    """A date beyond the calendar's range (years 1 to 9999).

    A refusal (InvalidInput) where a command would have the rules compute such a date; a
    ValueError for readers of dates, as an unparseable date is.
    """


@lru_cache(maxsize=1024)
def parse(text: str) -> Duration:
    match = _PATTERN.match(text)
    if match is None:
        raise DurationError(
            f"{text!r} is not an ISO 8601 duration such as P1M, P14D, P1Y6M or PT12H"
        )
    part = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    return Duration(
        years=part["years"],
        months=part["months"],
        days=part["weeks"] * 7 + part["days"],
        seconds=part["hours"] * 3600 + part["minutes"] * 60 + part["seconds"],
    )


def _validate(text: str, info: ValidationInfo) -> str:
    try:
        duration = parse(text)
    except DurationError as exc:
        raise ValueError(str(exc)) from None
    if at_the_door(info) and not duration.within_years(MAX_DURATION_YEARS):
        raise ValueError(
            f"{text} is longer than {MAX_DURATION_YEARS} years (P{MAX_DURATION_YEARS}Y)"
        )
    return text


IsoDuration = Annotated[
    str,
    AfterValidator(_validate),
    # The schema states the form `parse` reads (without named groups: ECMA-262 has none).
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?!$)(\d+H)?(\d+M)?(\d+S)?)?$",
        },
        mode="validation",
    ),
]
"""An ISO 8601 duration kept as its text in specs and history; `parse` it to compute."""

T = TypeVar("T", date, datetime)


def add(moment: T, duration: Duration | str, k: int = 1) -> T:
    """`moment` + k × `duration`, the multiple applied in one step (never chained)."""
    shifted: T = _add(moment, duration, k, getattr(moment, "tzinfo", None))
    return shifted


# The rules compute the same due dates again at every wakeup (schedules are computed from
# their anchor, never kept): remembering them takes calendar arithmetic out of the clock.
# The type and the time zone are part of the key: equal instants in other zones, or a date
# and a datetime, never share an entry. The duration is remembered as given: its text
# (what states and specs keep) is hashed once for all, a `Duration` at every call.
@lru_cache(maxsize=65536, typed=True)
def _add(moment: T, duration: Duration | str, k: int, zone: object) -> T:
    d = parse(duration) if isinstance(duration, str) else duration
    return _shift(moment, d.times(k) if k != 1 else d, 1)


def _shift(moment: T, d: Duration, sign: int) -> T:
    """`moment` moved by `d` forward (`sign` 1) or back (-1): years and months in one step,
    clamped to the month's end, then days, then the time part."""
    total_months = moment.month - 1 + sign * (d.months + 12 * d.years)
    year = moment.year + total_months // 12
    month = total_months % 12 + 1
    if not MINYEAR <= year <= MAXYEAR:
        raise _overflow(moment, "+" if sign > 0 else "-", d)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    shifted = moment.replace(year=year, month=month, day=day)
    try:
        delta = timedelta(days=d.days, seconds=d.seconds)
        # Subtracted, not added negated: from a date, a partial day back is dropped, as
        # `subtract` says, where adding -P1DT12H would go two days back.
        return shifted + delta if sign > 0 else shifted - delta
    except OverflowError:
        raise _overflow(moment, "+" if sign > 0 else "-", d) from None


def _overflow(moment: date, sign: str, d: Duration) -> CalendarOverflow:
    return CalendarOverflow(
        f"{moment.isoformat()} {sign} {d.years} years {d.months} months {d.days} days "
        f"{d.seconds} seconds falls outside the calendar (years {MINYEAR} to {MAXYEAR})"
    )


def subtract(moment: T, duration: Duration | str) -> T:
    """`moment` − `duration`: the mirror of `add` (years and months, clamped to the month's end,
    then days, then the time part), so 31 March − P1M is the last day of February.

    On a `date` the time part counts in whole days only, a partial day being dropped, exactly
    as `add` drops it: P1DT12H back from a date is one day back.
    """
    shifted: T = _subtract(moment, duration, getattr(moment, "tzinfo", None))
    return shifted


# Remembered as `_add` is, for the same reason (reminders are computed again at each wakeup).
@lru_cache(maxsize=65536, typed=True)
def _subtract(moment: T, duration: Duration | str, zone: object) -> T:
    d = parse(duration) if isinstance(duration, str) else duration
    # Years and months are one step, as in `add`: 29 February 2028 − P1Y1M is 29 January 2027,
    # not 28 January by clamping once for the year and again for the month.
    return _shift(moment, d, -1)


# Whether a duration can reach further than another depends on the start date only through
# month-end clamping and leap years. The Gregorian calendar repeats every 400 years, and
# within a month only days 29, 30 and 31 can clamp: days 1 to 28 all land on the same day of
# the target month, so they compare alike (days 1 and 28 stand for them).
_CYCLE = range(2000, 2400)
_DAYS = (1, 28, 29, 30, 31)


@lru_cache(maxsize=1024)
def reaches_later(a: Duration, b: Duration) -> date | None:
    """A start date from which `a` ends later than `b` (`add(d, a) > add(d, b)`), or None when
    no date in the calendar gives that; `a` and `b` are calendar durations."""
    if not (a.is_calendar and b.is_calendar):
        raise ValueError("reaches_later compares calendar durations (no time part)")
    if a.longest_days <= b.shortest_days:
        return None
    if 12 * a.years + a.months == 12 * b.years + b.months:
        # The same months land on the same date from any start: only the days differ.
        return None if a.days <= b.days else date(2000, 1, 1)
    for year in _CYCLE:
        for month in range(1, 13):
            last = calendar.monthrange(year, month)[1]
            for day in _DAYS:
                if day <= last and add(start := date(year, month, day), a) > add(start, b):
                    return start
    return None
