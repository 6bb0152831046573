"""ISO 8601 durations applied on calendar dates (DESIGN.md, "Programme spec").

Durations add years, then months, then days, then the time part; a month after 31 January
is the last day of February. Series of dates are always computed from their anchor with
`add(anchor, d, k)`, never chained, so month-end clamping never accumulates.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, TypeVar

from pydantic import AfterValidator

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


class DurationError(ValueError):
    pass


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


def _validate(text: str) -> str:
    try:
        parse(text)
    except DurationError as exc:
        raise ValueError(str(exc)) from None
    return text


IsoDuration = Annotated[str, AfterValidator(_validate)]
"""An ISO 8601 duration kept as its text in specs and history; `parse` it to compute."""

T = TypeVar("T", date, datetime)


def add(moment: T, duration: Duration | str, k: int = 1) -> T:
    """`moment` + k × `duration`, the multiple applied in one step (never chained)."""
    d = parse(duration) if isinstance(duration, str) else duration
    if k != 1:
        d = d.times(k)
    total_months = moment.month - 1 + d.months + 12 * d.years
    year = moment.year + total_months // 12
    month = total_months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    shifted = moment.replace(year=year, month=month, day=day)
    return shifted + timedelta(days=d.days, seconds=d.seconds)


def subtract(moment: T, duration: Duration | str) -> T:
    """`moment` − `duration`: the mirror of `add` (years and months, clamped to the month's end,
    then days, then the time part), so 31 March − P1M is the last day of February.

    On a `date` the time part counts in whole days only, a partial day being dropped, exactly
    as `add` drops it: P1DT12H back from a date is one day back.
    """
    d = parse(duration) if isinstance(duration, str) else duration
    # Years and months are one step, as in `add`: 29 February 2028 − P1Y1M is 29 January 2027,
    # not 28 January by clamping once for the year and again for the month.
    total_months = moment.month - 1 - d.months - 12 * d.years
    year = moment.year + total_months // 12
    month = total_months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    shifted = moment.replace(year=year, month=month, day=day)
    return shifted - timedelta(days=d.days, seconds=d.seconds)
