"""What the dashboard's plots share: a plot and its table (`Chart`, `Table`), the SVG drawn
by hand (elements, texts, fill patterns, the root with its title and description), the styles
of each series, horizontal bars, and the reading of the dashboard's numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup, escape

from i18n import Formats, Words


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


# Drawing


WIDTH = 480
"""The viewBox's width: the SVG fills its container's width, so one unit is 1/480 of it."""

PAD = 8
PLOT = WIDTH - 2 * PAD
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
SIZE = 15
SMALL = 13

INK = "#1a1a1a"
"""Text and axes: 17:1 on white."""
AXIS = "#595959"


@dataclass(frozen=True)
class Style:
    """A series' look: a colour (≥ 3:1 on white, the mark's outline and its pattern's ink)
    and a pattern, so that series differ without colour."""

    colour: str
    pattern: str  # solid, stripes, dots, cross, lines, hollow


ANIMATION_STYLE = Style("#1c5d99", "solid")
"""Animation, the coordination of the collective and the field's key point: the plainest,
strongest mark, at the base of each month's bar."""
OTHER_STYLES = (
    Style("#a84400", "stripes"),
    Style("#6b3fa0", "dots"),
    Style("#2d6a2e", "cross"),
    Style("#595959", "lines"),
)
"""The other purposes', in the domain's order of purposes (then any unknown one, by name)."""

PHASE_STYLE = Style("#1c5d99", "solid")
OUTCOME_STYLE = Style("#1c5d99", "stripes")
BUDGET_STYLE = Style("#595959", "hollow")
COMMITTED_STYLE = Style("#1c5d99", "stripes")
RELEASED_STYLE = Style("#1c5d99", "solid")
FREED_STYLE = Style("#6b3fa0", "dots")
OPEN_STYLE = Style("#1c5d99", "solid")
ARREARS_STYLE = Style("#a84400", "cross")
WRITTEN_OFF_STYLE = Style("#595959", "lines")


def _n(value: float) -> str:
    """A coordinate, short."""
    short = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if short in ("", "-0") else short


def _attrs(attrs: Mapping[str, object]) -> str:
    return "".join(f' {name}="{_value(v)}"' for name, v in attrs.items() if v is not None)


def _value(v: object) -> str:
    # Numbers need no escaping: only text goes through markupsafe (a third of a plot's time).
    if isinstance(v, float):
        return _n(v)
    if isinstance(v, int):
        return str(v)
    return str(escape(str(v)))


def el(tag: str, content: str = "", **attrs: object) -> str:
    """An element; `content` is markup already (escape text with `text`). Attribute names
    take `_` for `-` (`stroke_width`), and a trailing `_` is dropped (`class_`)."""
    named = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
    if not content:
        return f"<{tag}{_attrs(named)}/>"
    return f"<{tag}{_attrs(named)}>{content}</{tag}>"


def text(
    x: float, y: float, text: str, *, anchor: str = "start", size: int = SIZE, bold: bool = False
) -> str:
    return el(
        "text",
        str(escape(text)),
        x=float(x),
        y=float(y),
        text_anchor=None if anchor == "start" else anchor,
        font_size=size,
        font_weight="bold" if bold else None,
        fill=INK,
    )


def text_width(text: str, size: int) -> float:
    """A generous estimate of a text's width in a sans-serif font."""
    return len(text) * size * 0.6


def _pattern(pattern_id: str, style: Style) -> str:
    c = style.colour
    bodies = {
        "solid": el("rect", width=8, height=8, fill=c),
        "stripes": el("rect", width=8, height=8, fill="#fff")
        + el("path", d="M-2 2l4-4M0 8l8-8M6 10l4-4", stroke=c, stroke_width=2.5),
        "dots": el("rect", width=8, height=8, fill="#fff")
        + el("circle", cx=4, cy=4, r=2.2, fill=c),
        "cross": el("rect", width=8, height=8, fill="#fff")
        + el("path", d="M0 4h8M4 0v8", stroke=c, stroke_width=2),
        "lines": el("rect", width=8, height=8, fill="#fff")
        + el("path", d="M0 2h8M0 6h8", stroke=c, stroke_width=1.5),
        "hollow": el("rect", width=8, height=8, fill="#fff"),
    }
    return el(
        "pattern",
        bodies[style.pattern],
        id=pattern_id,
        width=8,
        height=8,
        patternUnits="userSpaceOnUse",
    )


def draw_svg(
    chart_id: str,
    title: str,
    description: str,
    height: float,
    body: str,
    patterns: Mapping[str, Style] | None = None,
    **attrs: object,
) -> Markup:
    defs = "".join(_pattern(pid, style) for pid, style in (patterns or {}).items())
    content = (
        el("title", str(escape(title)), id=f"{chart_id}-title")
        + el("desc", str(escape(description)), id=f"{chart_id}-desc")
        + (el("defs", defs) if defs else "")
        + body
    )
    root = el(
        "svg",
        content,
        xmlns="http://www.w3.org/2000/svg",
        id=chart_id,
        viewBox=f"0 0 {WIDTH} {_n(height)}",
        width="100%",
        role="img",
        aria_labelledby=f"{chart_id}-title {chart_id}-desc",
        font_family=FONT,
        font_size=SIZE,
        class_="chart",
        **attrs,
    )
    return Markup(root)


