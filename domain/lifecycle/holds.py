"""Rules 18 and 20: when a line's releases are held. A release falling due while its line is
held is kept (`Line.held`) rather than ordered, and released at the instant the hold ends,
in the order held (`releases.release_held`); the clock and the check-ins run as usual."""

from __future__ import annotations

from typing import Literal

from domain.state import CooperationState, Line

CONVENTION_AWAITED = "its convention, which its programme requires, is not yet recorded"
"""Rule 18's hold, in words."""

HoldKind = Literal["convention", "amendment"]


def hold_reason(state: CooperationState, line: Line) -> tuple[HoldKind, str] | None:
    """Why `line`'s releases are held now: its kind (for pages that say it in their own
    words) and its words, or None. Only under rules 3: a recorded decision of rules 1 and 2
    never meets a hold."""
    if state.rules_version < 3:
        return None
    if line.programme.spec.convention == "required" and line.convention is None:
        return "convention", CONVENTION_AWAITED
    if line.amendment is not None:
        # Rule 20: the payee is being changed; what falls due waits for the funder's word.
        return "amendment", f"amendment {line.amendment.seq} awaits the funder's decision"
    return None


def hold_of(state: CooperationState, line: Line) -> str | None:
    """Why `line`'s releases are held now (in words, for views), or None."""
    reason = hold_reason(state, line)
    return reason[1] if reason is not None else None


def is_held(line: Line, tranche: str, occurrence: int | None) -> bool:
    """This occurrence fell due while its line was held, and waits for the hold to end."""
    return any(h.tranche == tranche and h.occurrence == occurrence for h in line.held)


def held_waits_for(
    state: CooperationState, line: Line, tranche: str, occurrence: int | None
) -> str | None:
    """A held release waits for its hold to end: the hold in words; None for any other."""
    if state.closed or not is_held(line, tranche, occurrence):
        return None
    return hold_of(state, line)
