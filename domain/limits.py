"""What the door lets in: limits on input, so that whatever passes runs for years.

A cooperation's workflow replays its commands and carries its programmes for years; an input
that makes the rules raise, a database column refuse a value or a schedule grow without end
would freeze it. Those inputs are refused here, at the door, with the field named.

The checks run only at the door: when input is validated with the door's context
(`at_door(Model, data)`, which is `Model.model_validate(data, context=DOOR)`; pydantic hands
the context to the validators of every nested model). Specs and commands are also read back
from Temporal history and from the state carried across continue-as-new, without that
context: what was recorded before a limit existed must still load, or the cooperation that
recorded it would freeze on the very check meant to protect it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationInfo, model_validator

DOOR: Final[Mapping[str, bool]] = MappingProxyType({"door": True})
"""The validation context of input from outside: `Model.model_validate(data, context=DOOR)`."""

# Money is numeric(18, 2) in PostgreSQL: below 10^16. Each amount (a budget, a tranche, a
# cap, a repayment) and each line's whole potential stays below 10^13, so that a programme's
# commitments, a cooperation's ledger and the dashboards' sums keep a thousandfold margin.
MAX_AMOUNT: Final = Decimal("9999999999999.99")

# An annual rate is a fraction (0.01 is 1 %): patient capital lends at moderate interest.
# Its places are bounded because the schedule's arithmetic carries every digit of the rate.
MAX_RATE: Final = Decimal(1)
RATE_PLACES: Final = 6

# A share is a fraction of each payment; the places bound keeps sums and splits small.
SHARE_PLACES: Final = 10

# No duration reaches beyond a century: every date the rules compute stays far from the
# calendar's end (year 9999), and a repeat's last occurrence too (every × times).
MAX_DURATION_YEARS: Final = 100

# Check-in reminders and graces are days or weeks; a year is already generous. At each wakeup
# the clock looks at (grace + reminder) ÷ cadence periods, so both must stay short.
MAX_NOTICE_YEARS: Final = 1

# What a line of one programme can put in the cooperation's state, which travels whole through
# Temporal history: its releases (each repeat occurrence counts) and its loans' installments.
MAX_OCCURRENCES: Final = 1000
MAX_INSTALLMENTS: Final = 600

# Free text, lists and mappings given at the door; ids, names and indicator keys are shorter.
MAX_TEXT: Final = 2000
MAX_ITEMS: Final = 500

# Check-in indicators: a few numbers and short texts (the narrative stays out of history).
MAX_INDICATORS: Final = 50
MAX_INDICATOR_TEXT: Final = 200
MAX_INDICATOR_NUMBER: Final = 10**15
"""Below 2^53: an indicator reads back the same wherever JSON numbers are doubles."""

# Periods are numbered within a stint: daily check-ins for a century stay below this.
MAX_PERIOD: Final = 100_000

M = TypeVar("M", bound=BaseModel)


def at_door(model: type[M], data: Any) -> M:
    """`data` validated as `model` with every check of the door."""
    return model.model_validate(data, context=DOOR)


def at_the_door(info: ValidationInfo) -> bool:
    context = info.context
    # None first: that is every load of recorded data, on the reducer's hot path.
    return context is not None and isinstance(context, Mapping) and context.get("door") is True


def door_check(check: Callable[[M], None]) -> Any:
    """A model's validator (after its fields') that runs `check`, raising ValueError, only on
    input at the door: what was recorded before the check existed still loads."""

    def validate(self: M, info: ValidationInfo) -> M:
        if at_the_door(info):
            check(self)
        return self

    return model_validator(mode="after")(validate)


def text_problem(value: str, max_length: int = MAX_TEXT) -> str | None:
    """What PostgreSQL (text, jsonb) or UTF-8 would refuse in `value`, if anything.

    The message never repeats the text: a lone surrogate in it would break the answer too.
    """
    if "\x00" in value:
        return "must not contain the NUL character (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone surrogate (\\ud800 to \\udfff): it is not UTF-8"
    if len(value) > max_length:
        return f"must be at most {max_length} characters long, not {len(value)}"
    return None


def number_problem(value: float) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if abs(value) > MAX_INDICATOR_NUMBER:
        return f"must be at most {MAX_INDICATOR_NUMBER:.0e} in absolute value"
    return None


def _problem_in(value: Any, where: str) -> str | None:
    """The first problem in a field's value; `where` names the part of the value at fault.

    Nested models are skipped: they check their own fields at the door.
    """
    if isinstance(value, BaseModel):
        return None
    if isinstance(value, str):
        problem = text_problem(value)
        return f"{where}{problem}" if problem else None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where}must be a finite number"
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        if len(value) > MAX_ITEMS:
            return f"{where}must have at most {MAX_ITEMS} items, not {len(value)}"
        if isinstance(value, Mapping):
            for i, (key, item) in enumerate(value.items()):
                # A bad key is named by its position: the key itself is the text at fault.
                problem = _problem_in(key, f"{where}key #{i + 1}: ") or _problem_in(
                    item, f"{where}{key!r}: "
                )
                if problem:
                    return problem
        else:
            for i, item in enumerate(value):
                problem = _problem_in(item, f"{where}item {i}: ")
                if problem:
                    return problem
    return None


def storable(value: Any, info: ValidationInfo) -> Any:
    """At the door, a field holds only what the databases and the wire take: no NUL, no lone
    surrogate, no endless text or list, no NaN or infinity.

    Models of input apply it to all their fields (`field_validator("*")(storable)`), so a
    field added later is checked too; nested models check their own fields. Specs, loaded with
    every copy of a state, apply it to their free text only.
    """
    # The cheap test first: this runs for every field of every recorded model loaded.
    if info.context is not None and at_the_door(info):
        return always_storable(value)
    return value


def always_storable(value: Any) -> Any:
    """`storable` without the context: for models that are only ever input (API bodies)."""
    problem = _problem_in(value, "")
    if problem:
        raise ValueError(problem)
    return value
