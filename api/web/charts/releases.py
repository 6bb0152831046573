"""Money released per month, stacked by purpose with animation first: the dashboard's plot,
and the forecast's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from markupsafe import escape

from api.web.charts.draw import (
    ANIMATION_STYLE,
    BAR_HEIGHT,
    BAR_TOP,
    LABEL_BASELINE,
    OTHER_STYLES,
    PAD,
    SMALL,
    WIDTH,
    Chart,
    Style,
    Table,
    amount_of,
    bar_length,
    draw_svg,
    el,
    empty_chart,
    in_order,
    next_month,
    parse_month,
    percent_of,
    text,
    text_width,
)
from domain.programme import Purpose
from i18n import Formats, Words

_MONTH_ROW = 54
_LEGEND_ROW = 24


def _legend(items: Sequence[tuple[str, str, Style, str]]) -> tuple[str, float]:
    """Swatches and their labels, wrapped to the width: (markup, height)."""
    parts: list[str] = []
    x, line = float(PAD), 0
    for label, pattern_id, style, key in items:
        width = 18 + 6 + text_width(label, SMALL) + 16
        if x > PAD and x + width > WIDTH - PAD:
            x, line = float(PAD), line + 1
        y = 6 + line * _LEGEND_ROW
        parts.append(
            el(
                "g",
                el(
                    "rect",
                    x=x,
                    y=float(y),
                    width=18.0,
                    height=14.0,
                    fill=f"url(#{pattern_id})",
                    stroke=style.colour,
                    stroke_width=1.5,
                )
                + text(x + 24, y + 12, label, size=SMALL),
                class_="legend-item",
                data_series=key,
            )
        )
        x += width
    return "".join(parts), 6 + (line + 1) * _LEGEND_ROW


def releases_over_time(
    dashboard: Mapping[str, Any],
    words: Words,
    *,
    chart_id: str = "chart-releases",
    section: str = "web.chart.releases",
) -> Chart:
    """Money released per month (`releases_over_time`), one horizontal bar per month from
    the first to the last month with a release (a month without one shows empty), stacked by
    purpose. Animation is its own series, drawn first at the base of each bar with the
    plainest mark (solid), first in the legend and the table, and with its own total in the
    description; the other purposes follow in the domain's order. The table adds a running
    total.

    Step-by-step reveal: each month's group is `<g data-step="i" data-month="YYYY-MM">`
    (i from 0, in time order) and the `<svg>` holds `data-steps="<number of months>"`; a
    page's script may hide the steps and show them one by one (a Play button). The SVG is
    complete without script: nothing here hides anything.
    """
    fmt = Formats(words.locale)
    currency = str(dashboard.get("currency") or "EUR")

    def money(value: Decimal) -> str:
        return fmt.money(value, currency)

    title = words(f"{section}.title")
    by_month: dict[date, dict[str, Decimal]] = {}
    for entry in dashboard.get("releases_over_time") or []:
        month = parse_month(entry.get("month"))
        purpose = str(entry.get("purpose"))
        amounts = by_month.setdefault(month, {})
        amounts[purpose] = amounts.get(purpose, Decimal(0)) + amount_of(entry.get("amount"))
    if not by_month:
        return empty_chart(chart_id, title, words(f"{section}.empty"))

    animation = Purpose.animation.value
    present = [p for amounts in by_month.values() for p in amounts]
    purposes = in_order(
        [animation, *(p.value for p in Purpose if p is not Purpose.animation)], present
    )
    styles = {animation: ANIMATION_STYLE} | {
        p: OTHER_STYLES[i % len(OTHER_STYLES)]
        for i, p in enumerate(p for p in purposes if p != animation)
    }
    pattern_of = {p: f"{chart_id}-purpose-{i}" for i, p in enumerate(purposes)}

    months: list[date] = []
    month = min(by_month)
    while month <= max(by_month):
        months.append(month)
        month = next_month(month)

    totals = {
        p: sum((a.get(p, Decimal(0)) for a in by_month.values()), Decimal(0)) for p in purposes
    }
    grand = sum(totals.values(), Decimal(0))
    month_totals = {m: sum(by_month.get(m, {}).values(), Decimal(0)) for m in months}
    most = max([sum((v for v in a.values() if v > 0), Decimal(0)) for a in by_month.values()])

    def purpose_label(code: str) -> str:
        return words.word("purpose_title", code)

    period = (
        words(f"{section}.single", month=fmt.month(months[0]))
        if len(months) == 1
        else words(
            f"{section}.span",
            start=fmt.month(months[0]),
            end=fmt.month(months[-1]),
        )
    )
    description = words(
        f"{section}.description",
        total=money(grand),
        period=period,
        animation=money(totals[animation]),
        share=percent_of(totals[animation], grand, fmt),
    )

    legend, top = _legend([(purpose_label(p), pattern_of[p], styles[p], p) for p in purposes])
    groups: list[str] = []
    for step, month in enumerate(months):
        y = top + 4 + step * _MONTH_ROW
        amounts = by_month.get(month, {})
        content = text(PAD, y + LABEL_BASELINE, fmt.month(month)) + text(
            WIDTH - PAD, y + LABEL_BASELINE, money(month_totals[month]), anchor="end", bold=True
        )
        x = float(PAD)
        for purpose in purposes:
            value = amounts.get(purpose, Decimal(0))
            length = bar_length(value, most)
            if length <= 0:
                continue
            shown = money(value)
            content += el(
                "rect",
                el(
                    "title",
                    str(escape(words("label.pair", label=purpose_label(purpose), value=shown))),
                ),
                x=x,
                y=float(y + BAR_TOP),
                width=length,
                height=float(BAR_HEIGHT),
                fill=f"url(#{pattern_of[purpose]})",
                stroke=styles[purpose].colour,
                stroke_width=1.5,
                class_="segment",
                data_series=purpose,
            )
            chip = text_width(shown, SMALL - 1) + 8
            if length >= chip + 6:
                middle = x + length / 2
                content += el(
                    "rect",
                    x=middle - chip / 2,
                    y=float(y + BAR_TOP + 3),
                    width=chip,
                    height=float(BAR_HEIGHT - 6),
                    rx=3.0,
                    fill="#fff",
                ) + text(middle, y + BAR_TOP + 16, shown, anchor="middle", size=SMALL - 1)
            x += length
        groups.append(
            el(
                "g",
                content,
                class_="month",
                data_step=step,
                data_month=f"{month.year:04d}-{month.month:02d}",
            )
        )
    height = top + 4 + len(months) * _MONTH_ROW + 4
    body = el("g", legend, class_="legend") + "".join(groups)
    patterns = {pattern_of[p]: styles[p] for p in purposes}
    svg = draw_svg(chart_id, title, description, height, body, patterns, data_steps=len(months))

    rows: list[list[str]] = []
    running = Decimal(0)
    for month in months:
        amounts = by_month.get(month, {})
        running += month_totals[month]
        rows.append(
            [
                fmt.month(month),
                *(money(amounts.get(p, Decimal(0))) for p in purposes),
                money(month_totals[month]),
                money(running),
            ]
        )
    rows.append([words("web.chart.total"), *(money(totals[p]) for p in purposes), money(grand), ""])
    table = Table(
        caption=title,
        head=[
            words(f"{section}.head_month"),
            *(purpose_label(p) for p in purposes),
            words("web.chart.total"),
            words(f"{section}.cumulative"),
        ],
        rows=rows,
    )
    return Chart(chart_id, title, description, svg, table)


def forecast_releases(forecast: Mapping[str, Any], words: Words) -> Chart:
    """The forecast's releases by month and purpose (`GET …/forecast`), accepted and proposed
    lines together: the releases plot, in the forecast's words (`[web.forecast]`)."""
    entries = [
        {"month": m["month"], "purpose": purpose, "amount": amount}
        for m in forecast.get("months") or []
        for purpose, amount in (m.get("releases") or {}).items()
    ]
    return releases_over_time(
        {"currency": forecast.get("currency"), "releases_over_time": entries},
        words,
        chart_id="chart-forecast",
        section="web.forecast.chart",
    )
