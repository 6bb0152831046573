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


def versioned_budget(budget: Decimal, previous_spec: Decimal, new_spec: Decimal) -> Decimal:
    """The budget once a version is published: the spec's figure at creation plus every raise
    stays, moved only by the change of the spec's figure from the version before; a version
    that leaves `budget` as it was keeps every raise."""
    return budget + (new_spec - previous_spec)


def version_budget_refusal(
    budget: Decimal, committed: Decimal
) -> Literal["committed", "max"] | None:
    """What keeps a version from bringing the budget to `budget`, if anything: what is
    committed (rule 9: a commitment is never undone), or the largest amount coopflow holds."""
    if budget < committed:
        return "committed"
    if budget > MAX_AMOUNT:
        return "max"
    return None
