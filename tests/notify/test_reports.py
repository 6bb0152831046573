"""What a funder reads, in French and English: a report (Markdown and HTML) compared with the
expected files in `expected/` (read by eye once: correct French and English), Babel's formats
per locale, escaping of what users wrote, and French for any locale not supported. No database:
the report is built from a log in memory.

`COOPFLOW_WRITE_EXPECTED=1` rewrites the expected files from the current output, to be read
again (`git diff tests/notify/expected`) before they are kept.
"""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.report_content import build_report
from i18n import Formats, supported_locale
from notify.reports import render_report
from tests.notify import sample

EXPECTED = Path(__file__).parent / "expected"
WRITE = bool(os.environ.get("COOPFLOW_WRITE_EXPECTED"))

NNBSP, NBSP = "\u202f", "\xa0"
"""Babel's spaces: the narrow one groups thousands in French, the other precedes €."""


def content(**changes: Any) -> dict[str, Any]:
    built = build_report(
        "ressourcerie",
        "fdt",
        sample.START,
        sample.END,
        sample.events(),
        name="Ressourcerie du Bourg",
        programme=sample.PROGRAMME,
    )
    built.update(period=1, final=False)
    built.update(changes)
    # As the API reads it back: stored as jsonb.
    result: dict[str, Any] = json.loads(json.dumps(built))
    return result


def expect(name: str, actual: str) -> None:
    path = EXPECTED / name
    if WRITE:
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"differs from {path}"


# ---------------------------------------------------------------------------------------
# Reports


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize(("fmt", "suffix"), [("markdown", "md"), ("html", "html")])
def test_a_report_reads_as_expected(locale: str, fmt: Any, suffix: str) -> None:
    expect(f"report.{locale}.{suffix}", render_report(content(), locale, fmt))


def test_a_report_shows_only_its_own_lines_money_and_angle() -> None:
    report = content()
    stored = json.dumps(report, ensure_ascii=False)
    for fmt in ("markdown", "html"):
        for locale in ("fr", "en"):
            text = render_report(report, locale, fmt)  # type: ignore[arg-type]
            assert not [s for s in sample.OTHER_LINE_SECRETS if s in text], (locale, fmt)
    assert not [s for s in sample.OTHER_LINE_SECRETS if s in stored]
    # The shared parts are there: one check-in feeds every funder's report.
    assert report["check_ins"]["submitted"] == 3
    assert [r["tranche"] for r in report["releases"]["items"]] == [
        "amorcage",
        "emergence-2",
        "pret",
        "atelier",
    ]


def test_the_content_keeps_its_keys_and_adds_what_a_funder_reads() -> None:
    report = content()
    # The keys other readers rely on.
    assert report["check_ins"] | {"items": None, "overdue_periods": None} == {
        "submitted": 3,
        "accepted": 1,
        "changes_requested": 1,
        "overdue": 1,
        "items": None,
        "overdue_periods": None,
    }
    assert report["releases"]["animation"] == "15000.00"
    assert report["releases"]["other"] == {"investment": "20000.00", "operating": "6000.00"}
    assert report["loans"]["installments_due"] == 2
    assert report["loans"]["repaid"] == "1000.00"
    assert [m["type"] for m in report["moves"]] == ["PhaseEntered", "Paused", "Resumed", "Pivoted"]
    # The angle first: its indicators (even unreported), then the others as they came.
    assert [(i["name"], i["featured"]) for i in report["indicators"]] == [
        ("objets réparés", True),
        ("bénévoles actifs", True),
        ("tonnes évitées", True),
        ("heures d'ouverture", False),
    ]
    # A replaced check-in's values are superseded.
    assert [v["value"] for v in report["indicators"][0]["values"]] == [40, 1255]
    assert [m["id"] for m in report["members"]] == ["repair-cafe", "habitants", "epicerie"]
    assert report["members_left"] == ["mairie"]
    (loan,) = report["loans"]["items"]
    assert loan["outstanding"] == "19117.63"
    assert loan["overdue"] == [{"installment": 1, "due": "2027-06-02", "owed": "2367.30"}]
    assert loan["next"] == {"installment": 3, "due": "2027-08-02", "amount": "3355.98"}
    assert report["commitment"] == {
        "committed": "41000.00",
        "released": "41000.00",
        "freed": "0.00",
    }


