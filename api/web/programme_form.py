"""The programme form: a spec as the form's values and back. Inputs are named by the API's
paths (`phases.emergence.tranches.0.share`), durations by their path with `.n` and `.unit`
(api/web/forms.py), so the API's errors find their inputs. Tranche rows are numbered on the
form; empty rows are left out of the spec, and the API's tranche numbers are put back on the
rows they came from."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from api.web.forms import duration_of, money_typed, spoken
from domain.programme import PHASE_ORDER, PhaseSpec, Purpose

PHASES = tuple(p.value for p in PHASE_ORDER)
PURPOSES = tuple(p.value for p in Purpose)
TRIGGERS = ("entry", "accepted_check_ins", "elapsed", "approval")
SPARE_ROWS = 1
"""Empty tranche rows a phase shows beyond its tranches; "add a tranche" adds one more."""

PHASE_DURATIONS = ("check_in_every", "check_in_grace", "reminder_before", "report_every")
PHASE_OPTIONAL: tuple[str, ...] = ("max_duration",) + (
    # The forecast's assumption of how long a phase lasts (issue 19), where the spec has it.
    ("expected_duration",) if "expected_duration" in PhaseSpec.model_fields else ()
)
LOAN_DURATIONS = ("grace", "term", "installment_every")
TRANCHE_TEXTS = (
    "id",
    "amount",
    "share",
    "purpose",
    "when",
    "when.accepted_check_ins",
    "repeat.times",
    "instrument",
    "instrument.loan.annual_rate",
)
TRANCHE_DURATIONS = (
    "when.elapsed",
    "repeat.every",
    *(f"instrument.loan.{name}" for name in LOAN_DURATIONS),
)


def rows_of(values: Mapping[str, str], phase: str) -> int:
    text = values.get(f"phases.{phase}.rows", "")
    return min(int(text), 50) if text.isdigit() else SPARE_ROWS


def inputs(values: Mapping[str, str]) -> set[str]:
    """Every input the form shows, by the name errors go to."""
    names = {"id", "name", "currency", "budget", "locale", "requires_lead"}
    names |= {"cap_per_cooperation", "amounts", "grant.min", "grant.max", "grant"}
    names |= {"convention", "payment_within", "phases"}
    for phase in PHASES:
        at = f"phases.{phase}"
        names |= {at, *(f"{at}.{d}" for d in PHASE_DURATIONS + PHASE_OPTIONAL)}
        names.add(f"{at}.tranches")
        for i in range(rows_of(values, phase)):
            row = f"{at}.tranches.{i}"
            names |= {row, *(f"{row}.{n}" for n in TRANCHE_TEXTS + TRANCHE_DURATIONS)}
    return names


def values_of(spec: Mapping[str, Any]) -> dict[str, str]:
    """A spec (the API's JSON) as the form's values."""
    values: dict[str, str] = {}
    for name in ("id", "name", "currency", "budget", "locale", "cap_per_cooperation"):
        if spec.get(name) is not None:
            values[name] = str(spec[name])
    values["amounts"] = str(spec.get("amounts") or "fixed")
    if spec.get("requires_lead"):
        values["requires_lead"] = "true"
    if spec.get("convention") == "required":
        values["convention"] = "required"
    for bound in ("min", "max"):
        if (spec.get("grant") or {}).get(bound) is not None:
            values[f"grant.{bound}"] = str(spec["grant"][bound])
    _put_duration(values, "payment_within", spec.get("payment_within"))
    for phase, p in (spec.get("phases") or {}).items():
        at = f"phases.{phase}"
        values[f"{at}.funded"] = "true"
        for name in PHASE_DURATIONS + PHASE_OPTIONAL:
            _put_duration(values, f"{at}.{name}", p.get(name))
        tranches = p.get("tranches") or []
        values[f"{at}.rows"] = str(len(tranches) + SPARE_ROWS)
        for i, t in enumerate(tranches):
            _tranche_values(values, f"{at}.tranches.{i}", t)
    return values


def _tranche_values(values: dict[str, str], row: str, t: Mapping[str, Any]) -> None:
    for name in ("id", "amount", "share", "purpose"):
        if t.get(name) is not None:
            values[f"{row}.{name}"] = str(t[name])
    when = t.get("when")
    if isinstance(when, str):
        values[f"{row}.when"] = when
    elif isinstance(when, Mapping) and "accepted_check_ins" in when:
        values[f"{row}.when"] = "accepted_check_ins"
        values[f"{row}.when.accepted_check_ins"] = str(when["accepted_check_ins"])
    elif isinstance(when, Mapping) and "elapsed" in when:
        values[f"{row}.when"] = "elapsed"
        _put_duration(values, f"{row}.when.elapsed", when["elapsed"])
    repeat = t.get("repeat") or {}
    if repeat:
        _put_duration(values, f"{row}.repeat.every", repeat.get("every"))
        values[f"{row}.repeat.times"] = str(repeat.get("times", ""))
    loan = (
        (t.get("instrument") or {}).get("loan") if isinstance(t.get("instrument"), dict) else None
    )
    values[f"{row}.instrument"] = "loan" if loan else "grant"
    if loan:
        values[f"{row}.instrument.loan.annual_rate"] = str(loan.get("annual_rate", ""))
        for name in LOAN_DURATIONS:
            _put_duration(values, f"{row}.instrument.loan.{name}", loan.get(name))


def _put_duration(values: dict[str, str], name: str, iso: Any) -> None:
    if iso:
        said = spoken(str(iso))
        values[f"{name}.n"], values[f"{name}.unit"] = said.n, said.unit


class Built:
    """The spec the form says, what is wrong before sending (by input), and, for each phase,
    the form's row of each tranche sent (the API numbers only the tranches it got)."""

    def __init__(self) -> None:
        self.spec: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.rows: dict[str, list[int]] = {}

    def duration(self, values: Mapping[str, str], name: str, wrong: str) -> str | None:
        try:
            return duration_of(values.get(f"{name}.n"), values.get(f"{name}.unit"))
        except ValueError:
            self.errors[name] = wrong
            return None

    def form_path(self, path: str) -> str:
        """An API path with its tranche number turned into the form's row."""
        found = re.match(r"^phases\.(\w+)\.tranches\.(\d+)(.*)$", path)
        if not found:
            return path
        phase, k, rest = found.group(1), int(found.group(2)), found.group(3)
        sent = self.rows.get(phase, [])
        return f"phases.{phase}.tranches.{sent[k] if k < len(sent) else k}{rest}"


def spec_of(values: Mapping[str, str], funder: str, wrong_number: str) -> Built:
    """The form's values as the API's spec (the funder is the signed-in one). Only what the
    form cannot send is checked here (a number of a duration that is not one); the rules are
    the API's."""
    built = Built()
    spec = built.spec
    spec["funder"] = funder
    for name in ("id", "name", "currency", "locale"):
        if values.get(name, "").strip():
            spec[name] = values[name].strip()
    if "currency" in spec:
        spec["currency"] = spec["currency"].upper()
    for name in ("budget", "cap_per_cooperation"):
        if values.get(name, "").strip():
            spec[name] = money_typed(values[name])
    spec["requires_lead"] = values.get("requires_lead") == "true"
    if values.get("amounts") == "granted":
        spec["amounts"] = "granted"
        bounds = {
            b: money_typed(values[f"grant.{b}"])
            for b in ("min", "max")
            if values.get(f"grant.{b}", "").strip()
        }
        if bounds:
            spec["grant"] = bounds
    if values.get("convention") == "required":
        spec["convention"] = "required"
    payment = built.duration(values, "payment_within", wrong_number)
    if payment:
        spec["payment_within"] = payment
    phases: dict[str, Any] = {}
    for phase in PHASES:
        at = f"phases.{phase}"
        if values.get(f"{at}.funded") != "true":
            continue
        p: dict[str, Any] = {}
        for name in PHASE_DURATIONS + PHASE_OPTIONAL:
            d = built.duration(values, f"{at}.{name}", wrong_number)
            if d:
                p[name] = d
        p["tranches"] = []
        built.rows[phase] = []
        for i in range(rows_of(values, phase)):
            tranche = _tranche_of(built, values, f"{at}.tranches.{i}", wrong_number)
            if tranche is not None:
                p["tranches"].append(tranche)
                built.rows[phase].append(i)
        phases[phase] = p
    spec["phases"] = phases
    return built


def _tranche_of(
    built: Built, values: Mapping[str, str], row: str, wrong_number: str
) -> dict[str, Any] | None:
    def text(name: str) -> str:
        return values.get(f"{row}.{name}", "").strip()

    if not any(text(n) for n in ("id", "amount", "share")):
        return None  # an empty row: the spare one
    t: dict[str, Any] = {"id": text("id")}
    if text("amount"):
        t["amount"] = money_typed(text("amount"))
    if text("share"):
        t["share"] = text("share").replace(",", ".")
    t["purpose"] = text("purpose")
    when = text("when") or "entry"
    # The trigger's number or duration is said missing here: the API, given none, would
    # answer for every kind of trigger at once.
    if when == "accepted_check_ins":
        n = text("when.accepted_check_ins")
        if not n.isdigit():
            built.errors[f"{row}.when.accepted_check_ins"] = wrong_number
        t["when"] = {"accepted_check_ins": int(n) if n.isdigit() else n}
    elif when == "elapsed":
        elapsed = built.duration(values, f"{row}.when.elapsed", wrong_number)
        if elapsed is None:
            built.errors[f"{row}.when.elapsed"] = wrong_number
        t["when"] = {"elapsed": elapsed}
    else:
        t["when"] = when
    every = built.duration(values, f"{row}.repeat.every", wrong_number)
    if every or text("repeat.times"):
        times = text("repeat.times")
        t["repeat"] = {"every": every, "times": int(times) if times.isdigit() else times}
    if text("instrument") == "loan":
        loan: dict[str, Any] = {
            "annual_rate": text("instrument.loan.annual_rate").replace(",", ".")
        }
        for name in LOAN_DURATIONS:
            loan[name] = built.duration(values, f"{row}.instrument.loan.{name}", wrong_number)
        t["instrument"] = {"loan": loan}
    return t


# -- what changed between two versions ----------------------------------------------------


def flat(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A spec as `path → value`, tranches named by their id (not their place), so a tranche
    added before another does not read as every later one changed."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and prefix.endswith(".tranches"):
            if not value:
                out[prefix] = []
            for t in value:
                walk(f"{prefix}.{t.get('id')}", {k: v for k, v in t.items() if k != "id"})
        else:
            out[prefix] = value

    walk("", {k: v for k, v in spec.items() if k != "version"})
    return out


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Each field that differs: (path, value before or None, value after or None), in the
    order of the later version's fields, then what it dropped. A phase or a tranche added or
    dropped whole is one change, its value the whole phase's or tranche's spec."""
    old, new = flat(before), flat(after)
    old_units, new_units = _units(before), _units(after)
    out: list[tuple[str, Any, Any]] = []
    said: set[str] = set()
    for path in [*new, *(p for p in old if p not in new)]:
        whole = [u for u in _units_of(path) if (u in new_units) != (u in old_units)]
        if whole:
            if whole[0] not in said:
                said.add(whole[0])
                out.append((whole[0], old_units.get(whole[0]), new_units.get(whole[0])))
            continue
        if old.get(path) != new.get(path):
            out.append((path, old.get(path), new.get(path)))
    return out


def _units(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Its phases and tranches by path (`phases.emergence`, `phases.emergence.tranches.ID`)."""
    units: dict[str, Any] = {}
    for phase, p in (spec.get("phases") or {}).items():
        units[f"phases.{phase}"] = p
        for t in p.get("tranches") or []:
            units[f"phases.{phase}.tranches.{t.get('id')}"] = t
    return units


def _units_of(path: str) -> list[str]:
    """The phase, then the tranche, holding a field (none for the programme's own)."""
    parts = path.split(".")
    if parts[0] != "phases" or len(parts) < 2:
        return []
    units = [".".join(parts[:2])]
    if len(parts) >= 4 and parts[2] == "tranches":
        units.append(".".join(parts[:4]))
    return units
