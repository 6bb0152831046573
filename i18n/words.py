"""The words of the application: one catalog per locale (`i18n/catalog/<locale>/*.toml`, a
file per part of the application, the same files and keys in both), read by pages, e-mails
and reports alike."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from babel.core import Locale as BabelLocale

from domain.programme import Locale

LOCALES = tuple(locale.value for locale in Locale)
DEFAULT_LOCALE = "fr"
"""Programmes speak French unless they say otherwise (ProgrammeSpec.locale): so does any
locale this package does not know."""

BABEL_LOCALES = {"fr": "fr_FR", "en": "en"}
"""The Babel locale of each supported locale: amounts, dates, lists, months and plural forms
all follow it."""


def supported_locale(locale: str | None) -> str:
    """`fr` or `en` from a locale such as `en`, `en_GB` or `fr-FR`; French otherwise."""
    language = re.split(r"[-_]", (locale or "").strip().lower(), maxsplit=1)[0]
    return language if language in LOCALES else DEFAULT_LOCALE


@cache
def catalog(locale: str) -> Mapping[str, str]:
    """One locale's words, keyed `section.key` (nested TOML tables flattened), from all its
    files."""
    folder = resources.files("i18n") / "catalog" / locale
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    )
    return merged(files)


def merged(files: list[tuple[str, str]]) -> dict[str, str]:
    """The words of TOML `files` (name, text) flattened into one catalog. A key said in two
    files is refused: one of them would silently win."""
    flat: dict[str, str] = {}
    origin: dict[str, str] = {}

    def walk(name: str, prefix: str, table: Mapping[str, Any]) -> None:
        for key, value in table.items():
            if isinstance(value, Mapping):
                walk(name, f"{prefix}{key}.", value)
                continue
            full = f"{prefix}{key}"
            if full in flat:
                raise ValueError(f"catalog key {full} is in both {origin[full]} and {name}")
            flat[full] = str(value)
            origin[full] = name

    for name, text in files:
        walk(name, "", tomllib.loads(text))
    return flat


class Words:
    """One locale's catalog as templates and views use it: `words("report.title", x=...)`."""

    def __init__(self, locale: str) -> None:
        self.locale = supported_locale(locale)
        self._catalog = catalog(self.locale)

    def __call__(self, key: str, **args: Any) -> str:
        text = self._catalog[key]
        return text.format(**args) if args else text

    def has(self, key: str) -> bool:
        return key in self._catalog

    def word(self, section: str, value: Any) -> str:
        """The word for a code (a phase, a purpose, a legal form…), or the code itself when
        the catalog has none: legal forms are free text, and old data may hold old codes."""
        key = f"{section}.{value}"
        return self._catalog[key] if key in self._catalog else str(value)

    def plural(self, key: str, n: int, /, **args: Any) -> str:
        """`key.<plural form of n>` (CLDR's: `one`, `other`, `many`…), `key.other` when the
        catalog has no word for that form."""
        form = BabelLocale.parse(BABEL_LOCALES[self.locale]).plural_form(n)
        chosen = f"{key}.{form}" if self.has(f"{key}.{form}") else f"{key}.other"
        return self(chosen, **args)
