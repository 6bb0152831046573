"""Rule 19's e-mail: a versement not paid by its due date (`VersementLate`, recorded by the
rules at due + P1D) tells the line's funder and the facilitator what was ordered, when, to
whom, and by when it was to be paid, in French and in English."""

from __future__ import annotations

import json

import pytest

from domain import commands as c
from domain.effects import Notify
from domain.report_content import build_report
from notify.emails import render_email
from notify.reports import render_report
from tests.domain.helpers import Shell, at, cooperation, grant, of_type, phase, programme, version

NBSP, NNBSP = "\xa0", "\u202f"


def _late() -> tuple[Shell, c.Actor]:
    spec = programme(
        pid="region-2027",
        funder="region",
        payment_within="P60D",
        phases={"emergence": phase([grant("amorcage", "entry", amount="8000.00")])},
    )
    coop = cooperation(fiscal_host="pole-107", funding_lines=["region-2027"])
    shell = Shell(coop, [version(spec)], at(2027, 2, 15))
    shell.clock(at(2027, 4, 30))
    return shell, c.Actor(role="funder", id="region")


@pytest.mark.parametrize(
    ("locale", "subject", "sentence", "date"),
    [
        (
            "fr",
            f"Ruche — Versement en retard{NBSP}: 8{NNBSP}000,00{NBSP}€ à pole-107",
            f"Le versement de 8{NNBSP}000,00{NBSP}€ de la tranche amorcage (ligne region-2027) à "
            f"pole-107, ordonné le 15 février 2027, n'est pas payé{NBSP}: il était à payer au "
            "plus tard le 16 avril 2027.",
            "17 avril 2027",
        ),
        (
            "en",
            "Ruche — Payment late: €8,000.00 to pole-107",
            "The payment of €8,000.00 of tranche amorcage (line region-2027) to pole-107, "
            "ordered on February 15, 2027, is not paid: it was to be paid by April 16, 2027.",
            "April 17, 2027",
        ),
    ],
)
def test_the_late_versement_email_says_what_is_owed_and_since_when(
    locale: str, subject: str, sentence: str, date: str
) -> None:
    shell, _ = _late()
    (late,) = of_type(shell.events, "VersementLate")
    told = sorted(
        (n.to_role, n.to) for n in shell.effects if isinstance(n, Notify) and n.seq == late.seq
    )
    assert told == [("facilitator", "tiers"), ("funder", "region")]
    email = render_email("VersementLate", late, "ruche", "Ruche", locale)
    assert email.subject == subject
    assert f"\n{sentence}\n" in email.text
    assert date in email.text  # the event's own date: due + P1D
    assert "region-2027" in email.html and f'<html lang="{locale}">' in email.html


def test_the_paid_versement_reads_with_its_dates() -> None:
    shell, funder = _late()
    (paid,) = shell.do(
        c.RecordPaid(line="region-2027", tranche="amorcage", paid_on="2027-05-10", by=funder),
        at(2027, 5, 10),
    )
    email = render_email("VersementPaid", paid, "ruche", "Ruche", "fr")
    assert email.subject == f"Ruche — Versement payé{NBSP}: 8{NNBSP}000,00{NBSP}€ à pole-107"
    assert "ordonné le 15 février 2027, est payé le 10 mai 2027." in email.text


def test_a_report_says_what_the_period_ordered_and_what_it_paid() -> None:
    shell, funder = _late()
    shell.do(
        c.RecordPaid(line="region-2027", tranche="amorcage", paid_on="2027-05-10", by=funder),
        at(2027, 5, 10),
    )
    events = [e.model_dump() for e in shell.events]
    spec = shell.state.lines[0].programme.spec if shell.state else None
    first = build_report(
        "ruche", "region-2027", at(2027, 2, 15), at(2027, 3, 31), events, programme=spec
    )
    second = build_report(
        "ruche", "region-2027", at(2027, 3, 31), at(2027, 6, 30), events, programme=spec
    )
    assert [(v["payee"], v["amount"], v["due_on"]) for v in first["versements"]["ordered"]] == [
        ("pole-107", "8000.00", "2027-04-16")
    ]
    assert first["versements"]["paid"] == [] and first["versements"]["paid_total"] == "0.00"
    assert second["versements"]["ordered"] == []
    assert [(v["paid_on"], v["days_late"]) for v in second["versements"]["paid"]] == [
        ("2027-05-10", 24)
    ]
    assert [v["due_on"] for v in second["versements"]["late"]] == ["2027-04-16"]
    markdown = render_report(json.loads(json.dumps(second | {"period": 2})), "fr", "markdown")
    assert "## Versements ordonnés et payés" in markdown
    assert (
        f"| 10 mai 2027 | amorcage | pole-107 | 8{NNBSP}000,00{NBSP}€ | 16 avril 2027 | 24 |"
        in markdown
    )
    assert f"- Total payé sur la période : 8{NNBSP}000,00{NBSP}€\n" in markdown
    html = render_report(json.loads(json.dumps(second | {"period": 2})), "en", "html")
    assert '<section id="versements">' in html and "<h3>Paid in the period</h3>" in html
