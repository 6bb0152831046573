"""The e-mail of every notified event, in French and English: its subject and sentence, one
compared with the expected files in `expected/`, escaping of what users wrote, and French for
any locale not supported."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from domain.events import EVENT_TYPES, Event
from notify.emails import render_email
from tests.notify.test_reports import NBSP, NNBSP, expect


def event(kind: str, data: dict[str, Any], day: str = "2027-04-18") -> Event:
    at = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return Event(seq=42, type=kind, at=at, data=data)  # type: ignore[arg-type]


CHECK_IN = {"stint": 1, "phase": "emergence", "period": 3, "due": "2027-04-04T00:00:00Z"}
INSTALLMENT = {
    "line": "fdt",
    "tranche": "pret",
    "installment": 2,
    "due": "2027-07-02",
    "principal": "3333.33",
    "interest": "27.40",
    "paid": "0.00",
    "currency": "EUR",
}
FR_EUR = f"{NBSP}€"

# Who is told what (domain/lifecycle: `ctx.notify`), with the words they get: the data of
# the event, then (subject, sentence) in French, then in English.
NOTIFIED: dict[str, tuple[dict[str, Any], tuple[str, str], tuple[str, str]]] = {
    # Rule 20: an amendment (avenant) to the funder, its decision to the facilitator.
    "LineAmendmentProposed": (
        {
            "line": "fdt",
            "programme": "fdt",
            "funder": "fondation",
            "allocation": [{"payee": "asso-ruche", "share": "1"}],
            "previous_allocation": [{"payee": "pole-107", "share": "1"}],
        },
        (
            "Avenant à confirmer",
            "Un avenant à la ligne fdt est proposé : il change qui la ligne paie. Il attend "
            "votre décision ; d'ici là, les versements de la ligne qui arrivent à échéance "
            "sont retenus.",
        ),
        (
            "Amendment to confirm",
            "An amendment to line fdt is proposed: it changes whom the line pays. It awaits "
            "your decision; meanwhile the line's releases falling due are held.",
        ),
    ),
    "LineAmended": (
        {"line": "fdt", "programme": "fdt", "amendment": 12, "note": "Signé"},
        (
            "Avenant accepté",
            "L'avenant à la ligne fdt est accepté : la ligne paie désormais selon la nouvelle "
            "répartition.",
        ),
        (
            "Amendment accepted",
            "The amendment to line fdt is accepted: the line now pays the new allocation.",
        ),
    ),
    "LineAmendmentDeclined": (
        {"line": "fdt", "programme": "fdt", "amendment": 12},
        (
            "Avenant refusé",
            "L'avenant à la ligne fdt est refusé : la ligne garde sa répartition.",
        ),
        (
            "Amendment declined",
            "The amendment to line fdt is declined: the line keeps its allocation.",
        ),
    ),
    "CheckInReminderSent": (
        CHECK_IN,
        (
            "Point d'étape attendu le 4 avril 2027",
            "Petit rappel : le point d'étape de la période 3 est attendu le 4 avril 2027. "
            "Quelques lignes et vos indicateurs suffisent.",
        ),
        (
            "Check-in due on April 4, 2027",
            "A friendly reminder: the check-in for period 3 is due on April 4, 2027. "
            "A few lines and your indicators are enough.",
        ),
    ),
    "CheckInOverdue": (
        CHECK_IN,
        (
            "Point d'étape en retard (période 3)",
            "Le point d'étape de la période 3, attendu le 4 avril 2027, n'a pas été déposé. "
            "Un échange avec le collectif est recommandé ; aucune pénalité n'est appliquée.",
        ),
        (
            "Check-in overdue (period 3)",
            "The check-in for period 3, due on April 4, 2027, has not been submitted. "
            "A conversation with the collective is advised; no penalty applies.",
        ),
    ),
    "CheckInSubmitted": (
        {"check_in": "ci-3", "stint": 1, "phase": "emergence", "period": 2, "replaces": "ci-2"},
        (
            "Point d'étape à valider (période 2)",
            "Le collectif a déposé son point d'étape de la période 2 ; il attend votre validation.",
        ),
        (
            "Check-in to review (period 2)",
            "The collective submitted its check-in for period 2; it awaits your review.",
        ),
    ),
    "FundingLineProposed": (
        {
            "line": "fdt",
            "programme": "fdt",
            "funder": "fondation",
            "amount": "41000.00",
            "currency": "EUR",
            "angle": {"summary": "Réparer ensemble"},
        },
        (
            "Une ligne de financement attend votre décision",
            "Une ligne de financement de votre programme fdt est proposée pour cette "
            f"coopération, pour un montant possible de 41{NNBSP}000,00{FR_EUR}. Elle attend "
            "votre décision : l'accepter engage ce montant sur votre budget.",
        ),
        (
            "A funding line awaits your decision",
            "A funding line of your programme fdt is proposed for this cooperation, for a "
            "potential amount of €41,000.00. It awaits your decision: accepting it commits "
            "this amount against your budget.",
        ),
    ),
    "Pivoted": (
        {"phase": "experimentation", "objectives": "Un atelier vélo", "reason": "le quartier"},
        (
            "La coopération se réoriente",
            "La coopération se réoriente : elle reste dans la phase d'expérimentation et garde "
            "ses financements, avec de nouveaux objectifs.",
        ),
        (
            "The cooperation is pivoting",
            "The cooperation is pivoting: it stays in the experimentation phase and keeps its "
            "funding, with new objectives.",
        ),
    ),
    "Restarted": (
        {"from": "experimentation", "to": "emergence", "reason": "départ d'un membre"},
        (
            "La coopération redémarre",
            "La coopération redémarre : retour à la phase d'émergence, depuis la phase "
            "d'expérimentation.",
        ),
        (
            "The cooperation restarts",
            "The cooperation restarts: back to the emergence phase, from the experimentation "
            "phase.",
        ),
    ),
    "PhaseOverran": (
        {
            "stint": 1,
            "phase": "emergence",
            "max_duration": "P12M",
            "since": "2027-01-04T00:00:00Z",
        },
        (
            "Durée maximale de phase dépassée",
            "La coopération est dans la phase d'émergence depuis le 4 janvier 2027, au-delà de "
            f"la durée maximale prévue (12{NBSP}mois). Rien ne change automatiquement : à vous de "
            "faire le point avec le collectif.",
        ),
        (
            "Maximum phase duration exceeded",
            "The cooperation has been in the emergence phase since January 4, 2027, beyond the "
            "planned maximum (12 months). Nothing changes automatically: please take stock "
            "with the collective.",
        ),
    ),
    "TransitionRequested": (
        {
            "action": "advance",
            "to": "structuring",
            "reason": "prêts",
            "phase": "experimentation",
        },
        (
            "Le collectif demande une transition",
            "Le collectif souhaite passer à la phase de structuration. À vous de décider : "
            "agir, ou décliner la demande en donnant une raison.",
        ),
        (
            "The collective requests a transition",
            "The collective asks to move to the structuring phase. It is yours to decide: act "
            "on it, or decline it with a reason.",
        ),
    ),
    "TransitionRequestDeclined": (
        {"request": 12, "action": "pause", "reason": "trop tôt"},
        (
            "Demande de pause non retenue",
            "Votre demande de pause n'a pas été retenue par le tiers facilitateur.",
        ),
        ("Request to pause declined", "Your request to pause was declined by the facilitator."),
    ),
    "LoanInstallmentReminderSent": (
        INSTALLMENT,
        (
            "Échéance de prêt le 2 juillet 2027",
            f"L'échéance 2 du prêt pret tombe le 2 juillet 2027 : 3{NNBSP}360,73{FR_EUR}, "
            f"dont 3{NNBSP}333,33{FR_EUR} de capital et 27,40{FR_EUR} d'intérêts.",
        ),
        (
            "Loan installment due on July 2, 2027",
            "Installment 2 of loan pret falls due on July 2, 2027: €3,360.73, of which "
            "€3,333.33 principal and €27.40 interest.",
        ),
    ),
    "LoanInstallmentOverdue": (
        {**INSTALLMENT, "paid": "1000.00", "owed": "2360.73"},
        (
            "Échéance de prêt impayée",
            "L'échéance 2 du prêt pret, due le 2 juillet 2027, n'est pas entièrement "
            f"remboursée : il reste 2{NNBSP}360,73{FR_EUR} à régler.",
        ),
        (
            "Loan installment overdue",
            "Installment 2 of loan pret, due on July 2, 2027, is not fully repaid: €2,360.73 "
            "is still owed.",
        ),
    ),
    "LoanWrittenOff": (
        {
            "line": "fdt",
            "tranche": "pret",
            "amount": "19117.63",
            "principal": "19000.00",
            "interest": "117.63",
            "currency": "EUR",
            "reason": "fermeture du local",
            "by": "fondation",
        },
        (
            "Abandon de créance sur le prêt pret",
            f"Le financeur renonce à ce qui restait dû sur le prêt pret : 19{NNBSP}117,63"
            f"{FR_EUR}, dont 19{NNBSP}000,00{FR_EUR} de capital et 117,63{FR_EUR} "
            "d'intérêts. Le prêt est soldé.",
        ),
        (
            "Loan pret written off",
            "The funder has written off what remained due on loan pret: €19,117.63, of which "
            "€19,000.00 principal and €117.63 interest. The loan is settled.",
        ),
    ),
    # Rule 19: to the line's funder and the facilitator.
    "VersementLate": (
        {
            "line": "fdt",
            "programme": "fdt",
            "tranche": "amorcage",
            "payee": "pole-107",
            "amount": "8000.00",
            "currency": "EUR",
            "ordered_at": "2027-02-15T00:00:00Z",
            "due_on": "2027-04-16",
        },
        (
            f"Versement en retard{NBSP}: 8{NNBSP}000,00{FR_EUR} à pole-107",
            f"Le versement de 8{NNBSP}000,00{FR_EUR} de la tranche amorcage (ligne fdt) à "
            f"pole-107, ordonné le 15 février 2027, n'est pas payé{NBSP}: il était à payer au "
            "plus tard le 16 avril 2027.",
        ),
        (
            "Payment late: €8,000.00 to pole-107",
            "The payment of €8,000.00 of tranche amorcage (line fdt) to pole-107, ordered on "
            "February 15, 2027, is not paid: it was to be paid by April 16, 2027.",
        ),
    ),
}


def test_every_notified_event_type_has_its_words() -> None:
    # The domain's notifications (grep `ctx.notify(` in domain/lifecycle) are all here.
    lifecycle = Path(__file__).resolve().parents[2] / "domain" / "lifecycle"
    # A notice's type is written at the call, or chosen just before it as `about`.
    notified = {
        found
        for path in lifecycle.glob("*.py")
        for pattern in (r'ctx\.notify\(\s*"\w+",[^,]+,\s*"(\w+)"', r'\babout, \w+ = "(\w+)"')
        for found in re.findall(pattern, path.read_text())
    }
    assert notified == set(NOTIFIED)


@pytest.mark.parametrize("kind", list(NOTIFIED))
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_an_email_says_what_happened(kind: str, locale: str) -> None:
    data, fr, en = NOTIFIED[kind]
    subject, sentence = fr if locale == "fr" else en
    email = render_email(kind, event(kind, data), "ressourcerie", "Ressourcerie du Bourg", locale)
    assert email.subject == f"Ressourcerie du Bourg — {subject}"
    assert f"\n{sentence}\n" in email.text
    assert str(escape(sentence)) in email.html
    assert f'<html lang="{locale}">' in email.html


def test_an_email_reads_as_expected() -> None:
    overdue = event("LoanInstallmentOverdue", NOTIFIED["LoanInstallmentOverdue"][0], "2027-08-01")
    pivot = event("Pivoted", NOTIFIED["Pivoted"][0], "2027-06-01")
    link = "https://coopflow.example/v1/cooperations/ressourcerie"
    for locale in ("fr", "en"):
        email = render_email(
            "LoanInstallmentOverdue", overdue, "ressourcerie", "Ressourcerie du Bourg", locale, link
        )
        expect(f"email.{locale}.txt", f"Subject: {email.subject}\n\n{email.text}")
        expect(f"email.{locale}.html", email.html)
        pivoted = render_email("Pivoted", pivot, "ressourcerie", None, locale)
        expect(f"email.pivoted.{locale}.txt", f"Subject: {pivoted.subject}\n\n{pivoted.text}")


@pytest.mark.parametrize("kind", EVENT_TYPES)
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_an_email_about_any_event_type_says_something(kind: str, locale: str) -> None:
    # With its usual data, and with none (an event of older rules): never an error.
    data = NOTIFIED[kind][0] if kind in NOTIFIED else {}
    for given in (data, {}):
        email = render_email(kind, event(kind, given), "ressourcerie", None, locale)
        assert email.subject.startswith("ressourcerie — ")
        assert email.text.strip() and "</html>" in email.html


def test_an_email_escapes_what_users_wrote_and_keeps_its_subject_on_one_line() -> None:
    data = {"phase": "emergence", "objectives": "<script>x</script>", "reason": "a & b"}
    email = render_email("Pivoted", event("Pivoted", data), "c", "Nom\r\nBcc: x@y <i>", "fr")
    assert email.subject == "Nom Bcc: x@y <i> — La coopération se réoriente"
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert "a &amp; b" in email.html and "&lt;i&gt;" in email.html
    assert "«\xa0<script>x</script>\xa0»" in email.text  # plain text is not HTML


def test_an_unknown_locale_gets_the_french_email() -> None:
    data, _, _ = NOTIFIED["CheckInOverdue"]
    french = render_email("CheckInOverdue", event("CheckInOverdue", data), "c", "C", "fr")
    for locale in ("de", "", "xx_YY"):
        assert render_email("CheckInOverdue", event("CheckInOverdue", data), "c", "C", locale) == (
            french
        )


def test_the_amendment_to_confirm_names_whom_the_line_would_pay() -> None:
    data = NOTIFIED["LineAmendmentProposed"][0]
    email = render_email(
        "LineAmendmentProposed", event("LineAmendmentProposed", data), "r", None, "fr"
    )
    assert "avenant" in email.subject.lower()
    assert "asso-ruche" in email.text and "100" in email.text
