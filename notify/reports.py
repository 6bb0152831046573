"""A funder's report for people (rule 12): its content (built in `domain/report_content.py`)
in the words and formats of `i18n`, as Markdown or a printable HTML page. Content stored
before a part existed lacks it: the part shows as empty, never fails."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

from domain.report_content import PURPOSES
from i18n import Formats, Words, decimal, event_text, line_named
from notify.templating import ENV

_TEMPLATES = {"markdown": "report.md", "html": "report.html"}


def render_report(content: dict[str, Any], locale: str, fmt: Literal["markdown", "html"]) -> str:
    """A report's stored content (domain/report_content.py `build_report`) for people: Markdown
    or a printable HTML page, in `locale` (French when unknown)."""
    if fmt not in _TEMPLATES:
        raise ValueError(f"a report renders as markdown or html, not {fmt!r}")
    words = Words(locale)
    view = report_view(content, Formats(words.locale), words)
    return ENV.get_template(_TEMPLATES[fmt]).render(r=view, t=words, lang=words.locale)


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
        "left": fmt.joined(str(m) for m in content.get("members_left") or []),
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
        "indicators": fmt.joined(str(i) for i in angle.get("indicators") or []),
        "members": fmt.joined(str(m) for m in angle.get("members") or []),
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
        total = sum((decimal(v) for v in by_purpose.values()), Decimal(0))
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
    if commitment.get("freed") and decimal(commitment["freed"]) > 0:
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
                fmt.joined(
                    words(
                        "report.loans.overdue_item",
                        installment=o.get("installment"),
                        due=fmt.day(o["due"]),
                        owed=money(o.get("owed")),
                    )
                    for o in overdue
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
