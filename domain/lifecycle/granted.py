"""Rule 17: the amount granted per line. A programme with `amounts: granted` gives each grant
tranche a share; its funder grants a line an amount when it accepts it (within the
programme's `grant: {min, max}`), and every grant occurrence's amount is fixed then, once:
share × amount rounded down to the cent, the remainder on the last occurrence of the last
grant tranche in spec order, so that they add up to the amount exactly. The commitment
(rule 9) is that amount plus the loans' principals. Only cooperations under rules 3 take a
granted programme. Every reader of a line's amounts goes through `Line.amount_of`, which
reads what is fixed here."""

from __future__ import annotations

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, localcontext

from domain.errors import Conflict, InvalidInput
from domain.limits import MAX_AMOUNT
from domain.line_records import GrantedRelease
from domain.money import cents
from domain.programme import ProgrammeSpec
from domain.state import Line

_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)

GRANTED_FROM = 3
"""The rules version that brought rule 17."""


def grant_amounts(spec: ProgrammeSpec, granted: Decimal) -> list[GrantedRelease]:
    """Each grant occurrence's amount, in spec order (phases in lifecycle order, then
    tranches, each first release then its repeats), adding up to `granted` exactly."""
    shares = [
        (tranche.id, occurrence, tranche.share)
        for _, tranche in spec.tranches()
        if tranche.loan is None and tranche.share is not None
        for occurrence in [None, *range(1, tranche.occurrences)]
    ]
    if not shares:
        return []
    with localcontext(_EXACT):
        amounts = [cents(granted * share) for _, _, share in shares]
        amounts[-1] += granted - sum(amounts, Decimal("0.00"))
    return [
        GrantedRelease(tranche=tranche, occurrence=occurrence, amount=amount)
        for (tranche, occurrence, _), amount in zip(shares, amounts, strict=True)
    ]


def line_potential(spec: ProgrammeSpec, granted: Decimal | None) -> Decimal:
    """What a line commits (rule 9): every fixed tranche occurrence and loan principal, plus
    the amount granted (rule 17)."""
    return spec.potential + (granted if spec.granted and granted is not None else Decimal(0))


def check_grant(
    spec: ProgrammeSpec, amount: Decimal | None, rules_version: int, field: str = "amount"
) -> None:
    """Whether a line of `spec` may be accepted with `amount` (None: not given), by a
    cooperation under `rules_version`: InvalidInput naming `field`, or Conflict."""
    if not spec.granted:
        if amount is not None:
            raise InvalidInput(
                f"programme {spec.id!r} pays the fixed amounts of its tranches: accept the "
                "line without an amount",
                field,
            )
        return
    require_rules(spec, rules_version)
    if amount is None:
        raise InvalidInput(
            f"required: programme {spec.id!r} grants each line an amount when its funder "
            f"accepts it{_bounds_text(spec)}",
            field,
        )
    bounds = spec.grant
    if amount <= 0:
        raise InvalidInput("a grant is more than 0.00", field)
    if bounds is not None and bounds.min is not None and amount < bounds.min:
        raise InvalidInput(
            f"{amount} is below the programme's minimum grant{_bounds_text(spec)}", field
        )
    if bounds is not None and bounds.max is not None and amount > bounds.max:
        raise InvalidInput(
            f"{amount} is above the programme's maximum grant{_bounds_text(spec)}", field
        )
    if line_potential(spec, amount) > MAX_AMOUNT:
        raise InvalidInput(f"{amount} with the loans' principals is more than {MAX_AMOUNT}", field)


def require_rules(spec: ProgrammeSpec, rules_version: int) -> None:
    """A granted programme is for cooperations under rules 3 (rule 17): earlier rules
    release the tranches' amounts and know nothing of shares."""
    if spec.granted and rules_version < GRANTED_FROM:
        raise Conflict(
            f"programme {spec.id!r} grants its amount at acceptance (rule 17): this "
            f"cooperation runs under rules {rules_version}, which do not take a granted "
            f"programme (rules {GRANTED_FROM} do)"
        )


def _bounds_text(spec: ProgrammeSpec) -> str:
    bounds = spec.grant
    if bounds is None or (bounds.min is None and bounds.max is None):
        return ""
    low = f"{bounds.min} {spec.currency}" if bounds.min is not None else "…"
    high = f"{bounds.max} {spec.currency}" if bounds.max is not None else "…"
    return f" (between {low} and {high})"


def grant(line: Line, amount: Decimal | None) -> None:
    """Fix the line's amount granted and its occurrences' amounts (None: a fixed programme,
    or a commitment refused: nothing granted)."""
    spec = line.programme.spec
    if amount is None or not spec.granted:
        line.granted, line.grants = None, []
        return
    line.granted = amount
    line.grants = grant_amounts(spec, amount)
