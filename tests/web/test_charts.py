"""The dashboard's plots (api/web/charts/), read as a screen reader and a parser would: an
SVG image with its title and description, marks that stand out, ids apart between charts, a new
programme's empty dashboard, hostile text kept as text and malformed data refused (what the
plots show: test_charts_content.py). No browser, no database."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.web import charts
from i18n import Words
from tests.web.charts_data import (
    DASHBOARD,
    EMPTY,
    FUNCTIONS,
    NS,
    RELEASES,
    ChartFunction,
    contrast,
    segments,
    svg_of,
)

# ---------------------------------------------------------------------------------------
# Accessible images


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("dashboard", [DASHBOARD, EMPTY, {}], ids=["full", "empty", "bare"])
@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_every_chart_is_an_image_with_its_title_and_description(
    function: ChartFunction, dashboard: dict[str, Any], locale: str
) -> None:
    chart = function(dashboard, Words(locale))
    root = svg_of(chart)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root.get("id") == chart.id
    ids = {e.get("id"): e for e in root.iter() if e.get("id")}
    labelled_by = (root.get("aria-labelledby") or "").split()
    assert labelled_by == [f"{chart.id}-title", f"{chart.id}-desc"]
    title, desc = (ids[i] for i in labelled_by)
    # The title and the description open the image, as SVG's accessibility mapping wants.
    assert list(root)[:2] == [title, desc]
    assert (title.tag, title.text) == (f"{NS}title", chart.title)
    assert (desc.tag, desc.text) == (f"{NS}desc", chart.description)
    assert chart.title and chart.description.endswith(".")
    # It scales with the page: a viewBox, the container's width, no size in pixels.
    assert root.get("width") == "100%" and root.get("height") is None
    assert re.fullmatch(r"0 0 480 \d+(\.\d+)?", root.get("viewBox") or "")
    # Nothing the pages' Content-Security-Policy would block, no script.
    for element in root.iter():
        assert element.tag not in (f"{NS}script", f"{NS}style", f"{NS}foreignObject")
        assert "style" not in element.attrib
        assert not [a for a in element.attrib if a.lower().startswith("on")]
    # Every fill refers to a pattern of this image.
    for element in root.iter():
        fill = element.get("fill") or ""
        if fill.startswith("url("):
            assert fill[5:-1] in ids and ids[fill[5:-1]].tag == f"{NS}pattern"
    # The table is the image's data: a caption, a header per column, a row header per row.
    table = chart.table
    assert table.caption == chart.title
    assert table.rows
    for row in table.rows:
        assert len(row) == max(len(table.head), 1)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_text_and_marks_stand_out_against_white(function: ChartFunction) -> None:
    root = svg_of(function(DASHBOARD, Words("fr")))
    texts = root.findall(f".//{NS}text")
    assert texts
    for text in texts:
        assert contrast(text.get("fill") or "#000000") >= 4.5
    for element in root.iter():
        for attribute in ("fill", "stroke"):
            colour = element.get(attribute)
            if colour and colour.startswith("#") and colour.lower() not in ("#fff", "#ffffff"):
                assert contrast(colour) >= 3, (element.tag, attribute, colour)
    # A bar's outline is its colour: the mark stands out whatever its pattern.
    for rect in root.iter(f"{NS}rect"):
        if (rect.get("fill") or "").startswith("url("):
            assert contrast(rect.get("stroke") or "#ffffff") >= 3


def test_ids_do_not_collide_between_the_charts_of_a_page() -> None:
    seen: list[str] = []
    for chart in charts.dashboard_charts(DASHBOARD, Words("fr")):
        seen += [e.get("id") or "" for e in svg_of(chart).iter() if e.get("id")]
    assert len(seen) == len(set(seen))
    other = charts.phase_funnel(DASHBOARD, Words("fr"), chart_id="other-phases")
    assert other.id == "other-phases"
    assert svg_of(other).get("aria-labelledby") == "other-phases-title other-phases-desc"


# ---------------------------------------------------------------------------------------
# Nothing yet, and hostile text


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_a_new_programme_has_nothing_yet(function: ChartFunction, locale: str) -> None:
    words = Words(locale)
    for dashboard in (EMPTY, {}):
        chart = function(dashboard, words)
        assert chart.table.rows == [[chart.description]]
        assert chart.table.head == [] and not chart.table.row_headers
        root = svg_of(chart)
        assert [t.text for t in root.iter(f"{NS}text")] == [chart.description]
        assert not root.findall(f".//{NS}rect")
    assert function(EMPTY, Words("fr")).description != function(EMPTY, Words("en")).description


def test_hostile_text_stays_text() -> None:
    attack = '</text><script>alert(1)</script><img src=x onerror="alert(2)">'
    dashboard = {
        **DASHBOARD,
        "currency": "<b>",
        "cooperations_per_phase": {"emergence": 1, attack: 2},
        "releases_over_time": [
            *RELEASES,
            {"month": "2024-02", "purpose": attack, "amount": "100.00"},
        ],
    }
    for function in FUNCTIONS:
        chart = function(dashboard, Words("fr"))
        assert "<script" not in chart.svg and "<b>" not in chart.svg
        root = svg_of(chart)
        assert {e.tag for e in root.iter()} <= {
            f"{NS}{tag}"
            for tag in (
                "svg",
                "title",
                "desc",
                "defs",
                "pattern",
                "rect",
                "path",
                "circle",
                "g",
                "text",
                "line",
            )
        }
        for element in root.iter():
            assert not [a for a in element.attrib if a.lower().startswith("on")]
        if function is not charts.phase_funnel:
            assert "<b>" in "".join(root.itertext())  # the currency, shown as it is
    funnel = charts.phase_funnel(dashboard, Words("fr"))
    assert attack in "".join(svg_of(funnel).itertext())
    # The table holds plain text: the template escapes it.
    assert [attack, "2"] in funnel.table.rows
    releases = charts.releases_over_time(dashboard, Words("fr"))
    assert attack in releases.table.head
    series = {s.get("data-series") for s in segments(svg_of(releases))}
    assert attack in series


def test_malformed_data_is_refused_not_drawn() -> None:
    for entry in (
        {"month": "2024-1", "purpose": "animation", "amount": "1"},
        {"month": "2024-01", "purpose": "animation", "amount": "NaN"},
        {"month": "2024-01", "purpose": "animation", "amount": "lots"},
    ):
        with pytest.raises(ValueError):
            charts.releases_over_time({**DASHBOARD, "releases_over_time": [entry]}, Words("fr"))
