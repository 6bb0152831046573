"""Reports per funding line and period (rule 12), rendered from the event log, FR and EN."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from domain.effects import RenderReport
from store.db import Conn

_MOVES = ("PhaseEntered", "Restarted", "Pivoted", "Paused", "Resumed", "Closed")


async def render_report(conn: Conn, cooperation_id: str, effect: RenderReport) -> str:
    """Render one report period of a line from the event log (recorded first) into `reports`."""
    report_id = f"{cooperation_id}:{effect.line}:{effect.period}"
    rows = await conn.fetch(
        "SELECT seq, type, at, data FROM events WHERE cooperation_id = $1 AND at <= $2"
        " ORDER BY seq",
        cooperation_id,
        effect.to,
    )
    events = [dict(r) for r in rows]
    content = build_report(cooperation_id, effect.line, effect.start, effect.to, events)
    content.update(period=effect.period, final=effect.final)
    locale = next(
        (ev["data"].get("locale", "fr") for ev in events if ev["seq"] == effect.seq), "fr"
    )
    await conn.execute(
        "INSERT INTO reports (id, cooperation_id, line, period, period_start, period_end,"
        " final, locale, content, markdown) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (id) DO NOTHING",
        report_id,
        cooperation_id,
        effect.line,
        effect.period,
        effect.start,
        effect.to,
        effect.final,
        locale,
        content,
        render_markdown(content, locale),
    )
    return report_id


def build_report(
    cooperation_id: str, line: str, start: Any, end: Any, events: list[dict[str, Any]]
) -> dict[str, Any]:
    """What a funder reads for one period of its line (rule 12), from the event log."""
    in_period = [ev for ev in events if start < ev["at"] <= end]
    counts = Counter(ev["type"] for ev in in_period)
    accepted = sum(
        1
        for ev in in_period
        if ev["type"] == "CheckInReviewed" and ev["data"].get("decision") == "accepted"
    )
    by_purpose: dict[str, Decimal] = defaultdict(Decimal)
    for ev in in_period:
        if ev["type"] == "TrancheReleased" and ev["data"].get("line") == line:
            by_purpose[ev["data"]["purpose"]] += Decimal(ev["data"]["amount"])
    angle = next(
        (
            ev["data"].get("angle")
            for ev in reversed(events)
            if ev["type"] in ("FundingLineProposed", "FundingLineAttached")
            and ev["data"].get("line") == line
        ),
        None,
    )
    repaid = sum(
        (
            Decimal(ev["data"].get("amount", "0"))
            for ev in events
            if ev["type"] == "RepaymentRecorded" and ev["data"].get("line") == line
        ),
        Decimal(0),
    )
    loans_due = [
        ev["data"]
        for ev in events
        if ev["type"] == "LoanInstallmentDue" and ev["data"].get("line") == line
    ]
    return {
        "cooperation": cooperation_id,
        "line": line,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "angle": angle,
        "check_ins": {
            "submitted": counts["CheckInSubmitted"],
            "accepted": accepted,
            "overdue": counts["CheckInOverdue"],
        },
        "moves": [
            {"type": ev["type"], "at": ev["at"].isoformat(), **ev["data"]}
            for ev in in_period
            if ev["type"] in _MOVES
        ],
        "releases": {
            "animation": format(by_purpose.get("animation", Decimal("0.00")), "f"),
            "other": {k: format(v, "f") for k, v in sorted(by_purpose.items()) if k != "animation"},
        },
        "loans": {"installments_due": len(loans_due), "repaid": format(repaid, "f")},
    }


_TEXT = {
    "fr": {
        "title": "Rapport de la ligne {line} — période {period}",
        "final": " (rapport final)",
        "angle": "Angle",
        "indicators": "Indicateurs suivis",
        "members": "Membres mis en avant",
        "check_ins": (
            "Points d'étape : {submitted} déposés, {accepted} validés, {overdue} en retard"
        ),
        "animation": "Animation financée : {amount}",
        "other": "Autres versements",
        "moves": "Évolutions",
        "loans": "Prêts : {due} échéances arrivées, {repaid} remboursés",
    },
    "en": {
        "title": "Report of line {line} — period {period}",
        "final": " (final report)",
        "angle": "Angle",
        "indicators": "Indicators followed",
        "members": "Members put forward",
        "check_ins": "Check-ins: {submitted} submitted, {accepted} accepted, {overdue} overdue",
        "animation": "Animation funded: {amount}",
        "other": "Other releases",
        "moves": "Moves",
        "loans": "Loans: {due} installments due, {repaid} repaid",
    },
}


def render_markdown(content: dict[str, Any], locale: str) -> str:
    t = _TEXT.get(locale, _TEXT["en"])
    lines = [
        "# "
        + t["title"].format(line=content["line"], period=content.get("period", ""))
        + (t["final"] if content.get("final") else ""),
        "",
        f"{content['from']} → {content['to']}",
        "",
    ]
    angle = content.get("angle") or {}
    if angle:
        lines += [f"## {t['angle']}", "", str(angle.get("summary", "")), ""]
        if angle.get("indicators"):
            lines += [f"{t['indicators']}: " + ", ".join(angle["indicators"]), ""]
        if angle.get("members"):
            lines += [f"{t['members']}: " + ", ".join(angle["members"]), ""]
    lines += [t["check_ins"].format(**content["check_ins"]), ""]
    lines += [t["animation"].format(amount=content["releases"]["animation"]), ""]
    if content["releases"]["other"]:
        lines += [f"{t['other']}:"]
        lines += [f"- {k}: {v}" for k, v in content["releases"]["other"].items()]
        lines += [""]
    if content["moves"]:
        lines += [f"## {t['moves']}", ""]
        lines += [f"- {m['at']} {m['type']}" for m in content["moves"]]
        lines += [""]
    loans = content["loans"]
    lines += [t["loans"].format(due=loans["installments_due"], repaid=loans["repaid"])]
    return "\n".join(lines) + "\n"
