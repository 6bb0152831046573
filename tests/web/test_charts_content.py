"""What the dashboard's plots (api/web/charts/) show: releases over time bar by bar, the
funnel, money against the budget, loans, and tables whose totals are the dashboard's in both
locales with Babel's formats. No browser, no database."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from api.web import charts
from domain.programme import PHASE_ORDER, Outcome, Purpose
from i18n import Formats, Words
from tests.web.charts_data import (
    DASHBOARD,
    EMPTY,
    NBSP,
    NNBSP,
    NS,
    RELEASES,
    money,
    months,
    segments,
    svg_of,
)

# ---------------------------------------------------------------------------------------
# Releases over time


def test_each_month_has_one_bar_per_purpose_released_and_empty_months_show() -> None:
    root = svg_of(charts.releases_over_time(DASHBOARD, Words("fr")))
    groups = months(root)
    assert [g.get("data-month") for g in groups] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert [g.get("data-step") for g in groups] == ["0", "1", "2", "3"]
    assert root.get("data-steps") == "4"
    expected = {
        "2024-01": ["animation", "investment"],
        "2024-02": [],
        "2024-03": ["animation", "operating"],
        "2024-04": ["investment"],
    }
    for group in groups:
        drawn = [s.get("data-series") for s in segments(group)]
        assert drawn == expected[group.get("data-month") or ""]
    # Every segment is in a month's group: the script revealing months reveals them all.
    assert len(segments(root)) == sum(len(v) for v in expected.values())


def test_bars_are_as_long_as_their_amounts() -> None:
    root = svg_of(charts.releases_over_time(DASHBOARD, Words("fr")))
    amounts: dict[tuple[str, str], Decimal] = {}
    for entry in RELEASES:
        key = (entry["month"], entry["purpose"])
        amounts[key] = amounts.get(key, Decimal(0)) + Decimal(entry["amount"])
    ratios = []
    for group in months(root):
        x = None
        for segment in segments(group):
            width = float(segment.get("width") or 0)
            amount = amounts[(group.get("data-month") or "", segment.get("data-series") or "")]
            ratios.append(width / float(amount))
            # Stacked: each segment starts where the previous one ends.
            if x is not None:
                assert float(segment.get("x") or 0) == pytest.approx(x, abs=0.02)
            x = float(segment.get("x") or 0) + width
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-3)
    # The longest month fills the width.
    widest = max(sum(float(s.get("width") or 0) for s in segments(g)) for g in months(root))
    assert widest == pytest.approx(charts.WIDTH - 16, abs=0.05)


def test_each_purpose_has_its_own_pattern_not_only_its_own_colour() -> None:
    root = svg_of(charts.releases_over_time(DASHBOARD, Words("fr")))
    fills: dict[str, set[str]] = {}
    for segment in segments(root):
        fills.setdefault(segment.get("data-series") or "", set()).add(segment.get("fill") or "")
    assert set(fills) == {p.value for p in Purpose}
    assert all(len(f) == 1 for f in fills.values())
    pattern_ids = {next(iter(f))[5:-1] for f in fills.values()}
    assert len(pattern_ids) == len(Purpose)
    # Their shapes differ with the colours taken out: told apart in black and white too.
    shapes = set()
    for pattern in root.iter(f"{NS}pattern"):
        if pattern.get("id") in pattern_ids:
            markup = ET.tostring(pattern, encoding="unicode")
            markup = re.sub(r'(id|fill|stroke)="[^"]*"', "", markup)
            shapes.add(markup)
    assert len(shapes) == len(Purpose)
    # The legend shows each purpose with its bars' pattern, in the order of the stack.
    legend = root.findall(f".//{NS}g[@class='legend-item']")
    assert [g.get("data-series") for g in legend] == ["animation", "investment", "operating"]
    for item in legend:
        swatch = item.find(f"{NS}rect")
        assert swatch is not None
        assert {swatch.get("fill") or ""} == fills[item.get("data-series") or ""]


def test_animation_is_shown_apart() -> None:
    chart = charts.releases_over_time(DASHBOARD, Words("fr"))
    root = svg_of(chart)
    for group in months(root):
        drawn = segments(group)
        animation = [s for s in drawn if s.get("data-series") == "animation"]
        if animation:
            # At the base of the month's bar.
            assert drawn[0] is animation[0] and len(animation) == 1
            assert float(animation[0].get("x") or 0) == 8
    # Its own total in the description, and its own column, first.
    assert money("9500.00") in chart.description
    assert "animation" in chart.description
    assert chart.table.head[1] == "Animation"
    assert chart.table.rows[-1][1] == money(DASHBOARD["animation"])
    # Its pattern is the plainest: solid, unlike every other purpose's.
    first = segments(root)[0]
    pattern = root.find(f".//{NS}pattern[@id='{(first.get('fill') or '')[5:-1]}']")
    assert pattern is not None and [e.tag for e in pattern] == [f"{NS}rect"]


def test_the_static_chart_is_complete_without_script() -> None:
    root = svg_of(charts.releases_over_time(DASHBOARD, Words("fr")))
    for element in root.iter():
        assert element.get("visibility") != "hidden" and element.get("display") != "none"
        assert element.get("opacity") in (None, "1")


def test_one_month_only() -> None:
    dashboard = {**DASHBOARD, "releases_over_time": RELEASES[3:5]}
    chart = charts.releases_over_time(dashboard, Words("fr"))
    assert chart.description == (
        f"1{NNBSP}500,00{NBSP}€ ordonnés en mars 2024, dont 1{NNBSP}500,00{NBSP}€ pour "
        f"l'animation (la coordination du collectif), soit 100{NBSP}% du total."
    )
    assert len(months(svg_of(chart))) == 1


# ---------------------------------------------------------------------------------------
# The other charts


def test_the_funnel_follows_the_domains_phases_then_outcomes() -> None:
    chart = charts.phase_funnel(DASHBOARD, Words("fr"))
    root = svg_of(chart)
    bars = root.findall(f"{NS}g[@class='bar']")
    order = [p.value for p in PHASE_ORDER] + [o.value for o in Outcome]
    assert [b.get("data-key") for b in bars] == order
    counts = DASHBOARD["cooperations_per_phase"]
    for bar in bars:
        rect = bar.find(f"{NS}rect")
        n = counts.get(bar.get("data-key"), 0)
        if n == 0:
            assert rect is None
        else:
            assert rect is not None
            expected = (charts.WIDTH - 16) * n / 6
            assert float(rect.get("width") or 0) == pytest.approx(expected, abs=0.01)
    assert [r[0] for r in chart.table.rows] == [
        "Émergence",
        "Expérimentation",
        "Structuration",
        "Achevée",
        "Abandonnée",
        "Total",
    ]
    assert chart.table.rows[-1] == ["Total", "12"]
    assert chart.description == (
        f"12 coopérations financées{NBSP}: 5 en émergence, 6 en expérimentation et 1 achevée."
    )


def test_money_flow_against_the_budget() -> None:
    chart = charts.money_flow(DASHBOARD, Words("fr"))
    root = svg_of(chart)
    widths = {
        b.get("data-key"): float(r.get("width") or 0)
        for b in root.findall(f"{NS}g[@class='bar']")
        if (r := b.find(f"{NS}rect")) is not None
    }
    budget = Decimal(DASHBOARD["budget"])
    for key in ("committed", "released", "freed"):
        assert widths[key] / widths["budget"] == pytest.approx(
            float(Decimal(DASHBOARD[key]) / budget), rel=1e-3
        )
    assert root.find(f".//{NS}path[@class='reference']") is not None
    assert chart.table.rows == [
        ["Budget", money("100000.00"), f"100{NBSP}%"],
        ["Engagé", money("60000.00"), f"60{NBSP}%"],
        ["Ordonné", money("26000.50"), f"26{NBSP}%"],
        ["Libéré à la clôture", money("5000.00"), f"5{NBSP}%"],
    ]
    assert money("40000.00") in chart.description  # left to commit


def test_money_without_a_budget_divides_nothing_by_zero() -> None:
    dashboard = {**EMPTY, "committed": "10.00", "released": "5.00"}
    chart = charts.money_flow(dashboard, Words("en"))
    assert (
        chart.description == "No budget: €10.00 committed, €5.00 released and €0.00 freed at close."
    )
    assert [r[2] for r in chart.table.rows] == ["—"] * 4


def test_loans_count_and_amount() -> None:
    chart = charts.loans(DASHBOARD, Words("fr"))
    assert chart.table.rows == [
        ["En cours", "3", money("45000.00")],
        ["Dont en retard de paiement", "1", money("6000.00")],
        ["Passés en perte", "2", money("12500.00")],
    ]
    assert chart.description == (
        f"3 prêts en cours, pour 45{NNBSP}000,00{NBSP}€ restant dus{NBSP}; 1 prêt en retard "
        f"de paiement, pour 6{NNBSP}000,00{NBSP}€ (13,3{NBSP}% du reste dû). 2 prêts passés en "
        f"perte, pour 12{NNBSP}500,00{NBSP}€."
    )
    root = svg_of(chart)
    widths = [float(r.get("width") or 0) for r in root.iter(f"{NS}rect") if r.get("stroke")]
    assert widths[1] / widths[0] == pytest.approx(6000 / 45000, rel=1e-3)
    assert widths[2] / widths[0] == pytest.approx(12500 / 45000, rel=1e-3)
    labels = [t.text for t in root.iter(f"{NS}text")]
    assert f"3 prêts · 45{NNBSP}000,00{NBSP}€" in labels
    assert f"2 prêts · 12{NNBSP}500,00{NBSP}€" in labels
    # The patterns differ, not only the colours.
    assert len({r.get("fill") for r in root.iter(f"{NS}rect") if r.get("stroke")}) == 3


def test_loans_without_arrears() -> None:
    dashboard = {**DASHBOARD, "loans": {"open": 1, "outstanding": "900.00", "in_arrears": 0}}
    chart = charts.loans(dashboard, Words("en"))
    assert chart.description == "1 loan open, with €900.00 outstanding; none is in arrears."
    assert chart.table.rows[2] == ["Written off", "0", "€0.00"]


def test_loans_all_written_off_are_still_shown() -> None:
    # A written-off loan is settled: none is open, and the plot still tells what was lost.
    dashboard = {
        **DASHBOARD,
        "loans": {
            "open": 0,
            "outstanding": "0",
            "in_arrears": 0,
            "outstanding_in_arrears": "0",
            "written_off": "20425.56",
            "written_off_count": 1,
        },
    }
    chart = charts.loans(dashboard, Words("en"))
    assert chart.description == (
        "0 loans open, with €0.00 outstanding; none is in arrears."
        " 1 loan written off, for €20,425.56."
    )
    assert chart.table.rows[-1] == ["Written off", "1", "€20,425.56"]
    assert [r.get("data-key") for r in svg_of(chart).iter(f"{NS}g") if r.get("data-key")] == [
        "open",
        "in_arrears",
        "written_off",
    ]


# ---------------------------------------------------------------------------------------
# The dashboard's totals, both locales


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_tables_totals_are_the_dashboards(locale: str) -> None:
    words = Words(locale)
    fmt = Formats(locale)

    def m(value: str) -> str:
        return fmt.money(value, "EUR")

    releases = charts.releases_over_time(DASHBOARD, words).table
    total = releases.rows[-1]
    assert total[0] == words("web.chart.total")
    by_purpose = DASHBOARD["released_by_purpose"]
    assert total[1:-2] == [m(by_purpose[p.value]) for p in Purpose]
    assert total[-2] == m(DASHBOARD["released"])
    # The running total ends at the dashboard's total.
    assert releases.rows[-2][-1] == m(DASHBOARD["released"])
    # February, with nothing, is there.
    assert releases.rows[1][1:] == [m("0")] * (len(Purpose) + 1) + [m("12000")]

    funnel = charts.phase_funnel(DASHBOARD, words).table
    assert funnel.rows[-1][1] == fmt.number(sum(DASHBOARD["cooperations_per_phase"].values()))

    flow = charts.money_flow(DASHBOARD, words).table
    assert [r[1] for r in flow.rows] == [
        m(DASHBOARD[k]) for k in ("budget", "committed", "released", "freed")
    ]

    loans = charts.loans(DASHBOARD, words).table
    assert loans.rows[0][1:] == [fmt.number(3), m(DASHBOARD["loans"]["outstanding"])]
    assert loans.rows[1][1:] == [fmt.number(1), m(DASHBOARD["loans"]["outstanding_in_arrears"])]
    assert loans.rows[2][1:] == [fmt.number(2), m(DASHBOARD["loans"]["written_off"])]


def test_amounts_in_french_and_english() -> None:
    fr = charts.releases_over_time(DASHBOARD, Words("fr"))
    assert fr.table.rows[0] == [
        "janvier 2024",
        f"8{NNBSP}000,00{NBSP}€",
        f"4{NNBSP}000,00{NBSP}€",
        f"0,00{NBSP}€",
        f"12{NNBSP}000,00{NBSP}€",
        f"12{NNBSP}000,00{NBSP}€",
    ]
    assert fr.description == (
        f"26{NNBSP}000,50{NBSP}€ ordonnés de janvier 2024 à avril 2024, dont 9{NNBSP}500,00{NBSP}€"
        f" pour l'animation (la coordination du collectif), soit 36,5{NBSP}% du total."
    )
    assert fr.table.head == [
        "Mois",
        "Animation",
        "Investissement",
        "Fonctionnement",
        "Total",
        "Cumul",
    ]
    en = charts.releases_over_time(DASHBOARD, Words("en"))
    assert en.table.rows[0][:2] == ["January 2024", "€8,000.00"]
    assert en.description == (
        "€26,000.50 released from January 2024 to April 2024, of which €9,500.00 for animation"
        " (coordinating the collective), 36.5% of the total."
    )
    # The SVG's labels are the same formatted amounts.
    labels = {t.text for t in svg_of(fr).iter(f"{NS}text")}
    assert f"8{NNBSP}000,00{NBSP}€" in labels and f"12{NNBSP}000,00{NBSP}€" in labels