def test_amounts_and_dates_take_the_locales_formats() -> None:
    fr, en = Formats("fr"), Formats("en")
    assert fr.money(Decimal("8000.00"), "EUR") == f"8{NNBSP}000,00{NBSP}€"
    assert en.money(Decimal("8000.00"), "EUR") == "€8,000.00"
    assert fr.day("2027-01-04T00:00:00Z") == "4 janvier 2027"
    assert en.day("2027-01-04") == "January 4, 2027"
    assert fr.duration("P1Y6M") == f"1{NBSP}an et 6{NBSP}mois"
    assert en.duration("P1Y6M") == "1 year and 6 months"
    assert fr.percent("0.015") == f"1,5{NBSP}%"
    fr_md = render_report(content(), "fr", "markdown")
    en_md = render_report(content(), "en", "markdown")
    eight_thousand = f"8{NNBSP}000,00{NBSP}€"
    assert (
        f"| 4 janvier 2027 | amorcage | émergence | animation | subvention | {eight_thousand} |"
        in (fr_md)
    )
    assert "| January 4, 2027 | amorcage | emergence | animation | grant | €8,000.00 |" in en_md
    assert f"40 → 1{NNBSP}255" in fr_md and "40 → 1,255" in en_md


def test_what_users_wrote_is_escaped() -> None:
    hostile = {
        "summary": '<script>alert("x")</script> | **gras** [lien](javascript:x)\n# titre',
        "indicators": ["<img src=x onerror=alert(1)>"],
        "members": [],
    }
    report = content(angle=hostile, name="<b>Coop</b>")
    html = render_report(report, "fr", "html")
    assert "<script>" not in html and "<img" not in html and "<b>Coop" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    md = render_report(report, "fr", "markdown")
    assert not re.search(r"(?<!\\)<", md), "an unescaped < in Markdown"
    assert r"\<script\>" in md
    # One line, its pipes and brackets escaped: it can break neither a table nor a paragraph.
    assert r'\<script\>alert("x")\</script\> \| \*\*gras\*\* \[lien\](javascript:x) # titre' in md
    assert r"# Rapport de financement — \<b\>Coop\</b\>" in md


def test_a_final_report_says_so() -> None:
    assert "**Rapport final**" in render_report(content(final=True), "fr", "markdown")
    assert '<span class="final">Final report</span>' in render_report(
        content(final=True), "en", "html"
    )


def test_a_report_stored_before_this_content_still_renders() -> None:
    old = {
        "cooperation": "ruche",
        "line": "coop-2027",
        "from": "2027-01-04T00:00:00+00:00",
        "to": "2027-04-04T00:00:00+00:00",
        "angle": None,
        "check_ins": {"submitted": 2, "accepted": 1, "overdue": 0},
        "moves": [{"type": "Pivoted", "at": "2027-02-01T00:00:00+00:00", "phase": "emergence"}],
        "releases": {"animation": "8000.00", "other": {"operating": "500.00"}},
        "loans": {"installments_due": 0, "repaid": "0.00"},
        "period": 1,
        "final": False,
    }
    md = render_report(old, "en", "markdown")
    assert "- **Animation (coordinating the collective): €8,000.00**" in md
    assert "- Operating: €500.00" in md
    assert "- Total released in the period: €8,500.00" in md
    assert "The cooperation is pivoting: it stays in the emergence phase" in md
    assert "</html>" in render_report(old, "fr", "html")


def test_an_unknown_locale_is_french() -> None:
    assert supported_locale("de") == supported_locale(None) == "fr"
    assert supported_locale("en_GB") == supported_locale("EN-us") == "en"
    assert render_report(content(), "de", "markdown") == render_report(content(), "fr", "markdown")
