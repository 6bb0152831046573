"""Whatever passes the door runs for years: no valid input poisons a cooperation.

Generated programmes (1 to 3: phases, cadences, graces, reminder leads, report periods,
overrun limits, tranches of every trigger, repeats, loans, caps, leads), a generated
cooperation (formal and informal members, fiscal host, allocations with awkward shares,
angles, start phase) and years of generated commands go through the door (`at_door`). What the
door refuses is counted, not run. For the rest, over up to eight years with one timer on
`next_wakeup` as a workflow keeps:

- `decide` raises nothing but DomainError (a refusal), and never a CalendarOverflow;
- `tick` and `next_wakeup` raise nothing at all;
- every decision is storable: its events are JSON a PostgreSQL jsonb takes (UTF-8, no NUL,
  no NaN), its amounts fit numeric(18, 2), the state round-trips, and every command still
  loads from history without the door's context.

The command generator reads the state (it reviews the latest submitted check-in, approves a
tranche of the current phase that waits for approval, repays part of what a loan still owes,
resumes only when paused…), so most commands are accepted: the seeded companion test measures
the accepted share over 100 fixed seeds and holds it above a floor.

One plan builder serves both tests through `Draw`: Hypothesis's draws (which shrink toward the
first option and toward "no") or a seeded `random.Random`.
"""

from __future__ import annotations

import json
import random
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, Protocol, TypeVar, cast

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
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

T = TypeVar("T")

NUMERIC_18_2 = Decimal("9999999999999999.99")


class Draw(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...

    def chance(self, p: float) -> bool: ...


def pick(draw: Draw, options: Sequence[T]) -> T:
    """The first option is the plain one: Hypothesis shrinks toward it."""
    return options[draw.integer(0, len(options) - 1)]


class SeededDraw:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


class HypothesisDraw:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))

    def chance(self, p: float) -> bool:
        # Shrinks toward False: a minimal example has no rare event in it.
        return self.data.draw(st.integers(0, 999)) >= 1000 * (1 - p)


# ---------------------------------------------------------------------------------------
# Programmes

CADENCES = ["P1M", "P2W", "P1W", "P3W", "P30D", "P2M", "P3M", "P6M", "P1Y", "P1M15D"]
GRACES = ["P14D", "P0D", "P1D", "PT36H", "P1M", "P3M", "P1Y"]
REMINDERS = ["P7D", "P0D", "P1D", "PT12H", "P1M", "P3M", "P1Y"]
REPORTS = ["P6M", "P3M", "P1M", "P1Y", "P2W", "P45D", "P1D"]
MAX_DURATIONS = [None, "P8M", "P1Y", "P2Y", "P1M", "PT12H", "P3Y6M", "P100Y"]
ELAPSED = ["P2M", "P0D", "P1M", "P45D", "P6M", "P1Y", "P3Y", "PT12H", "P1Y1M1D"]
REPEAT_EVERY = ["P1Y", "P1M", "P3M", "P1W", "P6M", "P1D", "P31D"]
# (grace, installment_every, term): on the edge of the month ends, all valid.
LOANS = [
    ("P24M", "P3M", "P84M"),
    ("P0D", "P1M", "P1Y"),
    ("P3M", "P1M", "P1Y"),
    ("P6M", "P5M", "P24M"),
    ("P1M", "P1M", "P2M"),
    ("P0D", "P1M", "P1M"),
    ("P1Y", "P1Y", "P5Y"),
    ("P0D", "P1W", "P3M"),
    ("P11M", "P1M", "P1Y"),
    ("P27D", "P1D", "P1M"),
    ("P0D", "P1D", "P30D"),
    ("P1M", "P3M", "P13M"),
    ("P2Y", "P6M", "P2Y6M"),
]
LOAN_GRACES = ["P24M", "P0D", "P1M", "P3M", "P6M", "P1Y", "P29D"]
LOAN_EVERY = ["P3M", "P1M", "P1W", "P6M", "P1Y", "P1D"]
LOAN_TERMS = ["P84M", "P1Y", "P2Y", "P13M", "P1M", "P3M", "P30D", "P5Y", "P1M1D", "P31D"]
LOAN_REMINDERS = ["P14D", "P0D", "P1M", "P1Y"]
RATES = ["0.01", "0", "0.035", "0.125", "1", "0.000001"]
AMOUNTS = ["1000.00", "0.01", "333.33", "700.01", "8000.00", "0.00", "123456.78", "9999999.99"]
# What the door must refuse; a generated spec holds one now and then.
WRONG = {
    "check_in_every": ["PT12H", "P101Y", "PT1S"],
    "check_in_grace": ["P2Y", "P99999Y"],
    "report_every": ["PT1H"],
    "amount": ["10000000000000.00", "1E+30"],
    "rate": ["1.5", "0.0000001"],
    "term": ["P9999Y", "PT12H"],
}


