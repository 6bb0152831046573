"""Plots of a funder's programme dashboard (GET /v1/programmes/{id}/dashboard), drawn on the
server as inline SVG with no dependency and no script, for RGAA AA (WCAG 2.1 AA):

- each plot is `<svg role="img" aria-labelledby="<title id> <desc id>">` opening with its
  `<title>` and `<desc>`; the description is one plain sentence with the key numbers;
- nothing is told by colour alone: every series has its own fill pattern (solid, stripes,
  dots…) as well as its colour, a legend where there are several, and direct value labels;
- text is near black (≥ 4.5:1 on white); marks have a dark outline (≥ 3:1 on white);
- each plot comes with its data as a `Table` (caption, column heads, a row head per row),
  which the page shows beside it (see `Chart`);
- the SVG scales with its container (a `viewBox`, `width="100%"`, no height: the browser keeps
  the proportions), with horizontal bars so that labels stay readable on a phone;
- styling is by presentation attributes only (no `style` attribute, no `<style>`): the pages'
  Content-Security-Policy (`style-src 'self'`) allows them.

Every word comes from the catalog (`i18n/catalog`, keys `web.chart.*`, with the existing
`phase.*`, `purpose_title.*` and `label.pair`), every number, amount, month and list from
`i18n.Formats`. Labels are escaped in the SVG; a `Table` holds plain text and the template
escapes it, as the reports' views do.

The page shows `chart.title` as the heading (the SVG's `<title>` is not drawn), the SVG, and
the table; a table with no column heads (`head == []`, the empty state) has no `<thead>`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup, escape

from domain.programme import PHASE_ORDER, Outcome, Purpose
from i18n import Formats, Words

__all__ = [
    "Chart",
    "Table",
    "dashboard_charts",
    "loans",
    "money_flow",
    "phase_funnel",
    "releases_over_time",
]


@dataclass(frozen=True)
class Table:
    """A plot's data for screen readers and anyone who prefers numbers: `<caption>`, a
    `<th scope="col">` per `head` item and, when `row_headers`, each row's first cell as
    `<th scope="row">`. Plain text: the template escapes it."""

    caption: str
    head: list[str]
    rows: list[list[str]]
    row_headers: bool = True


@dataclass(frozen=True)
class Chart:
    """One plot: `id` is the SVG's id (its `<title>` is `{id}-title`, its `<desc>`
    `{id}-desc`); `description` is the one-sentence summary the `<desc>` holds."""

    id: str
    title: str
    description: str
    svg: Markup
    table: Table


# ---------------------------------------------------------------------------------------
# Drawing

WIDTH = 480
"""The viewBox's width: the SVG fills its container's width, so one unit is 1/480 of it."""

_PAD = 8
_PLOT = WIDTH - 2 * _PAD
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_SIZE = 15
_SMALL = 13

INK = "#1a1a1a"
"""Text and axes: 17:1 on white."""
_AXIS = "#595959"


@dataclass(frozen=True)
class _Style:
    """A series' look: a colour (≥ 3:1 on white, the mark's outline and its pattern's ink)
    and a pattern, so that series differ without colour."""

    colour: str
    pattern: str  # solid, stripes, dots, cross, lines, hollow


_ANIMATION_STYLE = _Style("#1c5d99", "solid")
"""Animation, the coordination of the collective and the field's key point: the plainest,
strongest mark, at the base of each month's bar."""
_OTHER_STYLES = (
    _Style("#a84400", "stripes"),
    _Style("#6b3fa0", "dots"),
    _Style("#2d6a2e", "cross"),
    _Style("#595959", "lines"),
)
"""The other purposes', in the domain's order of purposes (then any unknown one, by name)."""

_PHASE_STYLE = _Style("#1c5d99", "solid")
_OUTCOME_STYLE = _Style("#1c5d99", "stripes")
_BUDGET_STYLE = _Style("#595959", "hollow")
_COMMITTED_STYLE = _Style("#1c5d99", "stripes")
_RELEASED_STYLE = _Style("#1c5d99", "solid")
_FREED_STYLE = _Style("#6b3fa0", "dots")
_OPEN_STYLE = _Style("#1c5d99", "solid")
_ARREARS_STYLE = _Style("#a84400", "cross")
_WRITTEN_OFF_STYLE = _Style("#595959", "lines")


