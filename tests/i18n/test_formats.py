"""The words and formats every page, e-mail and report shares: plural forms by the locale's
rules (CLDR), months and lists in the locale's way, French for what is not supported."""

from __future__ import annotations

from datetime import date

from i18n import Formats, Words, supported_locale


def test_a_count_takes_the_locales_plural_form_and_other_where_the_catalog_has_none() -> None:
    fr, en = Words("fr"), Words("en")
    key = "web.chart.loans.count"

    def said(words: Words, n: int) -> str:
        return words.plural(key, n, count=str(n))

    # French says 0 in the singular, English in the plural.
    assert [said(fr, n) for n in (0, 1, 2)] == ["0 prêt", "1 prêt", "2 prêts"]
    assert [said(en, n) for n in (0, 1, 2)] == ["0 loans", "1 loan", "2 loans"]
    # A million is CLDR's `many` in French: the catalog has no such word, `other` says it.
    assert said(fr, 1_000_000) == "1000000 prêts"


def test_months_and_lists_are_said_in_the_locales_way() -> None:
    fr, en = Formats("fr"), Formats("en")
    assert (fr.month(date(2024, 3, 1)), en.month(date(2024, 3, 1))) == ("mars 2024", "March 2024")
    assert fr.joined(["a", "b", "c"]) == "a, b et c"
    assert en.joined(iter(["a", "b", "c"])) == "a, b, and c"
    assert en.joined([]) == ""


def test_a_locale_not_supported_is_french() -> None:
    assert Words("de").locale == Words("").locale == supported_locale("pt-BR") == "fr"
    assert Words("en-GB").locale == "en"
