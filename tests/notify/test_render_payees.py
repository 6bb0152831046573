"""The e-mail about a proposed line tells its funder whom the line pays, in what shares, and
for how much, and warns first when the facilitator proposing it would itself be paid (DESIGN.md,
"A funder sees what it accepts")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from markupsafe import escape

from domain.events import Event
from domain.payees import Parties
from notify.emails import render_email

NBSP, NNBSP = "\u00a0", "\u202f"

PROPOSED: dict[str, Any] = {
    "line": "fdt",
    "programme": "fdt",
    "version": 1,
    "funder": "fondation",
    "amount": "46000.00",
    "currency": "EUR",
    "allocation": [
        {"payee": "pole-107", "share": "0.6"},
        {"payee": "atelier", "share": "0.4"},
    ],
    "angle": None,
}

SELF_PAID = Parties(
    facilitator="pole-107", fiscal_host="pole-107", names={"atelier": "Atelier <vélo>"}
)
HOSTED = Parties(facilitator="anim", fiscal_host="pole-107", names={"atelier": "Atelier <vélo>"})

EXPECTED = {
    "fr": {
        "amount": f"pour un montant possible de 46{NNBSP}000,00{NBSP}€",
        "warning": (
            f"Attention{NBSP}: le tiers facilitateur qui propose cette ligne, pole-107, en serait "
            f"lui-même bénéficiaire{NBSP}; accepter la ligne, c'est aussi accepter ce bénéficiaire."
        ),
        "host": f"Part de pole-107, structure porteuse{NBSP}: 60{NBSP}% de chaque versement.",
        "member": f"Part de Atelier <vélo> (atelier), membre{NBSP}: 40{NBSP}% de chaque versement.",
    },
    "en": {
        "amount": "for a potential amount of €46,000.00",
        "warning": (
            "Warning: the facilitator proposing this line, pole-107, would itself be paid by it; "
            "accepting the line accepts that payee too."
        ),
        "host": "Share of pole-107, fiscal host: 60% of each release.",
        "member": "Share of Atelier <vélo> (atelier), member: 40% of each release.",
    },
}


def _proposed(data: dict[str, Any] = PROPOSED) -> Event:
    at = datetime(2027, 4, 18, tzinfo=UTC)
    return Event(seq=3, type="FundingLineProposed", at=at, data=data)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_self_paying_facilitator_is_named_first_then_each_payee_with_its_share(
    locale: str,
) -> None:
    said = EXPECTED[locale]
    email = render_email(
        "FundingLineProposed",
        _proposed(),
        "ressourcerie",
        "Ressourcerie",
        locale,
        parties=SELF_PAID,
    )
    text = email.text
    assert said["amount"] in text
    # The warning comes before the payees, which come in the allocation's order.
    positions = [text.index(said[part]) for part in ("warning", "host", "member")]
    assert positions == sorted(positions)
    for part in ("warning", "host", "member"):
        assert str(escape(said[part])) in email.html, part
    # An organisation's name is text in the HTML, never markup.
    assert "Atelier <vélo>" not in email.html


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_line_paying_the_host_of_another_facilitator_has_no_warning(locale: str) -> None:
    said = EXPECTED[locale]
    email = render_email(
        "FundingLineProposed", _proposed(), "ressourcerie", None, locale, parties=HOSTED
    )
    assert said["host"] in email.text and said["member"] in email.text
    assert said["warning"] not in email.text
    assert ("Attention" if locale == "fr" else "Warning") not in email.text


def test_without_the_parties_the_payees_and_shares_are_still_said() -> None:
    email = render_email("FundingLineProposed", _proposed(), "ressourcerie", None, "en")
    assert "Share of pole-107: 60% of each release." in email.text
    assert "Share of atelier: 40% of each release." in email.text


def test_an_allocation_recorded_otherwise_leaves_the_sentence_alone() -> None:
    for allocation in (None, "pole-107", [{"payee": "pole-107"}], [{"payee": "x", "share": "y"}]):
        email = render_email(
            "FundingLineProposed",
            _proposed({**PROPOSED, "allocation": allocation}),
            "ressourcerie",
            None,
            "en",
            parties=SELF_PAID,
        )
        assert "for a potential amount of €46,000.00" in email.text
        assert "Share of" not in email.text