def _n(value: float) -> str:
    """A coordinate, short."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _attrs(attrs: Mapping[str, object]) -> str:
    return "".join(f' {name}="{_value(v)}"' for name, v in attrs.items() if v is not None)


def _value(v: object) -> str:
    # Numbers need no escaping: only text goes through markupsafe (a third of a plot's time).
    if isinstance(v, float):
        return _n(v)
    if isinstance(v, int):
        return str(v)
    return str(escape(str(v)))


def _el(tag: str, content: str = "", **attrs: object) -> str:
    """An element; `content` is markup already (escape text with `_text`). Attribute names
    take `_` for `-` (`stroke_width`), and a trailing `_` is dropped (`class_`)."""
    named = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
    if not content:
        return f"<{tag}{_attrs(named)}/>"
    return f"<{tag}{_attrs(named)}>{content}</{tag}>"


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", size: int = _SIZE, bold: bool = False
) -> str:
    return _el(
        "text",
        str(escape(text)),
        x=float(x),
        y=float(y),
        text_anchor=None if anchor == "start" else anchor,
        font_size=size,
        font_weight="bold" if bold else None,
        fill=INK,
    )


def _text_width(text: str, size: int) -> float:
    """A generous estimate of a text's width in a sans-serif font."""
    return len(text) * size * 0.6


def _pattern(pattern_id: str, style: _Style) -> str:
    c = style.colour
    bodies = {
        "solid": _el("rect", width=8, height=8, fill=c),
        "stripes": _el("rect", width=8, height=8, fill="#fff")
        + _el("path", d="M-2 2l4-4M0 8l8-8M6 10l4-4", stroke=c, stroke_width=2.5),
        "dots": _el("rect", width=8, height=8, fill="#fff")
        + _el("circle", cx=4, cy=4, r=2.2, fill=c),
        "cross": _el("rect", width=8, height=8, fill="#fff")
        + _el("path", d="M0 4h8M4 0v8", stroke=c, stroke_width=2),
        "lines": _el("rect", width=8, height=8, fill="#fff")
        + _el("path", d="M0 2h8M0 6h8", stroke=c, stroke_width=1.5),
        "hollow": _el("rect", width=8, height=8, fill="#fff"),
    }
    return _el(
        "pattern",
        bodies[style.pattern],
        id=pattern_id,
        width=8,
        height=8,
        patternUnits="userSpaceOnUse",
    )


def _svg(
    chart_id: str,
    title: str,
    description: str,
    height: float,
    body: str,
    patterns: Mapping[str, _Style] | None = None,
    **attrs: object,
) -> Markup:
    defs = "".join(_pattern(pid, style) for pid, style in (patterns or {}).items())
    content = (
        _el("title", str(escape(title)), id=f"{chart_id}-title")
        + _el("desc", str(escape(description)), id=f"{chart_id}-desc")
        + (_el("defs", defs) if defs else "")
        + body
    )
    root = _el(
        "svg",
        content,
        xmlns="http://www.w3.org/2000/svg",
        id=chart_id,
        viewBox=f"0 0 {WIDTH} {_n(height)}",
        width="100%",
        role="img",
        aria_labelledby=f"{chart_id}-title {chart_id}-desc",
        font_family=_FONT,
        font_size=_SIZE,
        class_="chart",
        **attrs,
    )
    return Markup(root)


def _empty_svg(chart_id: str, title: str, message: str) -> Markup:
    """The plot of nothing yet: its message, in words."""
    return _svg(chart_id, title, message, 40, _text(_PAD, 25, message))


def _empty(chart_id: str, title: str, message: str) -> Chart:
    return Chart(
        id=chart_id,
        title=title,
        description=message,
        svg=_empty_svg(chart_id, title, message),
        table=Table(caption=title, head=[], rows=[[message]], row_headers=False),
    )