def _wrong(draw: Draw, key: str, value: Any) -> Any:
    return pick(draw, WRONG[key]) if draw.chance(0.01) else value


def _tranche(draw: Draw, tid: str) -> dict[str, Any]:
    kind = draw.integer(0, 4)
    when: Any = ["entry", "approval", None, None, "approval"][kind]
    if kind == 2:
        when = {"elapsed": pick(draw, ELAPSED)}
    elif kind == 3:
        when = {"accepted_check_ins": draw.integer(1, 4)}
    tranche: dict[str, Any] = {
        "id": tid,
        "amount": _wrong(draw, "amount", pick(draw, AMOUNTS)),
        "purpose": pick(draw, ["animation", "investment", "operating"]),
        "when": when,
    }
    if draw.chance(0.3):
        grace, every, term = pick(draw, LOANS)
        if draw.chance(0.2):
            # Any combination: many leave no installment from some dates and are refused.
            grace, every = pick(draw, LOAN_GRACES), pick(draw, LOAN_EVERY)
            term = pick(draw, LOAN_TERMS)
        loan = {
            "annual_rate": _wrong(draw, "rate", pick(draw, RATES)),
            "grace": grace,
            "term": _wrong(draw, "term", term),
            "installment_every": every,
        }
        if tranche["amount"] == "0.00" and not draw.chance(0.05):
            tranche["amount"] = "5000.00"
        if draw.chance(0.3):
            loan["reminder_before"] = pick(draw, LOAN_REMINDERS)
        tranche["instrument"] = {"loan": loan}
        tranche["purpose"] = "investment"
    elif draw.chance(0.3):
        tranche["repeat"] = {"every": pick(draw, REPEAT_EVERY), "times": draw.integer(1, 12)}
    return tranche


def _phase(draw: Draw, prefix: str) -> dict[str, Any]:
    # Daily check-ins are valid but make years of clock: rare, to keep the test fast.
    cadence = "P1D" if draw.chance(0.02) else pick(draw, CADENCES)
    spec: dict[str, Any] = {
        "check_in_every": _wrong(draw, "check_in_every", cadence),
        "tranches": [_tranche(draw, f"{prefix}-{i}") for i in range(draw.integer(0, 4))],
    }
    if draw.chance(0.5):
        spec["check_in_grace"] = _wrong(draw, "check_in_grace", pick(draw, GRACES))
    if draw.chance(0.5):
        spec["reminder_before"] = pick(draw, REMINDERS)
    if draw.chance(0.5):
        spec["report_every"] = _wrong(draw, "report_every", pick(draw, REPORTS))
    max_duration = pick(draw, MAX_DURATIONS)
    if max_duration is not None:
        spec["max_duration"] = max_duration
    return spec


def _programme(draw: Draw, n: int) -> dict[str, Any]:
    phases = [p for p in PHASE_ORDER if draw.integer(0, 2) > 0] or [PHASE_ORDER[n % 3]]
    spec: dict[str, Any] = {
        "id": f"prog-{n}",
        "name": pick(draw, ["Coopérations 2027", "Fonds d'amorçage", "Prêts patients ☀"]),
        "funder": pick(draw, ["fondation", "region", "fondation"]) if n else "fondation",
        "currency": "EUR",
        "budget": pick(draw, ["1000000000.00", "50000.00", "9999999999999.99"]),
        "locale": pick(draw, ["fr", "en"]),
        "phases": {p.value: _phase(draw, f"p{n}{p.value[:2]}") for p in phases},
    }
    if draw.chance(0.15):
        spec["requires_lead"] = True
    if draw.chance(0.15):
        spec["cap_per_cooperation"] = pick(draw, ["100000.00", "1000.00"])
    return spec


# ---------------------------------------------------------------------------------------
# The cooperation

MEMBERS = [
    ("asso", "association"),
    ("habitants", "informal"),
    ("scic-du-pays", "scic"),
    ("mairie", "local_authority"),
    ("collectif", " Informal "),
    ("atelier", "company"),
]


