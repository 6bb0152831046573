"""How test_valid_input_never_poisons.py runs a plan: one timer on next_wakeup, and commands
that read the state in between."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from domain import commands as c
from domain.cooperation import CooperationSpec
from domain.durations import CalendarOverflow
from domain.effects import FreeCommitment, PostRepayment, Release, RequestCommitment
from domain.errors import DomainError
from domain.lifecycle import Decision, decide, next_wakeup, tick
from domain.limits import at_door
from domain.programme import PHASE_ORDER, ProgrammeSpec, ProgrammeVersion
from domain.rules import RULES_VERSION
from domain.state import CooperationState, period_at
from tests.domain.never_poisons_inputs import (
    NUMERIC_18_2,
    Draw,
    SeededDraw,
    _cooperation,
    _programme,
    _shares,
    pick,
)

# ---------------------------------------------------------------------------------------
# Running: one timer on next_wakeup, commands in between


class Poisoned(AssertionError):
    pass


@dataclass
class Outcome:
    specs: int = 0
    specs_refused: int = 0
    commands_refused: int = 0
    registered: bool = False
    attempted: int = 0
    accepted: int = 0
    kinds: dict[str, list[int]] = field(default_factory=dict)

    def count(self, kind: str, accepted: bool) -> None:
        self.attempted += 1
        self.accepted += accepted
        done = self.kinds.setdefault(kind, [0, 0])
        done[0] += 1
        done[1] += accepted


def _storable(decision: Decision) -> None:
    for recorded in decision.events:
        data = recorded.model_dump(mode="json")
        text = json.dumps(data, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")
        if "\x00" in text or "\\u0000" in text:
            raise Poisoned(f"{recorded.type} holds a NUL: {text[:200]}")
    for effect in decision.effects:
        amounts: list[Decimal] = []
        if isinstance(effect, Release):
            amounts = [effect.amount, *(p.amount for p in effect.parts)]
        elif isinstance(effect, PostRepayment | RequestCommitment):
            amounts = [effect.amount]
        if any(abs(a) > NUMERIC_18_2 for a in amounts):
            raise Poisoned(f"{type(effect).__name__} amount beyond numeric(18, 2): {amounts}")
    decision.state.model_dump_json().encode("utf-8")


class Run:
    """A cooperation under one plan: the shell's part (timer, budgets) and the bookkeeping."""

    def __init__(self, versions: dict[str, ProgrammeVersion], outcome: Outcome) -> None:
        self.versions = versions
        self.remaining = {k: v.spec.budget for k, v in versions.items()}
        self.committed: dict[str, Decimal] = {}
        self.outcome = outcome
        self.state: CooperationState | None = None
        self.trail: list[str] = []

    def _fail(self, what: str, exc: BaseException) -> Poisoned:
        trail = "\n  ".join(self.trail[-12:])
        return Poisoned(
            f"{what}: {type(exc).__name__}: {exc}\n  …\n  {trail}\n{traceback.format_exc()}"
        )

    def clock(self, until: datetime, inclusive: bool) -> None:
        assert self.state is not None
        for _ in range(100_000):
            try:
                wakeup = next_wakeup(self.state)
            except Exception as exc:
                raise self._fail("next_wakeup raised", exc) from exc
            if wakeup is None or wakeup > until or (wakeup == until and not inclusive):
                return
            try:
                decision = tick(self.state, wakeup)
            except Exception as exc:
                raise self._fail(f"tick at {wakeup} raised", exc) from exc
            _storable(decision)
            self.trail.append(f"tick {wakeup}: {[e.type for e in decision.events]}")
            self.state = decision.state
        raise Poisoned("the clock never settles")

    def decide(self, command: c.Command, at: datetime, kind: str | None) -> bool:
        """The command at `at` after the clock before it; False when the rules refuse it."""
        if self.state is not None:
            self.clock(at, inclusive=False)
        # What the door let in must load again from history, without the door.
        loaded = type(command).model_validate_json(command.model_dump_json())
        assert loaded == command, f"{command!r} does not round-trip"
        self.trail.append(f"{at} {command!r}")
        try:
            decision = decide(self.state, command, at)
        except CalendarOverflow as exc:
            raise self._fail(f"{command.kind} computed a date beyond the calendar", exc) from exc
        except DomainError as exc:
            self.trail.append(f"  refused: {exc}")
            if kind is not None:
                self.outcome.count(kind, accepted=False)
            return False
        except Exception as exc:
            raise self._fail(f"decide({command.kind}) raised", exc) from exc
        _storable(decision)
        self.state = decision.state
        if kind is not None:
            self.outcome.count(kind, accepted=True)
        for effect in decision.effects:
            if isinstance(effect, RequestCommitment):
                self._commit(effect, at)
            elif isinstance(effect, FreeCommitment):
                self.remaining[effect.programme] += effect.amount
        return True

    def _commit(self, request: RequestCommitment, at: datetime) -> None:
        """Rule 9 as the store answers it, at the same instant."""
        already = self.committed.get(request.programme, Decimal(0))
        cap = request.cap
        if request.amount > self.remaining[request.programme] or (
            cap is not None and already + request.amount > cap
        ):
            self.decide(c.CommitmentRefused(line=request.line, reason="budget"), at, None)
            return
        self.remaining[request.programme] -= request.amount
        self.committed[request.programme] = already + request.amount
        self.decide(c.CommitmentCommitted(line=request.line), at, None)


