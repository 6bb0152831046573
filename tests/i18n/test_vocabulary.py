"""One vocabulary on every page, e-mail and report (DESIGN.md, "Rules 3": *structure
porteuse*, *tiers facilitateur*, *réorientation*, *versement*, *convention*, *avenant*), and
legal forms in words: the French catalog and the templates say the contract's words and never
the ones it replaced (*porteur financier*, *pivot*, a bare *facilitateur*), and the English
catalog says the same thing where the French one does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from i18n import Words, catalog

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [
    *sorted((ROOT / "api" / "web" / "templates").glob("*.*")),
    *sorted((ROOT / "notify" / "templates").glob("*.*")),
]

# The words the contract replaced, as French prose says them.
BANNED = {
    "porteur financier": re.compile(r"\bporteu(r|rs|se|ses) financi(er|ers|ère|ères)\b", re.I),
    "pivot (the French word)": re.compile(r"\bpivot(er|e|es|ent|ons|ez|é|ée|és|ées|s)?\b", re.I),
    # The role is the *tiers* facilitateur; "facilitation" (the activity) is not the role.
    "facilitateur without tiers": re.compile(
        r"(?<!tiers )\bfacilitat(eur|eurs|rice|rices)\b", re.I
    ),
}

# What each of the contract's words names, by catalog key: the word must be in the French
# text, and the English one in the English text.
CONTRACT: dict[str, tuple[str, str | None]] = {
    "label.fiscal_host": ("structure porteuse", "fiscal host"),
    "web.coop.fiscal_host": ("structure porteuse", "fiscal host"),
    "web.funds.intro": ("structure porteuse", "fiscal host"),
    "label.facilitator": ("tiers facilitateur", "facilitator"),
    "web.coop.facilitator": ("tiers facilitateur", "facilitator"),
    "web.role.facilitator": ("tiers facilitateur", "facilitator"),
    "event.Pivoted": ("réorientation", "pivot"),
    "action_noun.pivot": ("réorientation", "pivot"),
    "action.pivot": ("réorienter", "pivot"),
    "web.move.name.pivot": ("réorienter", "pivot"),
    "email.subject.Pivoted": ("réorient", "pivot"),
    "event.TrancheReleased": ("versement", "release"),
    # Its English words are rule 19's to choose.
    "event.VersementPaid": ("versement payé", None),
    "event.ConventionSigned": ("convention", "convention"),
    "event.LineAmendmentProposed": ("avenant", "amendment"),
    "event.LineAmended": ("avenant", "amendment"),
    "event.LineAmendmentDeclined": ("avenant", "amendment"),
}

# The same concept, said in both catalogs wherever the French says it.
PAIRS = {
    "structure porteuse": "fiscal host",
    "tiers facilitateur": "facilitator",
    "réorient": "pivot",
    "avenant": "amendment",
}

# DESIGN.md, rule 20.
LEGAL_FORMS = (
    "informal",
    "association",
    "foundation",
    "cooperative",
    "scic",
    "scop",
    "company",
    "local_authority",
    "public_body",
    "other",
)


def _template_prose(path: Path) -> str:
    """What a template says on its own: its text without Jinja and without HTML tags (codes
    such as `pivot` in URLs and conditions are not words people read)."""
    text = re.sub(
        r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", path.read_text(encoding="utf-8"), flags=re.S
    )
    return re.sub(r"<[^>]*>", " ", text)


def test_the_checks_catch_the_words_they_are_for() -> None:
    caught = {
        "Le porteur financier reçoit les fonds.": "porteur financier",
        "Pivoter": "pivot (the French word)",
        "La coopération a pivoté.": "pivot (the French word)",
        "Votre facilitateur va le relire.": "facilitateur without tiers",
        "Facilitateur": "facilitateur without tiers",
    }
    for text, word in caught.items():
        assert BANNED[word].search(text), (word, text)
    for fine in ("Votre tiers facilitateur va le relire.", "Tiers facilitateur", "réorientation"):
        assert not any(pattern.search(fine) for pattern in BANNED.values()), fine


def test_the_french_catalog_never_says_the_replaced_words() -> None:
    found = [
        f"{key} = {text!r}: {word}"
        for key, text in catalog("fr").items()
        for word, pattern in BANNED.items()
        if pattern.search(text)
    ]
    assert found == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_template_says_the_replaced_words(path: Path) -> None:
    prose = _template_prose(path)
    assert [word for word, pattern in BANNED.items() if pattern.search(prose)] == []


def test_templates_are_scanned() -> None:
    # The scan above is only worth something if it reads the pages, e-mails and reports.
    names = {p.name for p in TEMPLATES}
    assert {"cooperation.html", "funds.html", "email.txt", "report.md"} <= names


@pytest.mark.parametrize("key", sorted(CONTRACT))
def test_the_contracts_words_name_their_concepts(key: str) -> None:
    french, english = CONTRACT[key]
    assert french in catalog("fr")[key].lower()
    if english is not None:
        assert english in catalog("en")[key].lower()


def test_english_says_the_same_concept_where_french_does() -> None:
    fr, en = catalog("fr"), catalog("en")
    missing = [
        f"{key}: {fr[key]!r} / {en[key]!r}"
        for key in fr
        for french, english in PAIRS.items()
        if french in fr[key].lower() and english not in en[key].lower()
    ]
    assert missing == []


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_legal_form_has_its_word(locale: str) -> None:
    words = Words(locale)
    for form in LEGAL_FORMS:
        assert words.has(f"legal_form.{form}"), form


def test_legal_forms_in_french_and_an_unknown_one_as_it_is() -> None:
    words = Words("fr")
    assert words.word("legal_form", "other") == "autre forme"
    assert words.word("legal_form", "informal") == "collectif informel"
    assert words.word("legal_form", "local_authority") == "collectivité territoriale"
    assert Words("en").word("legal_form", "other") == "other"
    # Recorded before rule 20 listed the forms: shown as recorded.
    assert words.word("legal_form", "SARL de famille") == "SARL de famille"
