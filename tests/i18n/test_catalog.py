"""The catalogs: the same keys in French and English, with the same blanks to fill, and the
words of every event type."""

from __future__ import annotations

import string
from importlib import resources

import pytest

from domain.events import EVENT_TYPES
from i18n import catalog
from i18n.words import merged


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogs_hold_the_same_words_with_the_same_blanks() -> None:
    fr, en = catalog("fr"), catalog("en")
    assert set(fr) == set(en)
    assert {k: _fields(v) for k, v in fr.items()} == {k: _fields(v) for k, v in en.items()}
    for kind in EVENT_TYPES:
        assert (
            f"event.{kind}" in fr and f"event_text.{kind}" in fr and f"email.subject.{kind}" in fr
        )


def test_each_locale_has_the_same_files_each_under_500_lines() -> None:
    folder = resources.files("i18n") / "catalog"
    names = {
        locale: sorted(e.name for e in (folder / locale).iterdir() if e.name.endswith(".toml"))
        for locale in ("fr", "en")
    }
    assert names["fr"] == names["en"] and len(names["fr"]) > 1
    for locale, files in names.items():
        for name in files:
            text = (folder / locale / name).read_text(encoding="utf-8")
            assert len(text.splitlines()) <= 500, f"{locale}/{name}"
            # Each file holds the same keys in both locales, so a word is found where its
            # translation is.
            other = "en" if locale == "fr" else "fr"
            assert set(merged([(name, text)])) == set(
                merged([(name, (folder / other / name).read_text(encoding="utf-8"))])
            ), name


def test_a_key_said_in_two_files_is_refused_naming_both() -> None:
    one = '[web.done]\npaid = "Paid."\n'
    other = '[web]\n[web.done]\npaid = "Paid again."\n'
    assert merged([("a.toml", one), ("b.toml", '[web.done.more]\nx = "y"\n')]) == {
        "web.done.paid": "Paid.",
        "web.done.more.x": "y",
    }
    with pytest.raises(ValueError, match=r"web\.done\.paid is in both a\.toml and b\.toml"):
        merged([("a.toml", one), ("b.toml", other)])