def _start(draw: Draw) -> datetime:
    day = pick(
        draw,
        [(2027, 1, 4), (2027, 1, 31), (2028, 2, 29), (2027, 12, 31), (2029, 3, 31), (2030, 8, 30)],
    )
    seconds = 0 if draw.chance(0.7) else draw.integer(0, 86_399)
    return datetime(*day, tzinfo=UTC) + timedelta(seconds=seconds)


GAPS = [7, 0, 1, 3, 14, 20, 30, 45, 60, 90, 180, 400]


def run_plan(draw: Draw, outcome: Outcome) -> None:
    """Generate the programmes, the cooperation and a plan, and run it for years."""
    versions: dict[str, ProgrammeVersion] = {}
    for n in range(draw.integer(1, 3)):
        raw = _programme(draw, n)
        outcome.specs += 1
        try:
            spec = at_door(ProgrammeSpec, raw)
        except ValidationError:
            outcome.specs_refused += 1
            continue
        versions[spec.id] = ProgrammeVersion(version=1, spec=spec)
    if not versions:
        return
    raw_coop = _cooperation(draw, list(s.spec for s in versions.values()))
    outcome.specs += 1
    try:
        at_door(CooperationSpec, raw_coop)
    except ValidationError:
        outcome.specs_refused += 1
        return
    start = _start(draw)
    register = at_door(
        c.Register,
        {
            "cooperation": raw_coop,
            "programmes": [v.model_dump(mode="json") for v in versions.values()],
            "lines_accepted": draw.chance(0.6),
            "rules_version": pick(draw, list(range(RULES_VERSION, 0, -1))),
        },
    )
    run = Run(versions, outcome)
    if not run.decide(register, start, "register"):
        return
    outcome.registered = True
    for version in versions.values():
        line = run.state.line(version.spec.id) if run.state else None
        if line is not None and line.status == "active":
            run.remaining[version.spec.id] -= version.spec.potential
    daily = any(
        spec.check_in_every == "P1D" for v in versions.values() for spec in v.spec.phases.values()
    )
    # Commands over the first years (a daily clock costs a tick a day: one year of it shows
    # the same), then the clock alone up to `years`, eight at most.
    horizon = start + timedelta(days=366 if daily else 8 * 365 + 2)
    moment = start
    for n in range(draw.integer(5, 60)):
        moment += timedelta(days=pick(draw, GAPS))
        if draw.chance(0.2):
            moment += timedelta(seconds=draw.integer(1, 86_399))
        if moment > horizon:
            break
        assert run.state is not None
        made = _command(draw, run, n, moment)
        if made is not None:
            kind, command = made
            run.decide(command, moment, kind)
    years = 1 if daily else draw.integer(1, 8)
    end = max(min(moment, horizon), start + timedelta(days=365 * years + 2))
    run.clock(end, inclusive=True)


# ---------------------------------------------------------------------------------------
# Commands that read the state