def _shares(draw: Draw, k: int) -> list[str]:
    """k shares of at most 10 places adding up to exactly 1, often awkwardly."""
    unit = 10**10
    if draw.chance(0.5):
        base = unit // k
        parts = [base] * (k - 1) + [unit - base * (k - 1)]
    else:
        cuts = sorted(draw.integer(1, unit - 1) for _ in range(k - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, unit], strict=True)]
        if any(p == 0 for p in parts):
            parts = [unit // k] * (k - 1) + [unit - (unit // k) * (k - 1)]
    return [format(Decimal(p).scaleb(-10).normalize(), "f") for p in parts]


def _cooperation(draw: Draw, programmes: list[ProgrammeSpec]) -> dict[str, Any]:
    count = draw.integer(1, 4)
    chosen = [MEMBERS[(draw.integer(0, 5) + i) % len(MEMBERS)] for i in range(count)]
    members = list({m: f for m, f in chosen}.items())
    legal = [m for m, f in members if f.strip().lower() != "informal"]
    host = None
    if not legal or draw.chance(0.5):
        host = pick(draw, ["pole", "tiers", legal[0] if legal else "pole"])
    payees = sorted({*legal, *([host] if host else [])})
    lines: list[Any] = []
    for spec in programmes:
        if draw.chance(0.25):
            continue  # proposed later, if at all
        lends = any(t.loan is not None for _, t in spec.tranches())
        # Rule 20: a loan's borrower is a legal-entity member, never the fiscal host.
        borrowers = [p for p in payees if p != host] if lends else payees
        if not borrowers:
            continue
        by_default = host is not None or len(legal) == 1
        if draw.chance(0.4) and by_default and not (lends and host is not None):
            lines.append(spec.id)
            continue
        line: dict[str, Any] = {"programme": spec.id}
        if draw.chance(0.6) or lends or (host is None and len(legal) != 1):
            k = 1 if lends else draw.integer(1, len(payees))
            first = draw.integer(0, len(borrowers) - 1)
            who = [borrowers[(first + i) % len(borrowers)] for i in range(k)]
            line["allocation"] = [
                {"payee": p, "share": s} for p, s in zip(who, _shares(draw, k), strict=True)
            ]
        if draw.chance(0.4):
            line["angle"] = {
                "summary": "Un tiers-lieu nourricier — « ensemble »",
                "indicators": ["participants", "repas servis"],
                "members": [m for m, _ in members][: draw.integer(0, len(members))],
            }
        lines.append(line)
    kind = pick(draw, ["non_modelled", "modelled", "systemic"])
    coop: dict[str, Any] = {
        "id": "ruche",
        "name": "La Ruche",
        "kind": kind,
        "economic_model": pick(draw, ["hybrid", "market", "non_market"]),
        "members": [{"id": m, "name": m.title(), "legal_form": f} for m, f in members],
        "facilitator": pick(draw, ["tiers", "tiers", "pole"]),
        "start_phase": pick(draw, ["emergence", "experimentation", "structuring"]),
        "funding_lines": lines,
    }
    if kind == "modelled":
        coop["model"] = "Territoires zéro chômeur"
    if host is not None:
        coop["fiscal_host"] = host
    if any(p.requires_lead for p in programmes) and draw.chance(0.8):
        coop["lead"] = members[0][0]
    return coop


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


# ---------------------------------------------------------------------------------------
# The properties


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_nothing_that_passes_the_door_poisons_a_cooperation(data: st.DataObject) -> None:
    outcome = Outcome()
    run_plan(HypothesisDraw(data), outcome)
    event(f"inputs refused at the door: {outcome.specs_refused}")
    event("registered" if outcome.registered else "not registered")
    event(f"commands accepted: {outcome.accepted // 10 * 10}+ of {outcome.attempted // 10 * 10}+")
    # Per example: a plan the state allows is mostly accepted (wild commands aside).
    if outcome.attempted >= 10:
        assert outcome.accepted >= 0.3 * outcome.attempted, outcome.kinds


SEEDS = range(100)


def test_generated_plans_are_mostly_valid_and_mostly_accepted() -> None:
    """The same generator on fixed seeds: the property above is not vacuous."""
    outcome = Outcome()
    registered = 0
    began = time.perf_counter()
    for seed in SEEDS:
        one = Outcome()
        run_plan(SeededDraw(seed), one)
        registered += one.registered
        outcome.specs += one.specs
        outcome.specs_refused += one.specs_refused
        outcome.commands_refused += one.commands_refused
        outcome.attempted += one.attempted
        outcome.accepted += one.accepted
        for kind, (tried, taken) in one.kinds.items():
            done = outcome.kinds.setdefault(kind, [0, 0])
            done[0] += tried
            done[1] += taken
    share = outcome.accepted / outcome.attempted
    print(
        f"\n{len(SEEDS)} seeds in {time.perf_counter() - began:.1f}s: "
        f"{outcome.specs_refused}/{outcome.specs} inputs and {outcome.commands_refused} "
        "commands refused at the door, "
        f"{registered} cooperations registered, {outcome.accepted}/{outcome.attempted} "
        f"commands accepted ({share:.0%}); by kind [tried, accepted]: {outcome.kinds}"
    )
    # Measured on these seeds: 15 % of inputs refused at the door (the wrong values sown on
    # purpose and loans whose grace leaves no installment), 88 of 100 registered, 93 % of
    # commands accepted. The floors leave room for the rules and the generator to move.
    assert outcome.specs_refused <= 0.3 * outcome.specs
    assert registered >= 0.75 * len(SEEDS)
    assert share >= 0.75
    # Every kind of command is tried, and each is accepted at times.
    assert set(outcome.kinds) == set(MODELS) | {"register"}
    assert all(taken for _, taken in outcome.kinds.values()), outcome.kinds
