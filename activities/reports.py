"""Reports per funding line and period (rule 12): the event log read, the content built by the
rule (`domain.report_content`), rendered for people in the programme's locale by
`notify.reports`, and stored (Markdown stored; Markdown and HTML rendered again when read)."""

from __future__ import annotations

from domain.effects import RenderReport
from domain.report_content import build_report
from notify.reports import render_report as render_text
from store.db import Conn
from store.programmes import get_programme


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
    name = await conn.fetchval("SELECT name FROM cooperations WHERE id = $1", cooperation_id)
    version = next(
        (
            ev["data"].get("version")
            for ev in reversed(events)
            if ev["type"] == "FundingLineAttached" and ev["data"].get("line") == effect.line
        ),
        None,
    )
    programme = await get_programme(conn, effect.programme, version)
    content = build_report(
        cooperation_id,
        effect.line,
        effect.start,
        effect.to,
        events,
        name=name,
        programme=programme.spec if programme is not None else None,
    )
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
        render_text(content, locale, "markdown"),
    )
    return report_id
