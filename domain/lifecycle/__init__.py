"""The lifecycle rules of DESIGN.md (1–16) as pure functions.

`decide` applies one command at an instant, `tick` applies the clock up to an instant, and
`next_wakeup` says when the clock next has something to do, so a shell needs one timer:
for any t < next_wakeup(state), tick(state, t) records nothing. Rule 14's same-instant order
of commands and clock is explained once, in clock.py; `Driver` applies it for a shell that
holds the state in memory.

The modules, by rule:
- context.py: the decision being built and what several rules share;
- moves.py: registration, stints, advance, restart, pivot, pause, resume, close (1, 2, 5–7);
- overrun.py: phase overrun (16);
- releases.py: triggers, approvals, releases and their split (3, 4, 10);
- checkins.py: the check-in schedule, submissions, reviews, reminders, overdues (8);
- lines.py: funding lines, commitments, requests and members (9, 15);
- loans.py: loans disbursed, their clock and repayments (11);
- reports.py: reports (12);
- versements.py: versements ordered, paid and late (19, rules 3);
- clock.py: the clock's occurrences in their order, `next_wakeup`, `tick` (13, 14);
- dispatch.py: `decide`, each command to its rule's handler;
- driver.py: `Driver`.
"""

from domain.errors import DomainError
from domain.lifecycle.clock import next_wakeup, tick
from domain.lifecycle.context import Decision
from domain.lifecycle.dispatch import decide
from domain.lifecycle.driver import Driver
from domain.lifecycle.lines import registration_commitments
from domain.lifecycle.loans import is_finished

__all__ = [
    "Decision",
    "DomainError",
    "Driver",
    "decide",
    "is_finished",
    "next_wakeup",
    "registration_commitments",
    "tick",
]
