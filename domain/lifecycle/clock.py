"""The clock: what the rules make happen by time alone, each event dated at its rule's
instant (not when a timer happened to wake).

Rule 14 (same instant): at an instant T, commands apply first, in their order, then the
clock's events dated T whose condition still holds. So a shell applies the clock strictly
before T (`tick(state, T, inclusive=False)`; `decide` also does it first, as a safety net),
then the commands at T in their order, then the clock at T (`tick(state, T)`); `Driver`
(driver.py) is that shell for a state held in memory.

At one instant the clock's own occurrences go in a fixed order: check-in reminders and
overdues (by period), releases (by line, then tranche in spec order, then occurrence), phase
overrun, loan installments due, loan installments overdue, loan reminders, versements late
(rule 19), reports (last, so a report includes what happened at its end).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from domain.lifecycle.checkins import check_in_occurrences
from domain.lifecycle.context import SCAN_LIMIT, Context, Decision, Occurrence, copy_state, utc
from domain.lifecycle.loans import (
    loan_due_occurrences,
    loan_occurrences,
    loan_overdue_occurrences,
    loan_reminder_occurrences,
)
from domain.lifecycle.overrun import overrun_occurrences
from domain.lifecycle.releases import release_occurrences
from domain.lifecycle.reports import report_occurrences
from domain.lifecycle.versements import versement_late_occurrences
from domain.state import CooperationState

# The order of the kinds at one instant (the module docstring says why reports are last).
_IN_ORDER: tuple[Callable[[CooperationState], list[Occurrence]], ...] = (
    check_in_occurrences,
    release_occurrences,
    overrun_occurrences,
    loan_due_occurrences,
    loan_overdue_occurrences,
    loan_reminder_occurrences,
    versement_late_occurrences,
    report_occurrences,
)


_LOANS_FIRST = 3
_LOAN_KINDS = frozenset({3, 4, 5})
_VERSEMENT_KIND = 6
# Kinds whose occurrences change only what their own kind reads (a check-in period's marks
# and the stint's clock cursor; an installment's flags, read by the three loan kinds alone;
# a versement's late flag; a line's report clock), besides the event counters no kind
# reads: after one of them, only that kind (the loan kinds together) is listed again.
_OWN_KINDS = frozenset({0, 3, 4, 5, 6, 7})


def _lists(s: CooperationState) -> list[Sequence[Occurrence]]:
    """Each kind's occurrences, in kind order. Kinds that cannot apply are not asked (the
    clock asks at every wakeup): without a loan no loan kind has an occurrence, without a
    versement no versement is late; the three loan kinds come from one pass over the loans."""
    loans = versements = False
    for line in s.lines:
        loans = loans or bool(line.loans)
        versements = versements or bool(line.versements)
    of_loans = loan_occurrences(s) if loans else ((), (), ())
    lists: list[Sequence[Occurrence]] = []
    for kind, occurrences in enumerate(_IN_ORDER):
        if kind in _LOAN_KINDS:
            lists.append(of_loans[kind - _LOANS_FIRST])
        elif kind == _VERSEMENT_KIND and not versements:
            lists.append(())
        else:
            lists.append(occurrences(s))
    return lists


def _head(found: Sequence[Occurrence]) -> Occurrence | None:
    """A kind's earliest occurrence (by instant, then rank)."""
    head: Occurrence | None = None
    for occurrence in found:
        if head is None or (occurrence.at, occurrence.rank) < (head.at, head.rank):
            head = occurrence
    return head


def _first(heads: list[Occurrence | None]) -> tuple[int, Occurrence] | None:
    first: tuple[int, Occurrence] | None = None
    for kind, head in enumerate(heads):
        if head is not None and (first is None or head.at < first[1].at):
            first = (kind, head)
    return first


def _earliest(s: CooperationState) -> Occurrence | None:
    found = _first([_head(found) for found in _lists(s)])
    return found[1] if found is not None else None


def next_wakeup(state: CooperationState) -> datetime | None:
    """The earliest instant the clock has something to do; None when nothing is scheduled."""
    first = _earliest(state)
    return first.at if first is not None else None


def run_clock(ctx: Context, until: datetime, inclusive: bool) -> datetime | None:
    """Apply the clock's occurrences up to `until`, one at a time, earliest first; the next
    wakeup after them."""
    # Each kind's earliest occurrence, kept from one occurrence to the next: only the kinds
    # an occurrence can change are listed again (`_OWN_KINDS`).
    heads: list[Occurrence | None] | None = None
    for _ in range(SCAN_LIMIT):
        if heads is None:
            heads = [_head(found) for found in _lists(ctx.state)]
        found = _first(heads)
        first = found[1] if found is not None else None
        if first is None or first.at > until or (first.at == until and not inclusive):
            return first.at if first is not None else None
        assert found is not None
        first.apply(ctx)
        ctx.state.last_at = max(ctx.state.last_at, first.at)
        kind = found[0]
        if kind in _LOAN_KINDS:
            heads[_LOANS_FIRST : _LOANS_FIRST + 3] = map(_head, loan_occurrences(ctx.state))
        elif kind in _OWN_KINDS:
            heads[kind] = _head(_IN_ORDER[kind](ctx.state))
        else:
            heads = None
    raise AssertionError("the clock does not settle")


def tick(
    state: CooperationState,
    now: datetime,
    inclusive: bool = True,
    *,
    in_place: bool = False,
    lean: bool = False,
) -> Decision:
    """Apply every clock occurrence dated up to `now` (strictly before it when not
    `inclusive`), in chronological order, each event dated at its rule's instant.

    `in_place`: the caller owns `state` and gives it up (the decision's state is `state`
    itself, changed); else `state` is left as it was. `lean`: as `Context` says."""
    ctx = Context(state if in_place else copy_state(state), lean=lean)
    run_clock(ctx, utc(now), inclusive)
    return ctx.decision()
