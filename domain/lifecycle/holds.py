"""Rules 18 and 20: when a line's releases are held. A release falling due while its line is
held is kept (`Line.held`) rather than ordered, and released at the instant the hold ends,
in the order held (`releases.release_held`); the clock and the check-ins run as usual."""

from __future__ import annotations

from domain.state import CooperationState, Line

CONVENTION_AWAITED = "its convention, which its programme requires, is not yet recorded"
"""Rule 18's hold, in words."""


def hold_of(state: CooperationState, line: Line) -> str | None:
    """Why `line`'s releases are held now (in words, for views), or None. Only under rules 3:
    a recorded decision of rules 1 and 2 never meets a hold."""
    if state.rules_version < 3:
        return None
    if line.programme.spec.convention == "required" and line.convention is None:
        return CONVENTION_AWAITED
    if line.amendment is not None:
        # Rule 20: the payee is being changed; what falls due waits for the funder's word.
        return f"amendment {line.amendment.seq} awaits the funder's decision"
    return None
