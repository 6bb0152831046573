"""A programme's versions and what changed between two, said in words: where (phase,
tranche, field) and the values before and after (money in the locale's way, durations in
words)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.models import ProgrammeShown
from api.web import programme_form as pf
from api.web.client import Api
from api.web.forms import cadence_key
from api.web.pages.common import SessionDep, guarded, number
from api.web.pages.setup import choices, programme_path
from api.web.render import page
from api.web.session import locale_of
from i18n import Formats, Words

router = APIRouter(include_in_schema=False)


@router.get("/programmes/{programme_id}/versions")
async def versions(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        found = await api.read(f"{programme_path(programme_id)}/versions", list[ProgrammeShown])
        by_number = {v.version: v for v in found}
        numbers = sorted(by_number)
        later = number(request.query_params.get("to"), numbers[-1] if numbers else 0)
        earlier = number(request.query_params.get("from"), later - 1)
        diff = None
        if earlier in by_number and later in by_number and earlier != later:
            diff = _said(
                pf.changes(_spec(by_number[earlier]), _spec(by_number[later])),
                Words(locale_of(request)),
            )
        return page(
            request,
            session,
            "programme_versions.html",
            programme_id=programme_id,
            versions=[by_number[n] for n in reversed(numbers)],
            earlier=earlier,
            later=later,
            diff=diff,
            shown=_shown_value(request, found[-1].currency if found else "EUR"),
            **choices(request),
        )

    return await guarded(request, session, build)


def _spec(version: ProgrammeShown) -> dict[str, Any]:
    """A version as the programme form compares them: its fields as the API sent them (those
    it left out stay out)."""
    return version.model_dump(mode="json", exclude_unset=True)


def _shown_value(request: Request, currency: str) -> Any:
    """A spec's value as the diff says it: money in the locale's way, durations in words,
    yes or no."""
    words, fmt = Words(locale_of(request)), Formats(locale_of(request))

    def shown(change: Mapping[str, Any], value: Any) -> str:
        if isinstance(value, bool):
            return words("web.setup.yes" if value else "web.setup.no")
        if change["kind"] == "tranche":
            return _tranche_words(value, words, fmt, currency)
        if change["kind"] == "phase":
            return words(
                "web.setup.diff.phase",
                cadence=_cadence_words(words, fmt, value.get("check_in_every")),
                n=len(value.get("tranches") or []),
            )
        if change["kind"] == "money":
            return fmt.money(value, currency)
        if change["kind"] == "duration":
            return fmt.duration(str(value))
        if isinstance(value, list) and not value:
            return "—"
        return str(value)

    return shown


def _cadence_words(words: Words, fmt: Formats, iso: str | None) -> str:
    key = cadence_key(iso) if iso else None
    return words(f"web.setup.{key[0]}", n=key[1]) if key else fmt.duration(iso or "")


def _tranche_words(t: Mapping[str, Any], words: Words, fmt: Formats, currency: str) -> str:
    """A tranche in a few words: what it pays, for what, when (`8 000,00 €, animation, à
    l'entrée dans la phase`)."""
    said = []
    if t.get("amount") is not None:
        said.append(fmt.money(t["amount"], currency))
    elif t.get("share") is not None:
        said.append(words("web.setup.diff.share", share=fmt.percent(t["share"])))
    said.append(words.word("purpose", t.get("purpose")))
    when = t.get("when")
    if isinstance(when, Mapping) and "accepted_check_ins" in when:
        said.append(words("web.setup.diff.after_check_ins", n=when["accepted_check_ins"]))
    elif isinstance(when, Mapping) and "elapsed" in when:
        said.append(words("web.setup.diff.after", duration=fmt.duration(when["elapsed"])))
    else:
        said.append(words.word("web.setup.trigger", when))
    repeat = t.get("repeat")
    if repeat:
        said.append(
            words(
                "web.setup.diff.repeat",
                cadence=_cadence_words(words, fmt, repeat.get("every")),
                n=repeat.get("times"),
            )
        )
    if isinstance(t.get("instrument"), Mapping):
        said.append(words("web.setup.instrument.loan"))
    return ", ".join(said)


_MONEY = {"budget", "cap_per_cooperation", "amount", "min", "max"}
_DURATIONS = {
    "check_in_every",
    "check_in_grace",
    "reminder_before",
    "report_every",
    "max_duration",
    "payment_within",
    "elapsed",
    "every",
    "grace",
    "term",
    "installment_every",
    "expected_duration",
}


def _said(found: list[tuple[str, Any, Any]], words: Words) -> list[dict[str, Any]]:
    """Each change as the page says it: where (phase, tranche, field in words) and the
    values before and after with their kind (money, duration or plain)."""
    out = []
    for path, before, after in found:
        parts = path.split(".")
        where: list[str] = []
        if parts[0] == "phases" and len(parts) > 1:
            where.append(words.word("phase", parts[1]))
            parts = parts[2:]
            if parts[:1] == ["tranches"] and len(parts) > 1:
                where.append(words("web.setup.diff.tranche", id=parts[1]))
                parts = parts[2:]
        if not parts:
            # A phase or a tranche added or dropped whole: said in a few words.
            kind = "tranche" if len(where) > 1 else "phase"
            out.append({"where": " · ".join(where), "before": before, "after": after, "kind": kind})
            continue
        field = parts[-1]
        key = f"web.setup.field.{field}"
        where.append(words(key) if words.has(key) else ".".join(parts))
        kind = "money" if field in _MONEY else "duration" if field in _DURATIONS else "plain"
        out.append({"where": " · ".join(where), "before": before, "after": after, "kind": kind})
    return out
