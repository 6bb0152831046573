"""The échéancier prévisionnel: every tranche, or repeat occurrence, still to come on a
cooperation's lines, with the date the rules will release it on where they can know it, else
what it waits for (`GET /v1/cooperations/{id}/schedule`, `tranches`).

Read from the state alone with the rules' own arithmetic (an elapsed trigger from
`releases.elapsed_at`, a repeat from its first release, a hold from `holds`): it decides
nothing and assumes nothing about what people will do. What depends on them (check-ins
accepted, an approval, a move, a resume, a convention) is said as a condition, not guessed as
a date; the forecast is where such guesses are made, under stated assumptions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.durations import add
from domain.lifecycle.holds import hold_reason, is_held
from domain.lifecycle.releases import accepted_since_attachment, elapsed_at
from domain.money import DecimalText
from domain.programme import Phase, Purpose, TrancheSpec
from domain.state import CooperationState, Line
from domain.tranche_terms import AcceptedCheckIns

WaitKind = Literal[
    "acceptance",
    "accepted_check_ins",
    "approval",
    "move",
    "return",
    "resume",
    "convention",
    "amendment",
]


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Waiting(_View):
    """One condition a release waits for, for pages to say in their own language."""

    kind: WaitKind
    count: int | None = None
    """accepted_check_ins: how many more accepted check-ins it takes."""
    phase: Phase | None = None
    """move, return: the phase whose stint releases it."""
    words: str
    """The condition in words (English), as `waits_for` joins them."""


class TrancheToCome(_View):
    line: str
    tranche: str
    occurrence: int | None = None
    phase: Phase
    """The phase whose tranche it is (a repeat occurrence falls in any phase)."""
    purpose: Purpose
    kind: Literal["release", "loan"]
    amount: DecimalText | None
    """None only for a share of a line not yet granted its amount (rule 17: proposed)."""
    currency: str
    expected_on: str | None
    """The day the rules release it on (ISO date, UTC), when they can know it."""
    waits_for: str | None
    """What it waits for, in words: alone when no date can be known, beside the date when
    the date holds only once that is done (a pause ended, a convention recorded)."""
    waiting: list[Waiting] = []


def tranches_to_come(state: CooperationState, now: datetime) -> list[TrancheToCome]:
    """Every occurrence not yet released of every line not declined, the dated ones first in
    date order, then the others in the rules' order (lines, tranches in spec order,
    occurrences). A closed cooperation has none: what it had not released is freed.

    `now` only tells, while paused, a repeat occurrence already due (it waits for the
    resume, its date gone) from one still ahead."""
    if state.closed:
        return []
    found: list[tuple[datetime | None, TrancheToCome]] = []
    for line in state.lines:
        if line.status == "declined" or line.closed:
            continue
        for phase, tranche in line.programme.spec.tranches():
            first = _first(state, line, phase, tranche)
            occurrences: list[int | None] = [None]
            if tranche.repeat is not None:
                occurrences += list(range(1, tranche.repeat.times + 1))
            for occurrence in occurrences:
                if line.is_released(tranche.id, occurrence):
                    continue
                if occurrence is None:
                    at, waiting = first
                else:
                    at, waiting = _repeat(state, line, tranche, occurrence, first, now)
                found.append((at, _row(line, phase, tranche, occurrence, at, waiting)))
    dated = sorted(((at, row) for at, row in found if at is not None), key=lambda pair: pair[0])
    return [row for _, row in dated] + [row for at, row in found if at is None]


Foreseen = tuple[datetime | None, list[Waiting]]


def _first(state: CooperationState, line: Line, phase: Phase, tranche: TrancheSpec) -> Foreseen:
    """A tranche's first (or only) occurrence, whether released or not: its repeats follow it."""
    if line.status == "proposed":
        return None, [_words("acceptance")]
    if is_held(line, tranche.id, None):
        return None, _held(state, line, [])
    if phase != state.stint.phase:
        back = phase.rank < state.stint.phase.rank
        return None, _held(state, line, [_words("return" if back else "move", phase=phase)])
    at, waiting = _trigger(state, line, tranche)
    if state.paused:
        # Rule 5: nothing is released while paused; what the clock would date is pushed by
        # the pause's length, unknown until it ends.
        waiting.append(_words("resume"))
        at = None
    return at, _held(state, line, waiting)


def _trigger(state: CooperationState, line: Line, tranche: TrancheSpec) -> Foreseen:
    """Rule 3, in the current stint, for an active line."""
    when = tranche.when
    attached = line.attached_at
    assert attached is not None
    if when == "entry":
        # Released on entry or at the attachment; still to come only while held or paused.
        return max(state.stint.start, attached), []
    if when == "approval":
        approved = any(
            a.tranche == tranche.id and a.stint == state.stint.number for a in line.approvals
        )
        return None, [] if approved else [_words("approval")]
    if isinstance(when, AcceptedCheckIns):
        more = when.accepted_check_ins - accepted_since_attachment(state, line)
        return None, [_words("accepted_check_ins", count=more)] if more > 0 else []
    return elapsed_at(state, line, when), []


def _repeat(
    state: CooperationState,
    line: Line,
    tranche: TrancheSpec,
    occurrence: int,
    first: Foreseen,
    now: datetime,
) -> Foreseen:
    """Rule 4: occurrence k at first release + k × every, in any phase, held while paused."""
    assert tranche.repeat is not None
    released = line.first_release(tranche.id)
    if released is None:
        at, waiting = first
        return (add(at, tranche.repeat.every, occurrence) if at else None), list(waiting)
    at = add(released.at, tranche.repeat.every, occurrence)
    if is_held(line, tranche.id, occurrence):
        return None, _held(state, line, [])
    if state.paused:
        return (at if at > now else None), _held(state, line, [_words("resume")])
    return at, _held(state, line, [])


def _held(state: CooperationState, line: Line, waiting: list[Waiting]) -> list[Waiting]:
    """Rules 18 and 20: whatever else it waits for, a held line's release also waits for
    its hold to end."""
    hold = hold_reason(state, line)
    if hold is None:
        return waiting
    kind, words = hold
    return [*waiting, Waiting(kind=kind, words=words)]


def _words(kind: WaitKind, count: int | None = None, phase: Phase | None = None) -> Waiting:
    if kind == "accepted_check_ins":
        words = f"{count} more accepted check-in{'s' if count != 1 else ''}"
    elif kind == "move":
        words = f"the move to {phase}"
    elif kind == "return":
        words = f"a return to {phase}"
    else:
        words = {
            "acceptance": "the funder's acceptance of the line",
            "approval": "approval",
            "resume": "the resume",
        }[kind]
    return Waiting(kind=kind, count=count, phase=phase, words=words)


def _row(
    line: Line,
    phase: Phase,
    tranche: TrancheSpec,
    occurrence: int | None,
    at: datetime | None,
    waiting: list[Waiting],
) -> TrancheToCome:
    return TrancheToCome(
        line=line.id,
        tranche=tranche.id,
        occurrence=occurrence,
        phase=phase,
        purpose=tranche.purpose,
        kind="loan" if tranche.loan is not None else "release",
        amount=line.amount_of(tranche, occurrence),
        currency=line.currency,
        expected_on=at.date().isoformat() if at is not None else None,
        waits_for="; ".join(w.words for w in waiting) or None,
        waiting=waiting,
    )
