"""Babel's formats for dates, numbers, durations, money and lists, in a supported locale."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel.dates import format_date, format_skeleton
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, format_percent
from babel.units import format_unit

from domain.durations import DurationError
from domain.durations import parse as parse_duration
from i18n.words import BABEL_LOCALES


def decimal(value: Any) -> Decimal:
    """An amount as stored (text, number or Decimal); ValueError when it is none."""
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None


def utc_day(value: Any) -> date:
    """The UTC calendar day of an instant (datetime or ISO 8601 text) or a date."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if "T" in text:
        return utc_day(datetime.fromisoformat(text.replace("Z", "+00:00")))
    return date.fromisoformat(text)


@lru_cache(maxsize=4096)
def _money(amount: Decimal, currency: str, locale: str) -> str:
    # Babel reads its pattern again for every amount (about 30 µs): a dashboard or a report
    # says the same few amounts many times.
    return format_currency(amount, currency, locale=locale)


@dataclass(frozen=True)
class Formats:
    """Babel's formats for one supported locale."""

    locale: str

    @property
    def _babel(self) -> str:
        return BABEL_LOCALES[self.locale]

    def money(self, amount: Any, currency: str) -> str:
        return _money(decimal(amount), currency, self._babel)

    def day(self, value: Any) -> str:
        return format_date(utc_day(value), format="long", locale=self._babel)

    def month(self, day: date) -> str:
        """`mars 2024`, `March 2024`."""
        return format_skeleton("yMMMM", day, locale=self._babel)

    def number(self, value: Any) -> str:
        """A number in the locale's way; any other value (an indicator may be text) as is."""
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return str(value)
        return format_decimal(value, locale=self._babel)

    def percent(self, value: Any) -> str:
        return format_percent(decimal(value), locale=self._babel, decimal_quantization=False)

    def joined(self, items: Iterable[str]) -> str:
        """`a, b et c`, `a, b, and c`; empty for none."""
        return format_list(list(items), locale=self._babel)

    def duration(self, text: str) -> str:
        """An ISO 8601 duration in words: `P1Y6M` → `1 an et 6 mois`, `1 year and 6 months`."""
        try:
            d = parse_duration(text)
        except DurationError:
            return text
        hours, rest = divmod(d.seconds, 3600)
        parts = [
            (d.years, "duration-year"),
            (d.months, "duration-month"),
            (d.days, "duration-day"),
            (hours, "duration-hour"),
            (rest // 60, "duration-minute"),
            (rest % 60, "duration-second"),
        ]
        words = [format_unit(n, unit, length="long", locale=self._babel) for n, unit in parts if n]
        return format_list(words, locale=self._babel) if words else text
