"""Reports and notification e-mails rendered from the templates in `notify/templates/`, with
the words of one catalog per locale (`templates/catalog/<locale>.toml`) and Babel's formats
for dates, numbers, durations and money: nothing user-facing is written in this module.

Escaping belongs to the output, not to the data: the HTML templates autoescape, the Markdown
templates escape what Markdown would read as markup (`_finalize`), plain text is left as it
is. So the views built here hold plain strings, user text included.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal, NamedTuple

from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, format_percent
from babel.units import format_unit
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from domain.durations import DurationError
from domain.durations import parse as parse_duration
from domain.events import EVENT_TYPES, Event
from domain.payees import Parties, facilitator_is_payee, payees
from domain.programme import Locale, Purpose

LOCALES = tuple(locale.value for locale in Locale)
DEFAULT_LOCALE = "fr"
"""Programmes speak French unless they say otherwise (ProgrammeSpec.locale): so does any
locale this module does not know."""

_BABEL_LOCALES = {"fr": "fr_FR", "en": "en"}

PURPOSES = tuple(purpose.value for purpose in Purpose)
"""In the programme's order of purposes: reports list them so."""


def supported_locale(locale: str | None) -> str:
    """`fr` or `en` from a locale such as `en`, `en_GB` or `fr-FR`; French otherwise."""
    language = re.split(r"[-_]", (locale or "").strip().lower(), maxsplit=1)[0]
    return language if language in LOCALES else DEFAULT_LOCALE


# ---------------------------------------------------------------------------------------
# Words and formats


@cache
def catalog(locale: str) -> Mapping[str, str]:
    """One locale's words, keyed `section.key` (nested TOML tables flattened)."""
    source = resources.files("notify") / "templates" / "catalog" / f"{locale}.toml"
    flat: dict[str, str] = {}

    def walk(prefix: str, table: Mapping[str, Any]) -> None:
        for key, value in table.items():
            if isinstance(value, Mapping):
                walk(f"{prefix}{key}.", value)
            else:
                flat[f"{prefix}{key}"] = str(value)

    walk("", tomllib.loads(source.read_text(encoding="utf-8")))
    return flat


class Words:
    """One locale's catalog as templates and views use it: `words("report.title", x=...)`."""

    def __init__(self, locale: str) -> None:
        self.locale = supported_locale(locale)
        self._catalog = catalog(self.locale)

    def __call__(self, key: str, **args: Any) -> str:
        text = self._catalog[key]
        return text.format(**args) if args else text

    def has(self, key: str) -> bool:
        return key in self._catalog

    def word(self, section: str, value: Any) -> str:
        """The word for a code (a phase, a purpose, a legal form…), or the code itself when
        the catalog has none: legal forms are free text, and old data may hold old codes."""
        key = f"{section}.{value}"
        return self._catalog[key] if key in self._catalog else str(value)


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None


