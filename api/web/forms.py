"""What the set-up forms share (the funder's programme form, the facilitator's registration):
durations said as people say them (*tous les 2 mois*, *15 jours*: a number and a unit, the
API's ISO 8601 behind them, shown back the same way), amounts as people type them, and the
API's bad fields (`phases.emergence.tranches.0.share`) put at the form's inputs.

A form that names its inputs by the API's paths (`phases.emergence.check_in_every`) needs no
table: an error finds its input by its path, or by the nearest input above it."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import NamedTuple

from domain.durations import DurationError, parse

UNITS = ("D", "W", "M", "Y")
"""A duration's units in the forms' selects: days, weeks, months, years."""

_SINGLE = re.compile(r"^P(\d+)([DWMY])$")


class Spoken(NamedTuple):
    """A duration as a form shows it: a number and a unit (`2`, `M`). A duration no single
    unit says (`P1M15D`) keeps its ISO 8601 text, with `unit` "iso", so nothing is lost."""

    n: str
    unit: str


def duration_of(n: str | None, unit: str | None) -> str | None:
    """`2` and `M` → `P2M`; nothing typed → None (the API's default applies). Raises
    ValueError when the number is not a whole number (the form says so at the field)."""
    text = (n or "").strip()
    if not text:
        return None
    if unit == "iso":
        return text.upper()
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}")
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a whole number")
    return f"P{int(text)}{unit}"


def spoken(iso: str | None) -> Spoken:
    """An ISO 8601 duration as the form's number and unit; years and months together are
    said in months (`P1Y6M` → 18 months), weeks stay weeks."""
    if not iso:
        return Spoken("", "M")
    found = _SINGLE.match(iso)
    if found:
        return Spoken(str(int(found.group(1))), found.group(2))
    try:
        d = parse(iso)
    except DurationError:
        return Spoken(iso, "iso")
    if not d.days and not d.seconds:
        return Spoken(str(12 * d.years + d.months), "M")
    if not d.years and not d.months and not d.seconds:
        return Spoken(str(d.days), "D")
    return Spoken(iso, "iso")


def cadence_key(iso: str) -> tuple[str, int] | None:
    """The catalog's key and number saying a cadence (`P2M` → ("every.M", 2), said "tous les
    2 mois"; `P1M` → ("every_one.M", 1), "tous les mois"), or None when no single unit says it."""
    said = spoken(iso)
    if said.unit == "iso":
        return None
    n = int(said.n)
    return (f"every_one.{said.unit}", 1) if n == 1 else (f"every.{said.unit}", n)


def money_typed(text: str) -> str:
    """An amount as people type it (`33 333,33`, `33333.33 €`) as the API reads money."""
    compact = "".join(ch for ch in text if ch not in " \u202f\u00a0€")
    if "," in compact and "." not in compact:
        compact = compact.replace(",", ".")
    return compact


# -- the API's bad fields at the form's inputs -------------------------------------------

# A union's branch names in pydantic's paths (`when.Elapsed.elapsed`,
# `when.literal['entry','approval']`, `function-after[…]`): not fields.
_BRANCH = re.compile(r"^([A-Z]\w*|[a-z-]+\[.*\])$")
# Errors that only say the value took another branch of a union than this one.
_OTHER_BRANCH = {
    "missing",
    "extra_forbidden",
    "literal_error",
    "model_type",
    "model_attributes_type",
    "dict_type",
    "string_type",
}


def api_path(path: str) -> tuple[str, bool]:
    """The field a pydantic path names, without its union branches, and whether it went
    through one (`…when.Elapsed.elapsed` → `…when.elapsed`; a tagged union repeats its tag:
    `instrument.loan.loan.annual_rate` → `instrument.loan.annual_rate`)."""
    parts: list[str] = []
    branched = False
    for part in path.split("."):
        if _BRANCH.match(part) or (parts and parts[-1] == part):
            branched = True
            continue
        parts.append(part)
    return ".".join(parts), branched


class ApiError(NamedTuple):
    path: str
    message: str
    type: str = ""


def form_errors(
    errors: Collection[tuple[str, str, str]] | Mapping[str, str],
    inputs: Collection[str],
    detail: str = "",
    fields: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The API's bad fields by the form's inputs: an input named as the API names the field
    (or as `fields` renames it), else the nearest input above it; what no input holds goes on
    top (`_`), named by its path. Of a union's branches only what is wrong with the one the
    form chose is said (the others merely say it is another branch)."""
    given = (
        [ApiError(p, m) for p, m in errors.items()]
        if isinstance(errors, Mapping)
        else [ApiError(*e) for e in errors]
    )
    cleaned = [(*api_path(e.path), e) for e in given]
    real = {p for p, branched, e in cleaned if not (branched and e.type in _OTHER_BRANCH)}
    out: dict[str, str] = {}
    top: list[str] = []
    for path, branched, error in cleaned:
        if branched and error.type in _OTHER_BRANCH and _near(path, real):
            continue
        # A model's own check names the field it is about first ("term must be positive").
        first = error.message.split(" ", 1)[0].rstrip(":")
        named = f"{path}.{first}" if path else first
        target = _input_of(named if named in inputs else path, inputs, fields or {})
        if target is None:
            top.append(f"{path}: {error.message}" if path else error.message)
            continue
        if error.message not in out.get(target, ""):
            out[target] = f"{out[target]} ; {error.message}" if target in out else error.message
    if top or not out:
        out["_"] = " ; ".join(top) if top else detail
    return out


def _near(path: str, real: Collection[str]) -> bool:
    """Whether a real error sits in the same union as `path` (its parent's)."""
    parent = path.rsplit(".", 1)[0]
    return any(r in (parent, path) or r.startswith(parent + ".") for r in real)


def _input_of(path: str, inputs: Collection[str], fields: Mapping[str, str]) -> str | None:
    parts = path.split(".") if path else []
    while parts:
        name = ".".join(parts)
        name = fields.get(name, name)
        if name in inputs:
            return name
        parts.pop()
    return None
