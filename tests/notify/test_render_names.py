"""Names where people expect names: an e-mail or a report calls a funding line by its
programme's name (a line is named by its programme's id, `fdt-9db4b9`), the id after it as a
hint in the facts; without the name (a programme gone), the id still reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.events import Event
from notify.emails import Held, render_digest, render_email
from notify.reports import render_report
from store.programmes import lines_of
from tests.notify.test_reports import content

LINE = "fdt-9db4b9"
NAMES = {LINE: "Fonds de transition territoriale"}


def _event(kind: str, data: dict[str, Any], seq: int = 42) -> Event:
    at = datetime(2027, 4, 18, tzinfo=UTC)
    return Event(seq=seq, type=kind, at=at, data=data)  # type: ignore[arg-type]


RELEASED = _event(
    "TrancheReleased",
    {
        "line": LINE,
        "tranche": "amorcage",
        "amount": "8000.00",
        "currency": "EUR",
        "purpose": "animation",
        "phase": "emergence",
    },
)
ATTACHED = _event(
    "FundingLineAttached",
    {"line": LINE, "programme": LINE, "amount": "46000.00", "currency": "EUR"},
    seq=43,
)


def test_an_e_mail_names_the_line_by_its_programme_and_keeps_the_id_as_a_hint() -> None:
    mail = render_email("TrancheReleased", RELEASED, "ruche", "La Ruche", "fr", programmes=NAMES)
    assert "La tranche amorcage de la ligne Fonds de transition territoriale est " in (mail.text)
    assert "Ligne de financement : Fonds de transition territoriale (fdt-9db4b9)" in mail.text
    assert "Fonds de transition territoriale (fdt-9db4b9)" in mail.html
    assert f"ligne {LINE}" not in mail.text


def test_an_e_mail_subject_names_the_programme() -> None:
    for locale, subject in (
        ("fr", "La Ruche — Ligne de financement Fonds de transition territoriale acceptée"),
        ("en", "La Ruche — Funding line Fonds de transition territoriale accepted"),
    ):
        mail = render_email(
            "FundingLineAttached", ATTACHED, "ruche", "La Ruche", locale, programmes=NAMES
        )
        assert mail.subject == subject
        assert LINE not in mail.subject


def test_without_its_name_a_line_keeps_its_id() -> None:
    mail = render_email("TrancheReleased", RELEASED, "ruche", "La Ruche", "fr")
    assert f"La tranche amorcage de la ligne {LINE} est " in mail.text
    assert f"Ligne de financement : {LINE}\n" in mail.text
    other = render_email("TrancheReleased", RELEASED, "ruche", "La Ruche", "fr", programmes={})
    assert other.text == mail.text


def test_a_digest_names_each_line() -> None:
    held = [Held("TrancheReleased", RELEASED, "fr"), Held("FundingLineAttached", ATTACHED, "fr")]
    assert lines_of(h.event for h in held) == [LINE]
    digest = render_digest(held, "ruche", "La Ruche", "fr", programmes=NAMES)
    assert "La tranche amorcage de la ligne Fonds de transition territoriale est " in digest.text
    assert "La ligne de financement Fonds de transition territoriale est acceptée" in digest.text
    assert f"ligne {LINE}" not in digest.text


def test_a_reports_facts_name_its_line_by_its_programme() -> None:
    for fmt in ("markdown", "html"):
        text = render_report(content(), "fr", fmt)  # type: ignore[arg-type]
        assert "Fonds des territoires (fdt)" in text
