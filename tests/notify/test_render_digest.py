"""A digest tells each held event as its own e-mail would, in that e-mail's language, within a
frame in the address's; one event alone is its own e-mail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.events import Event
from notify.emails import Held, render_digest, render_email

AT = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def held(seq: int, about: str, locale: str, **data: object) -> Held:
    return Held(about, Event(seq=seq, type=about, at=AT, data=data), locale)


CHECK_IN = held(2, "CheckInSubmitted", "fr", check_in="c2", period=2, phase="emergence")
REQUEST = held(3, "TransitionRequested", "en", action="pause", reason="<b>On souffle</b>")


def test_each_event_is_told_as_its_own_email_tells_it() -> None:
    digest = render_digest([CHECK_IN, REQUEST], "ruche", "Ruche", "fr")
    assert digest.subject == "Ruche — 2 notifications regroupées en un courriel"
    for item in (CHECK_IN, REQUEST):
        own = render_email(item.about, item.event, "ruche", "Ruche", item.locale)
        body = own.text.split("\n\n")[1]  # its sentence, after the greeting
        assert body in digest.text
        title = own.subject.removeprefix("Ruche — ")
        assert f'<h2 style="margin:0 0 8px;font-size:16px;color:#2f5d50;">{title}</h2>' in (
            digest.html.replace("&#39;", "'")
        )
    assert digest.text.startswith("Bonjour,\n\nPour ne pas encombrer votre boîte")
    assert "The collective asks to pause." in digest.text
    assert 'lang="fr"' in digest.html and '<section lang="en"' in digest.html
    # The frame in English: the events keep their own language.
    english = render_digest([CHECK_IN, REQUEST], "ruche", "Ruche", "en")
    assert english.subject == "Ruche — 2 notifications grouped in one e-mail"
    assert "point d'étape de la période 2" in english.text


def test_what_people_wrote_is_escaped_and_the_subject_stays_one_line() -> None:
    digest = render_digest([CHECK_IN, REQUEST], "ruche", "Ruche\r\nBcc: x@example.org", "en")
    assert "\n" not in digest.subject and "\r" not in digest.subject
    assert "<b>On souffle</b>" not in digest.html and "&lt;b&gt;On souffle" in digest.html
    assert "“<b>On souffle</b>”" in digest.text  # plain text needs no escaping


def test_one_event_alone_is_its_own_email() -> None:
    assert render_digest([REQUEST], "ruche", None, "fr") == render_email(
        REQUEST.about, REQUEST.event, "ruche", None, "en"
    )
    with pytest.raises(ValueError):
        render_digest([], "ruche", None, "fr")