@dataclass(frozen=True)
class _Bar:
    label: str
    value: Decimal
    value_text: str
    pattern_id: str
    style: _Style
    key: str


_ROW = 58
_LABEL_BASELINE = 18
_BAR_TOP = 26
_BAR_HEIGHT = 22


def _length(value: Decimal, most: Decimal) -> float:
    """A bar's length: proportional to its value, nothing when there is no scale."""
    if most <= 0 or value <= 0:
        return 0.0
    return float(value / most * _PLOT)


def _bars_body(bars: Sequence[_Bar], reference: Decimal | None = None) -> tuple[str, float]:
    """Horizontal bars, one per row: the label above at the left, the value above at the
    right, the bar below from the axis. With a `reference`, a dashed line at its value."""
    most = max([b.value for b in bars] + [reference or Decimal(0), Decimal(0)])
    parts: list[str] = []
    for i, bar in enumerate(bars):
        top = 8 + i * _ROW
        length = _length(bar.value, most)
        row = _text(_PAD, top + _LABEL_BASELINE, bar.label) + _text(
            WIDTH - _PAD, top + _LABEL_BASELINE, bar.value_text, anchor="end", bold=True
        )
        if length > 0:
            row += _el(
                "rect",
                x=float(_PAD),
                y=float(top + _BAR_TOP),
                width=length,
                height=float(_BAR_HEIGHT),
                fill=f"url(#{bar.pattern_id})",
                stroke=bar.style.colour,
                stroke_width=1.5,
                stroke_dasharray="4 3" if bar.style.pattern == "hollow" else None,
            )
        parts.append(_el("g", row, class_="bar", data_key=bar.key))
    height = 8 + len(bars) * _ROW + 4
    if reference is not None and reference > 0:
        # Across each bar's band only, clear of the labels.
        x = _PAD + _length(reference, most)
        d = "".join(
            f"M{_n(x)} {_n(8 + i * _ROW + _BAR_TOP - 3)}v{_BAR_HEIGHT + 6}"
            for i in range(1, len(bars))
        )
        if d:
            parts.append(
                _el(
                    "path",
                    d=d,
                    stroke=_AXIS,
                    stroke_width=1.5,
                    stroke_dasharray="4 3",
                    fill="none",
                    class_="reference",
                )
            )
    return "".join(parts), height


# ---------------------------------------------------------------------------------------
# Words and numbers


def _amount(value: Any) -> Decimal:
    """A decimal amount from the dashboard's text; none is zero."""
    if value is None:
        return Decimal(0)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a decimal amount")
    return amount


