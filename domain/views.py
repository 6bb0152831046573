"""What readers see of a cooperation's state: the summary behind `GET /v1/cooperations/{id}`,
the workflow's `state` query and the Postgres read model."""

from __future__ import annotations

from typing import Any

from domain.events import instant
from domain.state import CooperationState, next_check_in


def is_overdue(state: CooperationState) -> bool:
    """The collective has not checked in since a period of the current stint went overdue.

    A late check-in fills the current period (rule 8), leaving the overdue one empty for
    ever: what matters to a facilitator is whether anything came in since.
    """
    if state.closed or state.paused:
        return False
    marks = state.stint.periods
    overdue = [k for k, m in marks.items() if m.overdue_done and not m.void and m.check_in is None]
    if not overdue:
        return False
    checked_in = [k for k, m in marks.items() if m.check_in is not None]
    return max(overdue) > max(checked_in, default=0)


def summary(state: CooperationState) -> dict[str, Any]:
    """The state as JSON for readers; ids and amounts only, never a person's data."""
    upcoming = next_check_in(state)
    return {
        "id": state.id,
        "kind": state.kind,
        "model": state.model,
        "economic_model": state.economic_model,
        "phase": state.phase.value,
        "stint": {"number": state.stint.number, "start": instant(state.stint.start)},
        "paused": state.paused,
        "closed": state.closed,
        "outcome": state.outcome.value if state.outcome else None,
        "closed_at": instant(state.closed_at) if state.closed_at else None,
        "facilitator": state.facilitator,
        "fiscal_host": state.fiscal_host,
        "members": [m.model_dump(mode="json") for m in state.members],
        "programmes": [line.id for line in state.lines if line.status != "declined"],
        "overdue": is_overdue(state),
        "next_check_in": (
            {"period": upcoming[0], "due": instant(upcoming[1])} if upcoming else None
        ),
        "lines": [
            {
                "line": line.id,
                "programme": line.programme.spec.id,
                "version": line.programme.version,
                "funder": line.funder,
                "status": line.status,
                "currency": line.currency,
                "committed": format(line.committed, "f"),
                "released": format(line.released, "f"),
                "freed": format(line.freed, "f"),
                "tranches": [
                    {
                        "tranche": tranche,
                        "occurrence": occurrence,
                        "status": status,
                        "amount": format(amount, "f"),
                    }
                    for tranche, occurrence, status, amount in line.tranche_statuses()
                ],
            }
            for line in state.lines
        ],
        "last_seq": state.next_seq - 1,
    }
