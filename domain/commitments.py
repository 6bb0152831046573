"""Rule 9's refusal: whether a programme can commit what a funding line needs.

Kept apart from the reducer: the shells that hold the budgets (the scenario runner in
memory, the store in Postgres) decide with it, and need nothing else of the rules.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from domain.limits import MAX_AMOUNT


def commitment_refusal(
    remaining: Decimal, already: Decimal, needed: Decimal, cap: Decimal | None
) -> Literal["budget", "cap"] | None:
    """Rule 9: what keeps a commitment of `needed` from being made, if anything: the
    programme's remaining budget, or its cap per cooperation (`already` committed there)."""
    if needed > remaining:
        return "budget"
    if cap is not None and already + needed > cap:
        return "cap"
    return None


def budget_raise_refusal(budget: Decimal, increase: Decimal) -> str | None:
    """Why a budget cannot be raised by `increase`, if it cannot: past the largest amount
    coopflow holds (the ledger's and the budget's columns hold no more)."""
    if budget + increase > MAX_AMOUNT:
        return f"the budget would be {budget + increase}, more than {MAX_AMOUNT}"
    return None