def _count(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a count") from None


def _share(part: Decimal, whole: Decimal, fmt: Formats) -> str:
    """`part` as a percentage of `whole`, to a tenth of a percent; 0 % of nothing."""
    ratio = part / whole if whole > 0 else Decimal(0)
    return fmt.percent(ratio.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _month(text: Any) -> date:
    """The first day of a `YYYY-MM` month."""
    year, _, month = str(text).partition("-")
    if len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
        raise ValueError(f"{text!r} is not a month (YYYY-MM)")
    return date(int(year), int(month), 1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _ordered(known: Sequence[str], present: Sequence[str]) -> list[str]:
    """The domain's codes in the domain's order, then any other present code by name."""
    return [*known, *sorted(set(present) - set(known))]


# ---------------------------------------------------------------------------------------
# 1. Cooperations per phase


def phase_funnel(
    dashboard: Mapping[str, Any], words: Words, *, chart_id: str = "chart-phases"
) -> Chart:
    """Cooperations funded by the programme per phase (`cooperations_per_phase`), one
    horizontal bar per phase in the domain's order (emergence → structuring), then the
    outcomes (completed, abandoned), then any other code the data holds; phases with none
    show 0."""
    fmt = Formats(words.locale)
    title = words("web.chart.phases.title")
    raw = dashboard.get("cooperations_per_phase") or {}
    counts = {str(k): _count(v) for k, v in raw.items()}
    phases = [p.value for p in PHASE_ORDER]
    outcomes = [o.value for o in Outcome]
    codes = _ordered([*phases, *outcomes], list(counts))
    total = sum(counts.values())
    if total <= 0:
        return _empty(chart_id, title, words("web.chart.phases.empty"))

    def label(code: str) -> str:
        return _capital(words.word("phase", code))

    def part(code: str) -> str:
        n = counts.get(code, 0)
        key = f"web.chart.phases.part.{code}"
        if words.has(f"{key}.other"):
            return words.plural(key, n, count=fmt.number(n))
        return words("web.chart.phases.part_unknown", phase=code, count=fmt.number(n))

    description = words.plural(
        "web.chart.phases.description",
        total,
        count=fmt.number(total),
        parts=fmt.joined(part(c) for c in codes if counts.get(c, 0) > 0),
    )
    patterns = {f"{chart_id}-phase": _PHASE_STYLE, f"{chart_id}-outcome": _OUTCOME_STYLE}
    bars = [
        _Bar(
            label=label(code),
            value=Decimal(counts.get(code, 0)),
            value_text=fmt.number(counts.get(code, 0)),
            pattern_id=f"{chart_id}-phase" if code not in outcomes else f"{chart_id}-outcome",
            style=_PHASE_STYLE if code not in outcomes else _OUTCOME_STYLE,
            key=code,
        )
        for code in codes
    ]
    body, height = _bars_body(bars)
    table = Table(
        caption=title,
        head=[words("web.chart.phases.head_phase"), words("web.chart.phases.head_count")],
        rows=[[label(c), fmt.number(counts.get(c, 0))] for c in codes]
        + [[words("web.chart.total"), fmt.number(total)]],
    )
    svg = _svg(chart_id, title, description, height, body, patterns)
    return Chart(chart_id, title, description, svg, table)


# ---------------------------------------------------------------------------------------
# 2. Releases over time


_MONTH_ROW = 54
_LEGEND_ROW = 24


def _legend(items: Sequence[tuple[str, str, _Style, str]]) -> tuple[str, float]:
    """Swatches and their labels, wrapped to the width: (markup, height)."""
    parts: list[str] = []
    x, line = float(_PAD), 0
    for label, pattern_id, style, key in items:
        width = 18 + 6 + _text_width(label, _SMALL) + 16
        if x > _PAD and x + width > WIDTH - _PAD:
            x, line = float(_PAD), line + 1
        y = 6 + line * _LEGEND_ROW
        parts.append(
            _el(
                "g",
                _el(
                    "rect",
                    x=x,
                    y=float(y),
                    width=18.0,
                    height=14.0,
                    fill=f"url(#{pattern_id})",
                    stroke=style.colour,
                    stroke_width=1.5,
                )
                + _text(x + 24, y + 12, label, size=_SMALL),
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
        month = _month(entry.get("month"))
        purpose = str(entry.get("purpose"))
        amounts = by_month.setdefault(month, {})
        amounts[purpose] = amounts.get(purpose, Decimal(0)) + _amount(entry.get("amount"))
    if not by_month:
        return _empty(chart_id, title, words(f"{section}.empty"))

    animation = Purpose.animation.value
    present = [p for amounts in by_month.values() for p in amounts]
    purposes = _ordered(
        [animation, *(p.value for p in Purpose if p is not Purpose.animation)], present
    )
    styles = {animation: _ANIMATION_STYLE} | {
        p: _OTHER_STYLES[i % len(_OTHER_STYLES)]
        for i, p in enumerate(p for p in purposes if p != animation)
    }
    pattern_of = {p: f"{chart_id}-purpose-{i}" for i, p in enumerate(purposes)}

    months: list[date] = []
    month = min(by_month)
    while month <= max(by_month):
        months.append(month)
        month = _next_month(month)

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
        share=_share(totals[animation], grand, fmt),
    )

    legend, top = _legend([(purpose_label(p), pattern_of[p], styles[p], p) for p in purposes])
    groups: list[str] = []
    for step, month in enumerate(months):
        y = top + 4 + step * _MONTH_ROW
        amounts = by_month.get(month, {})
        content = _text(_PAD, y + _LABEL_BASELINE, fmt.month(month)) + _text(
            WIDTH - _PAD, y + _LABEL_BASELINE, money(month_totals[month]), anchor="end", bold=True
        )
        x = float(_PAD)
        for purpose in purposes:
            value = amounts.get(purpose, Decimal(0))
            length = _length(value, most)
            if length <= 0:
                continue
            shown = money(value)
            content += _el(
                "rect",
                _el(
                    "title",
                    str(escape(words("label.pair", label=purpose_label(purpose), value=shown))),
                ),
                x=x,
                y=float(y + _BAR_TOP),
                width=length,
                height=float(_BAR_HEIGHT),
                fill=f"url(#{pattern_of[purpose]})",
                stroke=styles[purpose].colour,
                stroke_width=1.5,
                class_="segment",
                data_series=purpose,
            )
            chip = _text_width(shown, _SMALL - 1) + 8
            if length >= chip + 6:
                middle = x + length / 2
                content += _el(
                    "rect",
                    x=middle - chip / 2,
                    y=float(y + _BAR_TOP + 3),
                    width=chip,
                    height=float(_BAR_HEIGHT - 6),
                    rx=3.0,
                    fill="#fff",
                ) + _text(middle, y + _BAR_TOP + 16, shown, anchor="middle", size=_SMALL - 1)
            x += length
        groups.append(
            _el(
                "g",
                content,
                class_="month",
                data_step=step,
                data_month=f"{month.year:04d}-{month.month:02d}",
            )
        )
    height = top + 4 + len(months) * _MONTH_ROW + 4
    body = _el("g", legend, class_="legend") + "".join(groups)
    patterns = {pattern_of[p]: styles[p] for p in purposes}
    svg = _svg(chart_id, title, description, height, body, patterns, data_steps=len(months))

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


# ---------------------------------------------------------------------------------------
# 3. Money flow


def money_flow(
    dashboard: Mapping[str, Any], words: Words, *, chart_id: str = "chart-money"
) -> Chart:
    """The programme's money: the budget (a hollow dashed bar, and a dashed line through the
    other bars as their reference), committed, released and freed at a close, each with its
    share of the budget."""
    fmt = Formats(words.locale)
    currency = str(dashboard.get("currency") or "EUR")
    title = words("web.chart.money.title")
    keys = ("budget", "committed", "released", "freed")
    values = {k: _amount(dashboard.get(k)) for k in keys}
    if not any(values.values()):
        return _empty(chart_id, title, words("web.chart.money.empty"))
    budget = values["budget"]
    remaining = (
        _amount(dashboard["remaining"])
        if dashboard.get("remaining") is not None
        else budget - values["committed"]
    )

    def money(value: Decimal) -> str:
        return fmt.money(value, currency)

    def share(key: str) -> str:
        return _share(values[key], budget, fmt)

    if budget > 0:
        description = words(
            "web.chart.money.description",
            budget=money(budget),
            committed=money(values["committed"]),
            committed_share=share("committed"),
            released=money(values["released"]),
            released_share=share("released"),
            freed=money(values["freed"]),
            remaining=money(remaining),
        )
    else:
        description = words(
            "web.chart.money.description_no_budget",
            committed=money(values["committed"]),
            released=money(values["released"]),
            freed=money(values["freed"]),
        )
    styles = {
        "budget": _BUDGET_STYLE,
        "committed": _COMMITTED_STYLE,
        "released": _RELEASED_STYLE,
        "freed": _FREED_STYLE,
    }
    bars = [
        _Bar(
            label=words(f"web.chart.money.{k}"),
            value=values[k],
            value_text=(
                words("web.chart.money.value", amount=money(values[k]), share=share(k))
                if budget > 0
                else money(values[k])
            ),
            pattern_id=f"{chart_id}-{k}",
            style=styles[k],
            key=k,
        )
        for k in keys
    ]
    body, height = _bars_body(bars, reference=budget)
    patterns = {f"{chart_id}-{k}": styles[k] for k in keys}
    table = Table(
        caption=title,
        head=[
            words("web.chart.money.head_item"),
            words("web.chart.money.head_amount"),
            words("web.chart.money.head_share"),
        ],
        rows=[
            [words(f"web.chart.money.{k}"), money(values[k]), share(k) if budget > 0 else "—"]
            for k in keys
        ],
    )
    svg = _svg(chart_id, title, description, height, body, patterns)
    return Chart(chart_id, title, description, svg, table)


# ---------------------------------------------------------------------------------------
# 4. Loans


def loans(dashboard: Mapping[str, Any], words: Words, *, chart_id: str = "chart-loans") -> Chart:
    """Loans still running: all of them, then those with an installment in arrears, each bar
    as long as the amount still owed; then the loans written off (settled by their funder),
    as long as what was written off. Each bar is labelled with its number of loans and that
    amount."""
    fmt = Formats(words.locale)
    currency = str(dashboard.get("currency") or "EUR")
    title = words("web.chart.loans.title")
    data = dashboard.get("loans") or {}
    open_count, arrears_count = _count(data.get("open")), _count(data.get("in_arrears"))
    outstanding = _amount(data.get("outstanding"))
    arrears = _amount(data.get("outstanding_in_arrears"))
    lost_count, lost = _count(data.get("written_off_count")), _amount(data.get("written_off"))
    if open_count <= 0 and outstanding <= 0 and lost_count <= 0 and lost <= 0:
        return _empty(chart_id, title, words("web.chart.loans.empty"))

    def money(value: Decimal) -> str:
        return fmt.money(value, currency)

    def how_many(n: int) -> str:
        return words.plural("web.chart.loans.count", n, count=fmt.number(n))

    if arrears_count > 0 or arrears > 0:
        description = words(
            "web.chart.loans.description",
            loans=how_many(open_count),
            outstanding=money(outstanding),
            arrears=how_many(arrears_count),
            arrears_outstanding=money(arrears),
            share=_share(arrears, outstanding, fmt),
        )
    else:
        description = words(
            "web.chart.loans.description_no_arrears",
            loans=how_many(open_count),
            outstanding=money(outstanding),
        )
    if lost_count > 0 or lost > 0:
        description += " " + words.plural(
            "web.chart.loans.description_written_off",
            lost_count,
            count=fmt.number(lost_count),
            amount=money(lost),
        )
    rows = [
        ("open", open_count, outstanding, _OPEN_STYLE),
        ("in_arrears", arrears_count, arrears, _ARREARS_STYLE),
        ("written_off", lost_count, lost, _WRITTEN_OFF_STYLE),
    ]
    bars = [
        _Bar(
            label=words(f"web.chart.loans.{key}"),
            value=amount,
            value_text=words("web.chart.loans.value", loans=how_many(n), amount=money(amount)),
            pattern_id=f"{chart_id}-{key}",
            style=style,
            key=key,
        )
        for key, n, amount, style in rows
    ]
    body, height = _bars_body(bars)
    patterns = {f"{chart_id}-{key}": style for key, _, _, style in rows}
    table = Table(
        caption=title,
        head=[
            words("web.chart.loans.head_item"),
            words("web.chart.loans.head_count"),
            words("web.chart.loans.head_amount"),
        ],
        rows=[
            [words(f"web.chart.loans.{key}"), fmt.number(n), money(amount)]
            for key, n, amount, _ in rows
        ],
    )
    svg = _svg(chart_id, title, description, height, body, patterns)
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


def dashboard_charts(dashboard: Mapping[str, Any], words: Words) -> list[Chart]:
    """The four plots of a programme's dashboard, in the order a page shows them."""
    return [
        money_flow(dashboard, words),
        releases_over_time(dashboard, words),
        phase_funnel(dashboard, words),
        loans(dashboard, words),
    ]
