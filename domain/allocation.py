"""Splitting a payment between a funding line's payees (DESIGN.md rule 10)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, localcontext
from typing import Annotated

from pydantic import BaseModel, ConfigDict, ValidationInfo, WithJsonSchema, field_validator

from domain.limits import SHARE_PLACES, at_the_door, storable
from domain.money import DecimalText, cents
from domain.money import amount as in_cents

# Sums and products of finite decimals are finite decimals: with unbounded precision the
# context never rounds them, so the split is exact whatever the number of digits in a share.
# Only division would need a bound, and nothing here divides.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)

_PLACES = Decimal(1).scaleb(-SHARE_PLACES)


class Share(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    payee: str
    share: Annotated[
        DecimalText,
        # Above 0, at most 1, at most SHARE_PLACES places (trailing zeros aside): `_fraction`.
        WithJsonSchema(
            {"type": "string", "pattern": r"^\s*\+?(0*\.\d{0,9}[1-9]0*|0*1(\.0*)?)\s*$"},
            mode="validation",
        ),
    ]

    _storable = field_validator("*")(storable)

    @field_validator("share")
    @classmethod
    def _fraction(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        if not value.is_finite() or not 0 < value <= 1:
            raise ValueError("a share must be a decimal greater than 0 and at most 1")
        # Compared, not normalised: normalising rounds to the context's 28 digits, and a
        # share of 10,000 digits would pass as its rounded self.
        if at_the_door(info) and value != value.quantize(_PLACES):
            raise ValueError(f"a share has at most {SHARE_PLACES} decimal places")
        return value


def shares_total(allocation: Sequence[Share]) -> Decimal:
    """The exact sum of the shares: what must be 1, at the door as at the split."""
    with localcontext(_EXACT):
        return sum((s.share for s in allocation), Decimal(0))


def split(amount: Decimal, allocation: Sequence[Share]) -> list[tuple[str, Decimal]]:
    """(payee, part) in allocation order; the parts add up to `amount` exactly."""
    if not allocation:
        raise ValueError("an allocation needs at least one payee")
    try:
        total = in_cents(amount)
    except ValueError as exc:
        raise ValueError(f"amount to split {amount}: {exc}") from None
    shares = shares_total(allocation)
    with localcontext(_EXACT):
        if shares != 1:
            raise ValueError(
                f"allocation shares must add up to exactly 1, not {shares} "
                f"({', '.join(f'{s.payee}: {s.share}' for s in allocation)})"
            )
        parts = [(s.payee, cents(total * s.share)) for s in allocation[:-1]]
        rest = total - sum((part for _, part in parts), Decimal("0.00"))
    return [*parts, (allocation[-1].payee, rest)]
