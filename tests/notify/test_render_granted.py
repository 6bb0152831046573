"""Rule 17 in words: a line of a granted programme is proposed without an amount (its funder
grants one when accepting), and its e-mail and timeline sentence say so, in both locales,
rather than an amount of nothing or the generic sentence."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import commands as c
from i18n import Formats, Words, event_text
from tests.domain.helpers import Shell, at, cooperation, of_type, phase, programme, version


def _proposed_event_data(granted: bool) -> dict[str, object]:
    spec = programme(
        phases={
            "emergence": phase([{"id": "a", "share": "1", "purpose": "animation", "when": "entry"}])
        },
        amounts="granted",
    )
    shell = Shell(
        cooperation(funding_lines=["prog"]),
        [version(spec)],
        at(2027, 1, 4),
        accepted=False,
    )
    if granted:
        shell.do(c.AcceptLine(line="prog", amount=Decimal("1200.00")), at(2027, 1, 5))
        (event,) = of_type(
            shell.do(c.CommitmentCommitted(line="prog"), at(2027, 1, 5)), "FundingLineAttached"
        )
    else:
        (event,) = of_type(shell.events, "FundingLineProposed")
    return event.data


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("fr", "son financeur lui accordera un montant en l'acceptant"),
        ("en", "its funder grants it an amount when accepting it"),
    ],
)
def test_a_granted_line_proposed_is_told_without_an_amount(locale: str, words: str) -> None:
    data = _proposed_event_data(granted=False)
    assert "amount" not in data
    sentence, _ = event_text(
        "FundingLineProposed", "2027-01-04T00:00:00Z", data, Formats(locale), Words(locale)
    )
    assert words in sentence and "prog" in sentence


def test_once_granted_the_attachment_says_the_amount_committed() -> None:
    data = _proposed_event_data(granted=True)
    assert (data["amount"], data["granted"]) == ("1200.00", "1200.00")
    sentence, _ = event_text(
        "FundingLineAttached", "2027-01-05T00:00:00Z", data, Formats("fr"), Words("fr")
    )
    assert "1\u202f200,00\u00a0€" in sentence
