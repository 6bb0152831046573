"""The dashboard data and the SVG readers the chart tests share (test_charts*.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

from api.web import charts
from api.web.charts import Chart
from i18n import Formats, Words

NS = "{http://www.w3.org/2000/svg}"
NNBSP, NBSP = "\u202f", "\xa0"
"""Babel's spaces in French: the narrow one groups thousands, the other precedes €."""

ChartFunction = Callable[[Mapping[str, Any], Words], Chart]
FUNCTIONS: list[ChartFunction] = [
    charts.phase_funnel,
    charts.releases_over_time,
    charts.money_flow,
    charts.loans,
]

RELEASES = [
    {"month": "2024-01", "purpose": "investment", "amount": "4000.00"},
    {"month": "2024-01", "purpose": "animation", "amount": "8000.00"},
    # February: nothing released.
    {"month": "2024-03", "purpose": "operating", "amount": "2500.50"},
    {"month": "2024-03", "purpose": "animation", "amount": "1000.00"},
    {"month": "2024-03", "purpose": "animation", "amount": "500.00"},
    {"month": "2024-04", "purpose": "investment", "amount": "10000.00"},
]

DASHBOARD: dict[str, Any] = {
    "programme": "fdt",
    "version": 1,
    "currency": "EUR",
    "budget": "100000.00",
    "committed": "60000.00",
    "remaining": "40000.00",
    "released": "26000.50",
    "freed": "5000.00",
    "released_by_purpose": {
        "animation": "9500.00",
        "investment": "14000.00",
        "operating": "2500.50",
    },
    "animation": "9500.00",
    "released_by_purpose_and_phase": [],
    "lines": {"active": 14},
    "cooperations_per_phase": {"emergence": 5, "experimentation": 6, "completed": 1},
    "overdue_check_ins": 0,
    "loans": {
        "open": 3,
        "outstanding": "45000.00",
        "in_arrears": 1,
        "outstanding_in_arrears": "6000.00",
        "written_off": "12500.00",
        "written_off_count": 2,
    },
    "releases_over_time": RELEASES,
}

EMPTY: dict[str, Any] = {
    "programme": "new",
    "version": 1,
    "currency": "EUR",
    "budget": "0.00",
    "committed": "0.00",
    "remaining": "0.00",
    "released": "0.00",
    "freed": "0.00",
    "released_by_purpose": {},
    "animation": "0.00",
    "released_by_purpose_and_phase": [],
    "lines": {},
    "cooperations_per_phase": {},
    "overdue_check_ins": 0,
    "loans": {"open": 0, "outstanding": "0", "in_arrears": 0, "outstanding_in_arrears": "0"},
    "releases_over_time": [],
}


def svg_of(chart: Chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))


def money(amount: str, locale: str = "fr") -> str:
    return Formats(locale).money(amount, "EUR")


def segments(root: ET.Element) -> list[ET.Element]:
    return root.findall(f".//{NS}rect[@class='segment']")


def months(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{NS}g[@class='month']")


def contrast(colour: str) -> float:
    """WCAG's contrast ratio of a `#rrggbb` colour against white."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)
