"""Rules 3, 4 and 10: releases. Tranche triggers and approvals (rule 3), a tranche released at
most once per line and repeats (rule 4), each release split between the line's payees
(rule 10); what the clock releases (elapsed time, repeats) and what the commands make due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from domain import commands as c
from domain.allocation import split
from domain.durations import add
from domain.effects import Part, Release
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.lifecycle import versements
from domain.lifecycle.context import (
    Context,
    Occurrence,
    after_pauses,
    known_line,
    money_text,
    require_open,
)
from domain.lifecycle.holds import hold_of
from domain.lifecycle.line_events import emit_on_line, line_keys
from domain.lifecycle.loans import disburse
from domain.line_records import Approval, HeldRelease, ReleaseRecord
from domain.programme import Phase, ProgrammeSpec, TrancheSpec
from domain.state import CooperationState, Line
from domain.tranche_terms import AcceptedCheckIns, Elapsed


def _release_key(state: CooperationState, line: Line, tranche: str, occurrence: int | None) -> str:
    key = f"{state.id}:{line.id}:{tranche}"
    return f"{key}:{occurrence}" if occurrence is not None else key


def _release(
    ctx: Context,
    line: Line,
    phase: Phase,
    tranche: TrancheSpec,
    occurrence: int | None,
    at: datetime,
) -> None:
    s = ctx.state
    if hold_of(s, line) is not None:
        line.held.append(HeldRelease(tranche=tranche.id, occurrence=occurrence, due_at=at))
        return
    terms = tranche.loan
    kind: Literal["release", "loan"] = "loan" if terms is not None else "release"
    amount = line.amount_of(tranche, occurrence)
    assert amount is not None  # an active line's amounts are all known (rule 17)
    parts = [Part(payee=payee, amount=part) for payee, part in split(amount, line.allocation)]
    line.releases.append(
        ReleaseRecord(tranche=tranche.id, occurrence=occurrence, amount=amount, at=at, kind=kind)
    )
    key = _release_key(s, line, tranche.id, occurrence)
    due = versements.order(ctx, line, tranche.id, occurrence, parts, at)
    emit_on_line(
        ctx,
        "TrancheReleased",
        at,
        line,
        tranche=tranche.id,
        occurrence=occurrence,
        phase=phase.value,
        purpose=tranche.purpose.value,
        kind=kind,
        amount=money_text(amount),
        currency=line.currency,
        parts=[{"payee": p.payee, "amount": money_text(p.amount)} for p in parts],
        due_on=due.isoformat() if due is not None else None,
    )
    ctx.effects.append(
        Release(
            **line_keys(line),
            tranche=tranche.id,
            occurrence=occurrence,
            purpose=tranche.purpose,
            kind=kind,
            amount=amount,
            currency=line.currency,
            parts=parts,
            beneficiary=s.id,
            at=at,
            key=key,
            due_by=due,
        )
    )
    if terms is not None:
        disburse(ctx, line, tranche, terms, at, key)


def release_held(ctx: Context, line: Line, at: datetime) -> None:
    """The line's hold ended at `at` (rules 18 and 20): what it held is released now, in the
    order it fell due, to the allocation then in force."""
    held, line.held = line.held, []
    for h in held:
        found = line.tranche(h.tranche)
        assert found is not None
        phase, tranche = found
        _release(ctx, line, phase, tranche, h.occurrence, at)


def release_unheld(ctx: Context, at: datetime) -> None:
    """Every active line whose hold has ended (its convention recorded, its amendment
    decided) releases what it held, in the order of lines (rule 3); nothing while paused
    (rule 5): the resume calls it again, for a hold that ended in the pause."""
    s = ctx.state
    if s.closed or s.paused:
        return
    for line in s.active_lines():
        if line.held and hold_of(s, line) is None:
            release_held(ctx, line, at)


def accepted_since_attachment(state: CooperationState, line: Line) -> int:
    """Accepted check-ins of the current stint's periods, accepted since the line's
    attachment (rule 3)."""
    attached = line.attached_at
    assert attached is not None
    return sum(
        1
        for ci in state.check_ins
        if ci.stint == state.stint.number
        and ci.status == "accepted"
        and ci.reviewed_at is not None
        and ci.reviewed_at >= attached
    )


def elapsed_at(state: CooperationState, line: Line, trigger: Elapsed) -> datetime | None:
    assert line.attached_at is not None
    since = max(state.stint.start, line.attached_at)
    return after_pauses(state, since, add(since, trigger.elapsed))


def _triggered(
    state: CooperationState, line: Line, tranche: TrancheSpec, at: datetime, clock: bool
) -> bool:
    when = tranche.when
    if when == "entry":
        return True
    if when == "approval":
        return any(
            a.tranche == tranche.id and a.stint == state.stint.number for a in line.approvals
        )
    if isinstance(when, AcceptedCheckIns):
        return accepted_since_attachment(state, line) >= when.accepted_check_ins
    if clock:
        fire = elapsed_at(state, line, when)
        return fire is not None and fire <= at
    return False


def release_due(ctx: Context, at: datetime, clock: bool = False) -> None:
    """Release what the commands made due, in the order of lines then tranches (rule 3).

    Time-based releases (elapsed, repeats) belong to the clock, which comes after the
    commands of an instant; only a resume (`clock=True`) releases those it held.
    """
    s = ctx.state
    if s.closed or s.paused:
        return
    for line in s.active_lines():
        for phase, tranche in line.programme.spec.tranches():
            if (
                phase == s.stint.phase
                and not line.has_released(tranche.id)
                and _triggered(s, line, tranche, at, clock)
            ):
                _release(ctx, line, phase, tranche, None, at)
            if clock and tranche.repeat is not None:
                first = line.first_release(tranche.id)
                if first is None:
                    continue
                for k in range(line.repeats_released(tranche.id) + 1, tranche.repeat.times + 1):
                    if add(first.at, tranche.repeat.every, k) > at:
                        break
                    _release(ctx, line, phase, tranche, k, at)


# ---------------------------------------------------------------------------------------
# The clock's releases: elapsed triggers and repeat occurrences


# The tranches the clock can fire (elapsed or repeated), with their index in the spec's
# `tranches()`, kept by the spec's identity as `tranches()` itself is: the clock asks at every
# wakeup, and most tranches (entry, approval, check-ins) are never the clock's.
_CLOCKED: dict[int, tuple[ProgrammeSpec, list[tuple[int, Phase, TrancheSpec]]]] = {}
_CLOCKED_KEPT = 256


def _clocked(spec: ProgrammeSpec) -> list[tuple[int, Phase, TrancheSpec]]:
    kept = _CLOCKED.get(id(spec))
    if kept is not None and kept[0] is spec:
        return kept[1]
    found = [
        (j, phase, tranche)
        for j, (phase, tranche) in enumerate(spec.tranches())
        if isinstance(tranche.when, Elapsed) or tranche.repeat is not None
    ]
    if len(_CLOCKED) >= _CLOCKED_KEPT:
        _CLOCKED.clear()
    _CLOCKED[id(spec)] = (spec, found)
    return found


def release_occurrences(s: CooperationState) -> list[Occurrence]:
    if s.closed or s.paused:
        return []
    found: list[Occurrence] = []
    current = s.stint.phase
    for i, line in enumerate(s.lines):
        if line.status != "active":
            continue
        releases = line.releases
        # Each tranche's own releases scanned where it is asked about: what `has_released`,
        # `first_release` and `repeats_released` would say, without their calls.
        for j, phase, tranche in _clocked(line.programme.spec):
            tid = tranche.id
            if (
                phase == current
                and isinstance(tranche.when, Elapsed)
                and not any(r.tranche == tid and r.occurrence is None for r in releases)
                and not any(h.tranche == tid and h.occurrence is None for h in line.held)
            ):
                fire = elapsed_at(s, line, tranche.when)
                if fire is not None:
                    found.append(Occurrence(fire, (i, j, 0), _clock_release(line.id, tid, None)))
            repeat = tranche.repeat
            if repeat is not None:
                first: ReleaseRecord | None = None
                k = 1
                for r in releases:
                    if r.tranche == tid:
                        if r.occurrence is not None:
                            k += 1
                        elif first is None:
                            first = r
                if first is not None and k <= repeat.times:
                    at = add(first.at, repeat.every, k)
                    found.append(Occurrence(at, (i, j, k), _clock_release(line.id, tid, k)))
    return found


def _clock_release(
    line_id: str, tranche_id: str, occurrence: int | None
) -> Callable[[Context], None]:
    def apply(ctx: Context) -> None:
        s = ctx.state
        line = s.line(line_id)
        assert line is not None
        found = line.tranche(tranche_id)
        assert found is not None
        phase, tranche = found
        if occurrence is None:
            assert isinstance(tranche.when, Elapsed)
            at = elapsed_at(s, line, tranche.when)
        else:
            first = line.first_release(tranche_id)
            assert first is not None and tranche.repeat is not None
            at = add(first.at, tranche.repeat.every, occurrence)
        assert at is not None
        _release(ctx, line, phase, tranche, occurrence, at)

    return apply


# ---------------------------------------------------------------------------------------
# Approval (rule 3)


def approve_tranche(ctx: Context, cmd: c.ApproveTranche, now: datetime) -> None:
    s = ctx.state
    require_open(s, "approve a tranche")
    line = known_line(s, cmd.line)
    found = line.tranche(cmd.tranche)
    if found is None:
        raise InvalidInput(f"programme {line.id!r} has no tranche {cmd.tranche!r}", "tranche")
    phase, tranche = found
    if tranche.when != "approval":
        raise InvalidInput(
            f"tranche {tranche.id!r} is not released on approval (its trigger is "
            f"{tranche.when if isinstance(tranche.when, str) else tranche.when.model_dump()})",
            "tranche",
        )
    if line.status != "active":
        raise Conflict(f"line {line.id!r} is {line.status}, not active")
    if line.has_released(tranche.id):
        raise Conflict(f"tranche {tranche.id!r} of line {line.id!r} is already released")
    if phase != s.phase:
        raise Conflict(
            f"tranche {tranche.id!r} belongs to {phase}: it is approved while the cooperation is "
            f"in that phase, not in {s.phase}"
        )
    if any(a.tranche == tranche.id and a.stint == s.stint.number for a in line.approvals):
        raise Conflict(f"tranche {tranche.id!r} is already approved, released at resume")
    _check_authority(s, line, tranche, cmd.by)
    line.approvals.append(Approval(tranche=tranche.id, stint=s.stint.number, at=now, by=cmd.by))
    ctx.emit(
        "TrancheApproved",
        now,
        line=line.id,
        tranche=tranche.id,
        by_role=cmd.by.role,
        by=cmd.by.id,
    )
    release_due(ctx, now)


def _check_authority(s: CooperationState, line: Line, tranche: TrancheSpec, by: c.Actor) -> None:
    """Rule 3: the line's funder may always approve; the facilitator only a grant whose
    payees do not include itself."""
    if by.role == "funder" and by.id == line.funder:
        return
    if by.role == "facilitator" and s.facilitator is not None and by.id == s.facilitator:
        if tranche.loan is not None:
            raise Forbidden(f"tranche {tranche.id!r} is a loan: only the funder approves it", "by")
        if any(share.payee == by.id for share in line.allocation):
            raise Forbidden(
                f"the facilitator {by.id!r} is a payee of line {line.id!r}: only the funder "
                "approves its tranches",
                "by",
            )
        return
    raise Forbidden(
        f"{by.role} {by.id!r} may not approve tranches of line {line.id!r}: its funder "
        f"({line.funder}) or the cooperation's facilitator may",
        "by",
    )
