"""Words and formats for people: the catalog of each locale, Babel's formats, events in words
and the templates' set-up, used alike by the pages (api/web), the e-mails and the reports
(notify). Nothing user-facing is written in code: the words are in `catalog/<locale>/*.toml`."""

from i18n.events import catalog_sentence, event_args, event_label, event_text, line_named
from i18n.formats import Formats, decimal, utc_day
from i18n.templates import environment
from i18n.words import BABEL_LOCALES, DEFAULT_LOCALE, LOCALES, Words, catalog, supported_locale

__all__ = [
    "BABEL_LOCALES",
    "DEFAULT_LOCALE",
    "LOCALES",
    "Formats",
    "Words",
    "catalog",
    "catalog_sentence",
    "decimal",
    "environment",
    "event_args",
    "event_label",
    "event_text",
    "line_named",
    "supported_locale",
    "utc_day",
]