def _door(model: type[BaseModel], data: dict[str, Any]) -> c.Command:
    return cast("c.Command", at_door(model, data))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def _candidates(run: Run, n: int, at: datetime) -> dict[str, list[dict[str, Any]]]:
    """Each command kind with the arguments the state makes sensible now."""
    s = run.state
    assert s is not None
    open_ = not s.closed
    moving = open_ and not s.paused
    phase_rank = s.phase.rank
    found: dict[str, list[dict[str, Any]]] = {}
    if open_ and s.stint.segments:
        current = period_at(s.stint, at)
        reviewed = {
            ci.period for ci in s.check_ins if ci.stint == s.stint.number and ci.reviewed_at
        }
        void = {k for k, mark in s.stint.periods.items() if mark.void}
        free = [k for k in (current - 1, current) if k >= 1 and k not in reviewed | void]
        found["check_in"] = [
            {"check_in_id": f"ci-{n}"},
            *({"check_in_id": f"ci-{n}", "period": k} for k in free),
            {
                "check_in_id": f"ci-{n}",
                "indicators": {"participants": n * 7, "taux": n / 7, "humeur": "très bien"},
            },
        ]
    submitted = [ci for ci in s.check_ins if ci.status == "submitted"]
    if open_ and submitted:
        latest = submitted[-1]
        found["review"] = [
            {"check_in_id": latest.id, "decision": "accepted"},
            {"check_in_id": latest.id, "decision": "changes_requested"},
        ]
        if latest.stint == s.stint.number:
            found["review"].append({"period": latest.period, "decision": "accepted"})
    approvals: list[dict[str, Any]] = []
    for line in s.active_lines():
        if not open_:
            break
        for phase, tranche in line.programme.spec.tranches():
            if (
                tranche.when == "approval"
                and phase == s.phase
                and not line.has_released(tranche.id)
                and not any(
                    a.tranche == tranche.id and a.stint == s.stint.number for a in line.approvals
                )
            ):
                by = {"role": "funder", "id": line.funder}
                approvals.append({"line": line.id, "tranche": tranche.id, "by": by})
                if tranche.loan is None and s.facilitator:
                    by = {"role": "facilitator", "id": s.facilitator}
                    approvals.append({"line": line.id, "tranche": tranche.id, "by": by})
    if approvals:
        found["approve"] = approvals
    repayments: list[dict[str, Any]] = []
    write_offs: list[dict[str, Any]] = []
    for line in s.lines:
        for loan in line.loans:
            owed = loan.outstanding
            if owed <= 0 or (s.rules_version >= 2 and loan.settled(s.rules_version)):
                continue
            for fraction in ("0.25", "1", "0.013"):
                part = max(Decimal("0.01"), _cents(owed * Decimal(fraction)))
                repayments.append({"line": line.id, "tranche": loan.tranche, "amount": str(part)})
            # Idempotent by request id (rules 3); the same id again records nothing twice.
            for request_id in (f"pay-{n}", f"pay-{n - 1}"):
                repayments.append(
                    {
                        "line": line.id,
                        "tranche": loan.tranche,
                        "amount": str(max(Decimal("0.01"), _cents(owed / 2))),
                        "request_id": request_id,
                    }
                )
            if s.rules_version < 2:
                number = len(loan.installments)
                repayments.append(
                    {
                        "line": line.id,
                        "tranche": loan.tranche,
                        "amount": "0.01",
                        "installment": number,
                    }
                )
            repayments.append(
                {
                    "line": line.id,
                    "tranche": loan.tranche,
                    "amount": str(_cents(owed / 3) or Decimal("0.01")),
                    "on": (at - timedelta(days=3)).date().isoformat(),
                }
            )
            write_offs.append(
                {
                    "line": line.id,
                    "tranche": loan.tranche,
                    "reason": "la coopérative a cessé son activité",
                    "by": {"role": "funder", "id": line.funder},
                }
            )
    if repayments:
        found["repay"] = repayments
        if s.rules_version >= 2:
            found["write_off"] = write_offs
    if moving and phase_rank < 2:
        found["advance"] = [{}, {"to": PHASE_ORDER[2].value}]
    if moving:
        found["restart"] = [
            {"to": PHASE_ORDER[r].value, "reason": "départ d'un membre"}
            for r in range(phase_rank + 1)
        ] + [{"reason": "on recommence"}]
        found["pivot"] = [{"objectives": "Nourrir le quartier", "reason": "nouveaux besoins"}]
        found["pause"] = [{}, {"reason": "été"}]
    if open_ and s.paused:
        found["resume"] = [{}]
    if open_:
        found["close"] = [{"outcome": "completed"}, {"outcome": "abandoned"}]
        found["request"] = [
            {"action": "advance", "reason": "prêts"},
            {"action": "restart", "to": "emergence", "reason": "on repart"},
            {"action": "pause", "reason": "fatigue"},
        ]
        found["join"] = [
            {"member": {"id": f"m-{n}", "name": "Nouvelle", "legal_form": "association"}},
            {"member": {"id": f"g-{n}", "name": "Groupe", "legal_form": "informal"}},
        ]
        payees = {a.payee for line in s.lines if line.status != "declined" for a in line.allocation}
        leaving = [m.id for m in s.members if m.id not in payees and m.id != s.lead]
        if leaving:
            found["leave"] = [{"member_id": m} for m in leaving]
        lines = {line.id: line for line in s.lines}
        legal = [m.id for m in s.members if not m.informal]
        proposals: list[dict[str, Any]] = []
        for pid, version in run.versions.items():
            existing = lines.get(pid)
            if existing is not None and existing.status != "declined":
                continue
            request: dict[str, Any] = {"programme": pid}
            lends = any(t.loan is not None for _, t in version.spec.tranches())
            if s.fiscal_host is None and len(legal) > 1:
                who = legal[:1] if lends else legal
                shares = _shares(SeededDraw(n), len(who))
                request["allocation"] = [
                    {"payee": p, "share": x} for p, x in zip(who, shares, strict=True)
                ]
            proposals.append({"line": request, "programme": version.model_dump(mode="json")})
        if proposals:
            found["propose"] = proposals
        waiting = [x for x in s.lines if x.status == "proposed" and not x.awaiting_commitment]
        if waiting:
            found["accept"] = [{"line": x.id} for x in waiting]
            found["decline"] = [{"line": x.id, "note": "pas cette année"} for x in waiting]
    return found


