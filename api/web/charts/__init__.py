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

from collections.abc import Mapping
from typing import Any

from api.web.charts.bars import loans, money_flow, phase_funnel
from api.web.charts.draw import WIDTH, Chart, Table
from api.web.charts.releases import forecast_releases, releases_over_time
from i18n import Words

__all__ = [
    "WIDTH",
    "Chart",
    "Table",
    "dashboard_charts",
    "forecast_releases",
    "loans",
    "money_flow",
    "phase_funnel",
    "releases_over_time",
]


def dashboard_charts(dashboard: Mapping[str, Any], words: Words) -> list[Chart]:
    """The four plots of a programme's dashboard, in the order a page shows them."""
    return [
        money_flow(dashboard, words),
        releases_over_time(dashboard, words),
        phase_funnel(dashboard, words),
        loans(dashboard, words),
    ]
