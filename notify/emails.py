"""Notification e-mails, rendered from the templates in `notify/templates/` with the words and
formats of `i18n`: one e-mail per event, or a digest of those held for one address."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from domain.events import EVENT_TYPES, Event
from domain.payees import Parties, facilitator_is_payee, payees
from i18n import (
    Formats,
    Words,
    catalog_sentence,
    event_args,
    event_label,
    event_text,
    line_named,
)
from notify.templating import ENV, one_line


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
    told = _Told(cooperation_id, cooperation_name, parties, programmes)
    view = _email_view(about, event, told, words, link)
    return Email(
        # A subject is a header: a line break in a cooperation's name must not start another.
        subject=one_line(words("email.subject_line", cooperation=told.named, title=view["title"])),
        text=ENV.get_template("email.txt").render(m=view, t=words, lang=words.locale),
        html=ENV.get_template("email.html").render(m=view, t=words, lang=words.locale),
    )


@dataclass(frozen=True)
class _Told:
    """The cooperation an e-mail tells about: its id and name, its parties (to name a line's
    payees) and its programmes' names (to name its lines)."""

    id: str
    name: str | None
    parties: Parties | None
    programmes: Mapping[str, str] | None

    @property
    def named(self) -> str:
        return self.name or self.id


def _email_view(
    about: str, event: Event, told: _Told, words: Words, link: str | None = None
) -> dict[str, Any]:
    """What an e-mail about `event` says, in `words`' locale: its own e-mail's body, and its
    part of a digest."""
    programmes = told.programmes
    fmt = Formats(words.locale)
    kind = about if about in EVENT_TYPES else event.type
    data = event.data
    sentence, details = event_text(kind, event.at, data, fmt, words, programmes)
    if kind in NAMES_PAYEES:
        details = _payee_details(data, told.parties, fmt, words) + details
    args = event_args(data, fmt, words, programmes)
    title = catalog_sentence(f"email.subject.{kind}", args, words) or event_label(kind, words)
    facts = [
        (
            words("label.cooperation"),
            f"{told.name} ({told.id})" if told.name else told.id,
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
    told = _Told(cooperation_id, cooperation_name, parties, programmes)
    items = []
    for item in held:
        own = Words(item.locale)
        view = _email_view(item.about, item.event, told, own)
        pairs = [own("label.pair", label=label, value=value) for label, value in view["facts"]]
        items.append(view | {"lang": own.locale, "pairs": pairs})
    count = len(held)
    view = {
        "title": words("email.digest.title", count=count),
        "greeting": words("email.greeting"),
        "intro": words("email.digest.intro", count=count),
        "events": items,
        "footer": words("email.footer"),
    }
    return Email(
        subject=one_line(words("email.digest.subject", cooperation=told.named, count=count)),
        text=ENV.get_template("digest.txt").render(m=view, t=words, lang=words.locale),
        html=ENV.get_template("digest.html").render(m=view, t=words, lang=words.locale),
    )
