"""What test_valid_input_never_poisons.py generates: draws, programmes and a cooperation."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

from domain.programme import PHASE_ORDER, ProgrammeSpec

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