def _empty_svg(chart_id: str, title: str, message: str) -> Markup:
    """The plot of nothing yet: its message, in words."""
    return draw_svg(chart_id, title, message, 40, text(PAD, 25, message))


def empty_chart(chart_id: str, title: str, message: str) -> Chart:
    return Chart(
        id=chart_id,
        title=title,
        description=message,
        svg=_empty_svg(chart_id, title, message),
        table=Table(caption=title, head=[], rows=[[message]], row_headers=False),
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    value_text: str
    pattern_id: str
    style: Style
    key: str


ROW = 58
LABEL_BASELINE = 18
BAR_TOP = 26
BAR_HEIGHT = 22


def bar_length(value: Decimal, most: Decimal) -> float:
    """A bar's length: proportional to its value, nothing when there is no scale."""
    if most <= 0 or value <= 0:
        return 0.0
    return float(value / most * PLOT)


def bars_body(bars: Sequence[Bar], reference: Decimal | None = None) -> tuple[str, float]:
    """Horizontal bars, one per row: the label above at the left, the value above at the
    right, the bar below from the axis. With a `reference`, a dashed line at its value."""
    most = max([b.value for b in bars] + [reference or Decimal(0), Decimal(0)])
    parts: list[str] = []
    for i, bar in enumerate(bars):
        top = 8 + i * ROW
        length = bar_length(bar.value, most)
        row = text(PAD, top + LABEL_BASELINE, bar.label) + text(
            WIDTH - PAD, top + LABEL_BASELINE, bar.value_text, anchor="end", bold=True
        )
        if length > 0:
            row += el(
                "rect",
                x=float(PAD),
                y=float(top + BAR_TOP),
                width=length,
                height=float(BAR_HEIGHT),
                fill=f"url(#{bar.pattern_id})",
                stroke=bar.style.colour,
                stroke_width=1.5,
                stroke_dasharray="4 3" if bar.style.pattern == "hollow" else None,
            )
        parts.append(el("g", row, class_="bar", data_key=bar.key))
    height = 8 + len(bars) * ROW + 4
    if reference is not None and reference > 0:
        # Across each bar's band only, clear of the labels.
        x = PAD + bar_length(reference, most)
        d = "".join(
            f"M{_n(x)} {_n(8 + i * ROW + BAR_TOP - 3)}v{BAR_HEIGHT + 6}"
            for i in range(1, len(bars))
        )
        if d:
            parts.append(
                el(
                    "path",
                    d=d,
                    stroke=AXIS,
                    stroke_width=1.5,
                    stroke_dasharray="4 3",
                    fill="none",
                    class_="reference",
                )
            )
    return "".join(parts), height


def keyed_table(
    title: str,
    words: Words,
    section: str,
    heads: Sequence[str],
    rows: Mapping[str, Sequence[str]],
) -> Table:
    """A plot's table with one row per key, headed by the key's word (`<section>.<key>`),
    under the columns' words (`<section>.head_<head>`)."""
    return Table(
        caption=title,
        head=[words(f"{section}.head_{head}") for head in heads],
        rows=[[words(f"{section}.{key}"), *cells] for key, cells in rows.items()],
    )


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    table: Table,
    reference: Decimal | None = None,
) -> Chart:
    """A plot of horizontal bars (`bars_body`), each series' pattern defined once."""
    body, height = bars_body(bars, reference)
    patterns = {bar.pattern_id: bar.style for bar in bars}
    svg = draw_svg(chart_id, title, description, height, body, patterns)
    return Chart(chart_id, title, description, svg, table)


# ---------------------------------------------------------------------------------------
# Words and numbers


def amount_of(value: Any) -> Decimal:
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


def count_of(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a count") from None


def percent_of(part: Decimal, whole: Decimal, fmt: Formats) -> str:
    """`part` as a percentage of `whole`, to a tenth of a percent; 0 % of nothing."""
    ratio = part / whole if whole > 0 else Decimal(0)
    return fmt.percent(ratio.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def parse_month(text: Any) -> date:
    """The first day of a `YYYY-MM` month."""
    year, _, month = str(text).partition("-")
    if len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
        raise ValueError(f"{text!r} is not a month (YYYY-MM)")
    return date(int(year), int(month), 1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def in_order(known: Sequence[str], present: Sequence[str]) -> list[str]:
    """The domain's codes in the domain's order, then any other present code by name."""
    return [*known, *sorted(set(present) - set(known))]