MODELS: dict[str, type[BaseModel]] = {
    "check_in": c.SubmitCheckIn,
    "review": c.ReviewCheckIn,
    "approve": c.ApproveTranche,
    "repay": c.RecordRepayment,
    "write_off": c.WriteOff,
    "advance": c.Advance,
    "restart": c.Restart,
    "pivot": c.Pivot,
    "pause": c.Pause,
    "resume": c.Resume,
    "close": c.Close,
    "request": c.RequestTransition,
    "join": c.MemberJoin,
    "leave": c.MemberLeave,
    "propose": c.ProposeLine,
    "accept": c.AcceptLine,
    "decline": c.DeclineLine,
}
# How often each kind is chosen when the state allows it; a close ends most of the story.
WEIGHTS = {
    "check_in": 12,
    "review": 10,
    "approve": 6,
    "repay": 6,
    "write_off": 1,
    "advance": 2,
    "restart": 1,
    "pivot": 1,
    "pause": 1,
    "resume": 6,
    "close": 1,
    "request": 1,
    "join": 1,
    "leave": 1,
    "propose": 3,
    "accept": 5,
    "decline": 1,
}
# Commands as anyone may send them, whatever the state: most are refused.
WILD: list[tuple[str, dict[str, Any]]] = [
    ("check_in", {"check_in_id": "wild", "period": 40}),
    ("review", {"period": 3, "decision": "accepted"}),
    ("approve", {"line": "prog-0", "tranche": "nope", "by": {"role": "collective", "id": "x"}}),
    ("repay", {"line": "prog-1", "tranche": "p1em-0", "amount": "1000000.00"}),
    ("advance", {"to": "emergence"}),
    ("restart", {"to": "structuring", "reason": "en avant"}),
    ("resume", {}),
    ("accept", {"line": "prog-2"}),
    ("leave", {"member_id": "asso"}),
    (
        "write_off",
        {"line": "prog-0", "tranche": "x", "reason": "r", "by": {"role": "funder", "id": "region"}},
    ),
    # What PostgreSQL would refuse in an event: the door refuses it first.
    ("pivot", {"objectives": "nourrir\x00", "reason": "r"}),
    ("pause", {"reason": "été \ud800"}),
    ("check_in", {"check_in_id": "nan", "indicators": {"taux": float("nan")}}),
    ("check_in", {"check_in_id": "big", "indicators": {"foule": 10**20}}),
    ("decline", {"line": "prog-1", "note": "x" * 3000}),
]


def _command(draw: Draw, run: Run, n: int, at: datetime) -> tuple[str, c.Command] | None:
    if draw.chance(0.05):
        kind, data = pick(draw, WILD)
        try:
            return kind, _door(MODELS[kind], data)
        except ValidationError:
            run.outcome.commands_refused += 1
            return None
    found = _candidates(run, n, at)
    if not found:
        return None
    kinds = sorted(found)
    total = sum(WEIGHTS[k] for k in kinds)
    roll = draw.integer(0, total - 1)
    for kind in kinds:
        roll -= WEIGHTS[kind]
        if roll < 0:
            return kind, _door(MODELS[kind], pick(draw, found[kind]))
    raise AssertionError("unreachable")