def _day(value: Any) -> date:
    """The UTC calendar day of an instant (datetime or ISO 8601 text) or a date."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if "T" in text:
        return _day(datetime.fromisoformat(text.replace("Z", "+00:00")))
    return date.fromisoformat(text)


@lru_cache(maxsize=4096)
def _money(amount: Decimal, currency: str, locale: str) -> str:
    # Babel reads its pattern again for every amount (about 30 µs): a dashboard or a report
    # says the same few amounts many times.
    return format_currency(amount, currency, locale=locale)


@dataclass(frozen=True)
class Formats:
    """Babel's formats for one supported locale."""

    locale: str

    @property
    def _babel(self) -> str:
        return _BABEL_LOCALES[self.locale]

    def money(self, amount: Any, currency: str) -> str:
        return _money(_decimal(amount), currency, self._babel)

    def day(self, value: Any) -> str:
        return format_date(_day(value), format="long", locale=self._babel)

    def number(self, value: Any) -> str:
        """A number in the locale's way; any other value (an indicator may be text) as is."""
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return str(value)
        return format_decimal(value, locale=self._babel)

    def percent(self, value: Any) -> str:
        return format_percent(_decimal(value), locale=self._babel, decimal_quantization=False)

    def duration(self, text: str) -> str:
        """An ISO 8601 duration in words: `P1Y6M` → `1 an et 6 mois`, `1 year and 6 months`."""
        try:
            d = parse_duration(text)
        except DurationError:
            return text
        hours, rest = divmod(d.seconds, 3600)
        parts = [
            (d.years, "duration-year"),
            (d.months, "duration-month"),
            (d.days, "duration-day"),
            (hours, "duration-hour"),
            (rest // 60, "duration-minute"),
            (rest % 60, "duration-second"),
        ]
        words = [format_unit(n, unit, length="long", locale=self._babel) for n, unit in parts if n]
        return format_list(words, locale=self._babel) if words else text


# ---------------------------------------------------------------------------------------
# The template environment


_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
# Within a word (an id such as `pret_patient`) `_` is never emphasis: left as it is there.
_MARKDOWN_UNDERSCORE = re.compile(r"(?<!\w)_|_(?!\w)")
# What opens a block at the start of a line: a heading, a list item, a setext underline.
_MARKDOWN_BLOCK_MARK = re.compile(r"^(#{1,6}|[-+=])(?=\s|$)")
_MARKDOWN_NUMBERED = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")


# Breaks and spaces that end or spread a line, not the no-break spaces Babel puts in amounts.
_LINE_BREAKING = re.compile(r"[\t\n\v\f\r \x85\u2028\u2029]+")


def one_line(text: str) -> str:
    return _LINE_BREAKING.sub(" ", text).strip()


def markdown_text(value: Any) -> str:
    """User text made inert in Markdown: on one line (so it cannot break a table or start a
    block), with the characters Markdown reads as markup escaped (`<` included, so a viewer
    that turns Markdown into HTML never meets a tag)."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(str(value)))
    text = _MARKDOWN_UNDERSCORE.sub(r"\\_", text)
    text = _MARKDOWN_BLOCK_MARK.sub(r"\\\1", text)
    return _MARKDOWN_NUMBERED.sub(r"\1\\\2", text)


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    # Markdown's autoescape: every `{{ … }}` of a `.md` template. HTML templates have Jinja's
    # own, and plain text needs none.
    if context.name is not None and context.name.endswith(".md"):
        return markdown_text(value)
    return value


_ENV = Environment(
    loader=PackageLoader("notify", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    finalize=_finalize,
)


# ---------------------------------------------------------------------------------------
# Events in words: e-mails about them, and the moves of a report


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
                total = _decimal(data["principal"]) + _decimal(data["interest"])
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
    if kind == "LoanInstallmentReminderSent" and paid is not None and _decimal(paid) > 0:
        details.append(words("detail.paid", value=args["paid"]))
    return details


def _sentence(key: str, args: Mapping[str, str], words: Words) -> str | None:
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
    sentence = _sentence(f"event_text.{kind}", args, words)
    if sentence is None and kind == "FundingLineProposed" and "amount" not in data:
        # Rule 17: a line of a granted programme has no amount until its funder grants one.
        sentence = _sentence("web.granted.proposed_event", args, words)
    if sentence is None:
        sentence = words("event_text.generic", event=event_label(kind, words), date=fmt.day(at))
    return sentence, _details(kind, data, args, words)


def event_label(kind: str, words: Words) -> str:
    return words.word("event", kind)


# ---------------------------------------------------------------------------------------
# E-mails


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


NAMES_PAYEES = frozenset({"FundingLineProposed", "LineAmendmentProposed"})
"""What the funder decides on names whom the line would pay (rules 15 and 20)."""


def _payee_details(
    data: Mapping[str, Any], parties: Parties | None, fmt: Formats, words: Words
) -> list[str]:
    """Whom a proposed line pays and in what shares, and a warning first when the facilitator
    proposing it is one of them: the funder's acceptance covers the payee (rule 15)."""
    allocation = data.get("allocation")
    if not isinstance(allocation, list):
        return []
    try:
        if parties is None:
            return [
                words("detail.payee", payee=str(p["payee"]), share=fmt.percent(p["share"]))
                for p in allocation
            ]
        shown = payees(allocation, parties.fiscal_host, parties.names)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return []  # an allocation recorded otherwise: the sentence still reads
    details = [
        words(
            f"detail.payee_{p.kind}",
            payee=words("detail.named", name=p.name, id=p.payee) if p.name else p.payee,
            share=fmt.percent(p.share),
        )
        for p in shown
    ]
    if facilitator_is_payee(shown, parties.facilitator):
        details.insert(0, words("detail.self_paid", facilitator=parties.facilitator))
    return details


def render_email(
    about: str,
    event: Event,
    cooperation_id: str,
    cooperation_name: str | None,
    locale: str,
    link: str | None = None,
    parties: Parties | None = None,
    programmes: Mapping[str, str] | None = None,
) -> Email:
    """The e-mail telling someone about `event` (`about` is its type, as the `Notify` effect
    says), in `locale` (French when unknown): a subject, a plain text and an HTML body.
    `parties` (the cooperation's facilitator, fiscal host and organisations' names) names a
    proposed line's payees and says when its facilitator would be paid by it; `programmes`
    (programme names by id) names its lines."""
    words = Words(locale)
    view = _email_view(
        about, event, cooperation_id, cooperation_name, words, link, parties, programmes
    )
    named = cooperation_name or cooperation_id
    return Email(
        # A subject is a header: a line break in a cooperation's name must not start another.
        subject=one_line(words("email.subject_line", cooperation=named, title=view["title"])),
        text=_ENV.get_template("email.txt").render(m=view, t=words, lang=words.locale),
        html=_ENV.get_template("email.html").render(m=view, t=words, lang=words.locale),
    )


def _email_view(
    about: str,
    event: Event,
    cooperation_id: str,
    cooperation_name: str | None,
    words: Words,
    link: str | None = None,
    parties: Parties | None = None,
    programmes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What an e-mail about `event` says, in `words`' locale: its own e-mail's body, and its
    part of a digest."""
    fmt = Formats(words.locale)
    kind = about if about in EVENT_TYPES else event.type
    data = event.data
    sentence, details = event_text(kind, event.at, data, fmt, words, programmes)
    if kind in NAMES_PAYEES:
        details = _payee_details(data, parties, fmt, words) + details
    args = event_args(data, fmt, words, programmes)
    title = _sentence(f"email.subject.{kind}", args, words) or event_label(kind, words)
    facts = [
        (
            words("label.cooperation"),
            f"{cooperation_name} ({cooperation_id})" if cooperation_name else cooperation_id,
        ),
        (words("label.date"), fmt.day(event.at)),
    ]
    if isinstance(data.get("phase"), str):
        facts.append((words("label.phase"), words.word("phase", data["phase"])))
    if isinstance(data.get("line"), str):
        facts.append((words("label.line"), line_named(data["line"], programmes)))
    if "period" in data and kind != "ReportIssued":
        facts.append((words("label.check_in_period"), str(data["period"])))
    return {
        "title": title,
        "greeting": words("email.greeting"),
        "sentence": sentence,
        "details": details,
        "facts": facts,
        "link": link,
        "footer": words("email.footer"),
    }


def line_named(line: str, programmes: Mapping[str, str] | None) -> str:
    """A line as its facts say it: its programme's name, its id after it as a hint."""
    name = programmes.get(line) if programmes else None
    return f"{name} ({line})" if name else line


class Held(NamedTuple):
    """A notification held for a digest: its type (as the `Notify` effect says), its event,
    and the locale its own e-mail would have been written in."""

    about: str
    event: Event
    locale: str


def render_digest(
    held: Sequence[Held],
    cooperation_id: str,
    cooperation_name: str | None,
    locale: str,
    parties: Parties | None = None,
    programmes: Mapping[str, str] | None = None,
) -> Email:
    """One e-mail telling what was held for an address about one cooperation: each event as
    its own e-mail would tell it (a proposed line with its payees, its lines by name, as
    `render_email`), in that e-mail's locale, within a frame in `locale`. One event alone is
    its own e-mail."""
    if not held:
        raise ValueError("a digest tells at least one event")
    if len(held) == 1:
        one = held[0]
        return render_email(
            one.about,
            one.event,
            cooperation_id,
            cooperation_name,
            one.locale,
            parties=parties,
            programmes=programmes,
        )
    words = Words(locale)
    items = []
    for item in held:
        own = Words(item.locale)
        view = _email_view(
            item.about,
            item.event,
            cooperation_id,
            cooperation_name,
            own,
            parties=parties,
            programmes=programmes,
        )
        pairs = [own("label.pair", label=label, value=value) for label, value in view["facts"]]
        items.append(view | {"lang": own.locale, "pairs": pairs})
    named = cooperation_name or cooperation_id
    count = len(held)
    view = {
        "title": words("email.digest.title", count=count),
        "greeting": words("email.greeting"),
        "intro": words("email.digest.intro", count=count),
        "events": items,
        "footer": words("email.footer"),
    }
    return Email(
        subject=one_line(words("email.digest.subject", cooperation=named, count=count)),
        text=_ENV.get_template("digest.txt").render(m=view, t=words, lang=words.locale),
        html=_ENV.get_template("digest.html").render(m=view, t=words, lang=words.locale),
    )


# ---------------------------------------------------------------------------------------
# Reports


_TEMPLATES = {"markdown": "report.md", "html": "report.html"}


def render_report(content: dict[str, Any], locale: str, fmt: Literal["markdown", "html"]) -> str:
    """A report's stored content (activities/reports.py `build_report`) for people: Markdown
    or a printable HTML page, in `locale` (French when unknown)."""
    if fmt not in _TEMPLATES:
        raise ValueError(f"a report renders as markdown or html, not {fmt!r}")
    words = Words(locale)
    view = report_view(content, Formats(words.locale), words)
    return _ENV.get_template(_TEMPLATES[fmt]).render(r=view, t=words, lang=words.locale)


def _joined(items: Iterable[str], fmt: Formats) -> str:
    return format_list(list(items), locale=_BABEL_LOCALES[fmt.locale])


def report_view(content: Mapping[str, Any], fmt: Formats, words: Words) -> dict[str, Any]:
    """A report's content as its templates show it: every value formatted, every part there.

    Content stored before a part existed lacks it: the part shows as empty, never fails.
    """
    currency = str(content.get("currency") or "EUR")

    def money(value: Any) -> str:
        return fmt.money(value if value is not None else "0", currency)

    cooperation = str(content.get("cooperation", ""))
    name = content.get("name")
    programme = content.get("programme") or {}
    line = str(content.get("line", ""))
    # The report's own line by its programme's name, in its facts and in its moves.
    programmes = (
        {line: str(programme["name"])}
        if isinstance(programme, Mapping) and programme.get("name")
        else {}
    )
    facts = [
        (words("label.cooperation"), f"{name} ({cooperation})" if name else cooperation),
        (words("label.line"), line_named(line, programmes)),
    ]
    if content.get("funder"):
        facts.append((words("label.funder"), str(content["funder"])))
    if content.get("phase"):
        phase = words.word("phase", content["phase"])
        if content.get("paused"):
            phase = words("report.phase_paused", phase=phase)
        facts.append((words("label.phase_at_end"), phase))
    if content.get("outcome"):
        facts.append((words("label.outcome"), words.word("outcome", content["outcome"])))
    if content.get("fiscal_host"):
        facts.append((words("label.fiscal_host"), str(content["fiscal_host"])))
    if content.get("facilitator"):
        facts.append((words("label.facilitator"), str(content["facilitator"])))
    facts.append((words("label.currency"), currency))

    period = content.get("period")
    dates = words("report.dates", start=fmt.day(content["from"]), end=fmt.day(content["to"]))
    subtitle = words("report.period", period=period, dates=dates) if period else dates
    return {
        "title": words("report.title", cooperation=name or cooperation),
        "subtitle": subtitle,
        "final": bool(content.get("final")),
        "facts": facts,
        "angle": _angle_view(content.get("angle"), fmt),
        "check_ins": _check_ins_view(content.get("check_ins") or {}, fmt, words),
        "indicators": _indicators_view(content.get("indicators") or [], fmt, words),
        "members": _members_view(content.get("members") or [], words),
        "left": _joined((str(m) for m in content.get("members_left") or []), fmt),
        "moves": [
            {"date": fmt.day(m["at"]), **_move_text(m, fmt, words, programmes)}
            for m in content.get("moves") or []
        ],
        "releases": _releases_view(content.get("releases") or {}, money, fmt, words),
        "commitment": _commitment_view(content.get("commitment"), money, words),
        "loans": _loans_view(content.get("loans") or {}, money, fmt, words),
        "versements": _versements_view(content.get("versements"), money, fmt, words),
    }


def _angle_view(angle: Any, fmt: Formats) -> dict[str, str] | None:
    if not isinstance(angle, Mapping) or not angle.get("summary"):
        return None
    return {
        "summary": str(angle["summary"]),
        "indicators": _joined((str(i) for i in angle.get("indicators") or []), fmt),
        "members": _joined((str(m) for m in angle.get("members") or []), fmt),
    }


def _check_ins_view(check_ins: Mapping[str, Any], fmt: Formats, words: Words) -> dict[str, Any]:
    counts = [
        (words(f"report.check_ins.{key}"), fmt.number(int(check_ins.get(key, 0))))
        for key in ("submitted", "accepted", "changes_requested", "overdue")
    ]
    items = [
        {
            "period": str(item.get("period", "")),
            "phase": words.word("phase", item.get("phase", "")),
            "submitted": fmt.day(item["at"]),
            "status": words.word("decision", item.get("status", "submitted")),
        }
        for item in check_ins.get("items") or []
    ]
    overdue = [
        words("report.check_ins.overdue_period", period=o.get("period"), due=fmt.day(o["due"]))
        for o in check_ins.get("overdue_periods") or []
    ]
    return {"counts": counts, "entries": items, "overdue": overdue}


def _indicators_view(
    indicators: Iterable[Mapping[str, Any]], fmt: Formats, words: Words
) -> list[dict[str, Any]]:
    out = []
    for indicator in indicators:
        values = [fmt.number(v.get("value")) for v in indicator.get("values") or []]
        out.append(
            {
                "name": str(indicator.get("name", "")),
                "featured": bool(indicator.get("featured")),
                "latest": values[-1] if values else words("report.indicators.not_reported"),
                "series": " → ".join(values) if values else "—",
            }
        )
    return out


def _members_view(members: Iterable[Mapping[str, Any]], words: Words) -> list[dict[str, str]]:
    out = []
    for member in members:
        notes = []
        if member.get("featured"):
            notes.append(words("report.members.featured"))
        if member.get("joined"):
            notes.append(words("report.members.joined"))
        out.append(
            {
                "id": str(member.get("id", "")),
                "legal_form": words.word("legal_form", member.get("legal_form", "")),
                "note": ", ".join(notes),
            }
        )
    return out


def _move_text(
    move: Mapping[str, Any], fmt: Formats, words: Words, programmes: Mapping[str, str]
) -> dict[str, Any]:
    data = {k: v for k, v in move.items() if k not in ("type", "at")}
    sentence, details = event_text(str(move.get("type")), move["at"], data, fmt, words, programmes)
    return {"text": sentence, "details": details}


def _releases_view(
    releases: Mapping[str, Any], money: Any, fmt: Formats, words: Words
) -> dict[str, Any]:
    by_purpose: Mapping[str, Any] = releases.get("by_purpose") or {
        "animation": releases.get("animation", "0"),
        **(releases.get("other") or {}),
    }
    items = [
        {
            "date": fmt.day(item["at"]),
            "tranche": str(item.get("tranche", ""))
            + (
                f" ({words('report.releases.occurrence', n=item['occurrence'])})"
                if item.get("occurrence")
                else ""
            ),
            "phase": words.word("phase", item.get("phase", "")),
            "purpose": words.word("purpose", item.get("purpose", "")),
            "kind": words.word("kind", item.get("kind", "release")),
            "amount": money(item.get("amount")),
        }
        for item in releases.get("items") or []
    ]
    others = [
        (words.word("purpose_title", purpose), money(by_purpose[purpose]))
        for purpose in [*PURPOSES, *sorted(set(by_purpose) - set(PURPOSES))]
        if purpose != "animation" and purpose in by_purpose
    ]
    total = releases.get("total")
    if total is None:
        total = sum((_decimal(v) for v in by_purpose.values()), Decimal(0))
    return {
        "entries": items,
        "animation": money(by_purpose.get("animation", "0")),
        "others": others,
        "total": money(total),
    }


def _versements_view(part: Any, money: Any, fmt: Formats, words: Words) -> dict[str, Any] | None:
    """Rule 19: what the period ordered and what it paid; None for content stored before."""
    if not isinstance(part, Mapping):
        return None

    def row(item: Mapping[str, Any]) -> dict[str, str]:
        tranche = str(item.get("tranche", ""))
        if item.get("occurrence"):
            tranche += f" ({words('report.releases.occurrence', n=item['occurrence'])})"
        return {
            "date": fmt.day(item["at"]),
            "tranche": tranche,
            "payee": str(item.get("payee") or ""),
            "amount": money(item.get("amount")),
            "due_on": fmt.day(item["due_on"]) if item.get("due_on") else "—",
            "paid_on": fmt.day(item["paid_on"]) if item.get("paid_on") else "—",
            "days_late": str(item.get("days_late") or 0),
        }

    return {
        "ordered": [row(i) for i in part.get("ordered") or []],
        "paid": [row(i) for i in part.get("paid") or []],
        "late": [row(i) for i in part.get("late") or []],
        "ordered_total": money(part.get("ordered_total")),
        "paid_total": money(part.get("paid_total")),
    }


def _commitment_view(commitment: Any, money: Any, words: Words) -> list[tuple[str, str]] | None:
    if not isinstance(commitment, Mapping):
        return None
    rows = [
        (words("report.commitment.committed"), money(commitment.get("committed"))),
        (words("report.commitment.released"), money(commitment.get("released"))),
    ]
    if commitment.get("freed") and _decimal(commitment["freed"]) > 0:
        rows.append((words("report.commitment.freed"), money(commitment["freed"])))
    return rows


def _loans_view(
    loans: Mapping[str, Any], money: Any, fmt: Formats, words: Words
) -> list[dict[str, Any]]:
    out = []
    for loan in loans.get("items") or []:
        rows = [(words("report.loans.principal"), money(loan.get("principal")))]
        if loan.get("disbursed"):
            rows.append((words("report.loans.disbursed"), fmt.day(loan["disbursed"])))
        if loan.get("annual_rate") is not None:
            rows.append((words("report.loans.rate"), fmt.percent(loan["annual_rate"])))
        if loan.get("term"):
            rows.append((words("report.loans.term"), fmt.duration(loan["term"])))
        due = words(
            "report.loans.due_count",
            due=fmt.number(int(loan.get("installments_due", 0))),
            amount=money(loan.get("due_amount")),
        )
        if loan.get("installments") is not None:
            due = words(
                "report.loans.due_count_of",
                due=fmt.number(int(loan.get("installments_due", 0))),
                total=fmt.number(int(loan["installments"])),
                amount=money(loan.get("due_amount")),
            )
        rows.append((words("report.loans.installments_due"), due))
        rows.append(
            (
                words("report.loans.repaid"),
                words(
                    "report.loans.repaid_value",
                    repaid=money(loan.get("repaid")),
                    in_period=money(loan.get("repaid_in_period")),
                ),
            )
        )
        if loan.get("outstanding") is not None:
            rows.append((words("report.loans.outstanding"), money(loan["outstanding"])))
        overdue = loan.get("overdue") or []
        rows.append(
            (
                words("report.loans.overdue"),
                _joined(
                    (
                        words(
                            "report.loans.overdue_item",
                            installment=o.get("installment"),
                            due=fmt.day(o["due"]),
                            owed=money(o.get("owed")),
                        )
                        for o in overdue
                    ),
                    fmt,
                )
                or words("report.loans.none"),
            )
        )
        if loan.get("written_off") is not None:
            rows.append(
                (
                    words("report.loans.written_off"),
                    words(
                        "report.loans.written_off_value",
                        amount=money(loan["written_off"]),
                        date=fmt.day(loan["written_off_at"]),
                    ),
                )
            )
        upcoming = loan.get("next")
        if isinstance(upcoming, Mapping):
            rows.append(
                (
                    words("report.loans.next"),
                    words(
                        "report.loans.next_value",
                        installment=upcoming.get("installment"),
                        due=fmt.day(upcoming["due"]),
                        amount=money(upcoming.get("amount")),
                    ),
                )
            )
        status = "settled" if loan.get("settled") else "running"
        rows.append((words("report.loans.status"), words(f"report.loans.{status}")))
        out.append(
            {"title": words("report.loans.title", tranche=loan.get("tranche")), "rows": rows}
        )
    return out
