"""Money: a Decimal amount with a currency, never a float."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
)

from domain.limits import MAX_AMOUNT, at_the_door

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


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
    # Given as a string, never a number: what the schema says a client may send.
    WithJsonSchema(
        {"type": "string", "pattern": r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$"}, mode="validation"
    ),
]
"""A Decimal given and shown as a string."""


def _amount(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if value < 0:
        raise ValueError("must not be negative")
    try:
        in_cents = value.quantize(CENT)
    except InvalidOperation:
        # More digits than the context holds (say 1E+30): a ValueError, not a crash.
        raise ValueError("is too large an amount") from None
    if value != in_cents:
        raise ValueError("must have at most two decimals (cents)")
    return in_cents


def _bounded_amount(value: Decimal, info: ValidationInfo) -> Decimal:
    value = _amount(value)
    if at_the_door(info) and value > MAX_AMOUNT:
        raise ValueError(f"must be at most {MAX_AMOUNT}")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_text),
    AfterValidator(_bounded_amount),
    PlainSerializer(_text, return_type=str, when_used="json"),
    # Non-negative, cents at most (more places only as zeros), below MAX_AMOUNT: 13 digits.
    WithJsonSchema(
        {"type": "string", "pattern": r"^\s*\+?(0*\d{1,13}(\.\d{0,2}0*)?|\.\d{1,2}0*)\s*$"},
        mode="validation",
    ),
]
"""A non-negative amount of money with at most two decimals, e.g. "8000.00" (at the door,
at most MAX_AMOUNT)."""


def amount(value: Decimal | str) -> Decimal:
    """Validate and normalise an amount to cents."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f'{value!r} is not a decimal amount such as "8000.00"') from None
    return _amount(number)


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
