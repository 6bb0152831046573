"""Events in words: the sentences of e-mails, of a report's moves and of a cooperation's
story, from an event's type and data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from i18n.formats import Formats, decimal
from i18n.words import Words

_MONEY_FIELDS = ("amount", "principal", "interest", "paid", "owed", "outstanding")
_DAY_FIELDS: tuple[str, ...] = ("due", "since", "paused_since", "on", "start", "end")
# Rule 19: a versement's dates.
_DAY_FIELDS += ("ordered_at", "due_on", "paid_on")
_PHASE_FIELDS = ("phase", "from", "to", "start_phase")
_WORD_FIELDS = {
    "outcome": "outcome",
    "decision": "decision",
    "purpose": "purpose",
    "kind": "kind",
    "legal_form": "legal_form",
}


_LINE_FIELDS = ("line", "programme")
"""A funding line is named by its programme's id: sentences say the programme's name."""


def event_args(
    data: Mapping[str, Any],
    fmt: Formats,
    words: Words,
    programmes: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """An event's data as the catalog's sentences take it: amounts, days, phases and codes
    in words, a line by its programme's name when `programmes` (names by programme id) has
    it; anything else as text."""
    args = {
        key: str(value)
        for key, value in data.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    }
    try:
        currency = data.get("currency")
        if isinstance(currency, str):
            for key in _MONEY_FIELDS:
                if key in data:
                    args[key] = fmt.money(data[key], currency)
            if "principal" in data and "interest" in data:
                total = decimal(data["principal"]) + decimal(data["interest"])
                args["total"] = fmt.money(total, currency)
        for key in _DAY_FIELDS:
            if key in data:
                args[key] = fmt.day(data[key])
    except ValueError:
        pass  # a malformed value keeps its text; the sentence still reads
    for key in _PHASE_FIELDS:
        if isinstance(data.get(key), str):
            args[key] = words.word("the_phase", data[key])
    for key, section in _WORD_FIELDS.items():
        if key in data:
            args[key] = words.word(section, data[key])
    for key in _LINE_FIELDS:
        value = data.get(key)
        if programmes and isinstance(value, str) and programmes.get(value):
            args[key] = programmes[value]
    if isinstance(data.get("max_duration"), str):
        args["max_duration"] = fmt.duration(data["max_duration"])
    action = data.get("action")
    if isinstance(action, str):
        with_to = "to" in args and words.has(f"action_to.{action}")
        args["action"] = (
            words(f"action_to.{action}", to=args["to"]) if with_to else words.word("action", action)
        )
        args["action_noun"] = (
            words(f"action_noun_to.{action}", to=args["to"])
            if with_to and words.has(f"action_noun_to.{action}")
            else words.word("action_noun", action)
        )
    return args


def _details(
    kind: str, data: Mapping[str, Any], args: Mapping[str, str], words: Words
) -> list[str]:
    """What an event says beyond its sentence: the reasons and texts people gave."""
    details = [
        words(f"detail.{key}", value=data[key])
        for key in ("objectives", "reason", "note")
        if isinstance(data.get(key), str) and data[key].strip()
    ]
    angle = data.get("angle")
    if kind == "FundingLineProposed" and isinstance(angle, Mapping) and angle.get("summary"):
        details.append(words("detail.angle", value=angle["summary"]))
    if kind == "CheckInSubmitted" and data.get("replaces"):
        details.append(words("detail.replaces", value=data["replaces"]))
    paid = data.get("paid")
    if kind == "LoanInstallmentReminderSent" and paid is not None and decimal(paid) > 0:
        details.append(words("detail.paid", value=args["paid"]))
    return details


def catalog_sentence(key: str, args: Mapping[str, str], words: Words) -> str | None:
    """The catalog's sentence with the event's data; None when the data lacks a part of it
    (an event recorded under older rules, say), so that the caller says something plainer."""
    if not words.has(key):
        return None
    try:
        return words(key, **args)
    except (KeyError, IndexError):
        return None


def event_text(
    kind: str,
    at: Any,
    data: Mapping[str, Any],
    fmt: Formats,
    words: Words,
    programmes: Mapping[str, str] | None = None,
) -> tuple[str, list[str]]:
    """An event in words: its sentence and its details (lines named as `event_args`)."""
    args = event_args(data, fmt, words, programmes)
    said = catalog_sentence(f"event_text.{kind}", args, words)
    if said is None and kind == "FundingLineProposed" and "amount" not in data:
        # Rule 17: a line of a granted programme has no amount until its funder grants one.
        said = catalog_sentence("web.granted.proposed_event", args, words)
    if said is None:
        said = words("event_text.generic", event=event_label(kind, words), date=fmt.day(at))
    return said, _details(kind, data, args, words)


def event_label(kind: str, words: Words) -> str:
    return words.word("event", kind)


def line_named(line: str, programmes: Mapping[str, str] | None) -> str:
    """A line as its facts say it: its programme's name, its id after it as a hint."""
    name = programmes.get(line) if programmes else None
    return f"{name} ({line})" if name else line
