"""Money: a Decimal amount with a currency, never a float."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer

CENT = Decimal("0.01")


def _decimal_from_text(value: Any) -> Any:
    # A JSON/YAML number is refused where money (or a rate) is expected: floats lose cents,
    # and accepting ints only would make "8000" and 8000 behave differently.
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool | int | float):
        raise ValueError('must be a decimal string such as "8000.00", not a number')
    if isinstance(value, str):
        return value.strip()
    raise ValueError('must be a decimal string such as "8000.00"')


def _text(value: Decimal) -> str:
    return format(value, "f")


DecimalText = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_text),
    PlainSerializer(_text, return_type=str, when_used="json"),
]
"""A Decimal given and shown as a string."""


def _amount(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if value < 0:
        raise ValueError("must not be negative")
    if value != value.quantize(CENT):
        raise ValueError("must have at most two decimals (cents)")
    return value.quantize(CENT)


Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_text),
    AfterValidator(_amount),
    PlainSerializer(_text, return_type=str, when_used="json"),
]
"""A non-negative amount of money with at most two decimals, e.g. "8000.00"."""


def amount(value: Decimal | str) -> Decimal:
    """Validate and normalise an amount to cents."""
    return _amount(Decimal(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def half_even(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: DecimalText
    currency: str

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
