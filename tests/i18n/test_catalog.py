"""The catalogs: the same keys in French and English, with the same blanks to fill, and the
words of every event type."""

from __future__ import annotations

import string

from domain.events import EVENT_TYPES
from i18n import catalog


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
