"""Rule 10: a release split between payees, each part rounded down, the rest to the last: the
split itself, and the ledger rows of a release (one per payee, the cooperation the
beneficiary)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.allocation import Share, split
from domain.money import cents
from tests.domain.helpers import grant, of_type, phase, phases, programme, simulate


def _shares(*pairs: tuple[str, str]) -> list[Share]:
    return [Share(payee=payee, share=Decimal(share)) for payee, share in pairs]


def test_rule_10_payee_split_to_the_cent() -> None:
    allocation = _shares(("coop", "0.3333"), ("host", "0.3333"), ("lab", "0.3334"))
    assert split(Decimal("100.00"), allocation) == [
        ("coop", Decimal("33.33")),
        ("host", Decimal("33.33")),
        ("lab", Decimal("33.34")),
    ]


def test_rule_10_parts_round_down_even_above_half_a_cent() -> None:
    # 0.07 × 0.5 = 0.035 and 10.01 × 0.7 = 7.007: down to 0.03 and 7.00, never up.
    assert split(Decimal("0.07"), _shares(("a", "0.5"), ("b", "0.5"))) == [
        ("a", Decimal("0.03")),
        ("b", Decimal("0.04")),
    ]
    assert split(Decimal("10.01"), _shares(("a", "0.7"), ("b", "0.3"))) == [
        ("a", Decimal("7.00")),
        ("b", Decimal("3.01")),
    ]


def test_rule_10_single_payee_takes_everything() -> None:
    assert split(Decimal("8000.00"), _shares(("coop", "1"))) == [("coop", Decimal("8000.00"))]


def test_rule_10_zero_amount_splits_into_zero_parts() -> None:
    parts = split(Decimal("0"), _shares(("a", "0.25"), ("b", "0.75")))
    assert parts == [("a", Decimal("0.00")), ("b", Decimal("0.00"))]


def test_rule_10_long_shares_are_exact() -> None:
    # Shares of 40 decimals go beyond the default 28-digit context, which would round a sum
    # that misses 1 by 1E-40 to exactly 1 and accept it.
    third = "0." + "3" * 40
    allocation = _shares(("a", third), ("b", third), ("c", "0." + "3" * 39 + "4"))
    parts = split(Decimal("1000.00"), allocation)
    assert parts == [("a", Decimal("333.33")), ("b", Decimal("333.33")), ("c", Decimal("333.34"))]
    short = _shares(("a", third), ("b", third), ("c", third))
    with pytest.raises(ValueError, match="must add up to exactly 1"):
        split(Decimal("1000.00"), short)


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ([], "at least one payee"),
        ([("a", "0.5"), ("b", "0.4")], "must add up to exactly 1"),
        ([("a", "0.5"), ("b", "0.5"), ("c", "0.0001")], "must add up to exactly 1"),
        ([("a", "0.3333"), ("b", "0.3333"), ("c", "0.3333")], "must add up to exactly 1"),
    ],
)
def test_rule_10_shares_must_sum_to_one(shares: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split(Decimal("100.00"), _shares(*shares))


@pytest.mark.parametrize("amount", ["-1.00", "10.005", "Infinity"])
def test_rule_10_amount_must_be_non_negative_cents(amount: str) -> None:
    with pytest.raises(ValueError, match="amount to split"):
        split(Decimal(amount), _shares(("a", "1")))


@pytest.mark.parametrize("share", ["0", "-0.5", "1.0001", "NaN", 0.5, 1])
def test_rule_10_share_is_a_decimal_in_0_1(share: object) -> None:
    with pytest.raises(ValidationError):
        Share.model_validate({"payee": "a", "share": share})


def test_rule_10_share_accepts_text() -> None:
    assert Share.model_validate({"payee": "a", "share": "0.25"}).share == Decimal("0.25")


@st.composite
def _allocations(draw: st.DrawFn) -> list[Share]:
    weights = draw(st.lists(st.integers(1, 1000), min_size=1, max_size=8))
    whole = sum(weights)
    # Each share is its weight's fraction rounded down at 4 decimals (at least 0.0001, as a
    # weight is at least 1/8000 of the whole), the last takes the rest so the sum is exactly 1.
    shares = [Decimal(w * 10_000 // whole).scaleb(-4) for w in weights[:-1]]
    shares.append(Decimal(1) - sum(shares, Decimal(0)))
    return [Share(payee=f"payee-{i}", share=s) for i, s in enumerate(shares)]


@settings(max_examples=500, deadline=None)
@given(
    amount=st.integers(0, 10**13).map(lambda c: Decimal(c).scaleb(-2)),
    allocation=_allocations(),
)
def test_rule_10_split_properties(amount: Decimal, allocation: list[Share]) -> None:
    parts = split(amount, allocation)
    assert sum(part for _, part in parts) == amount
    assert all(part >= 0 for _, part in parts)
    assert [payee for payee, _ in parts] == [s.payee for s in allocation]
    assert [part for _, part in parts[:-1]] == [cents(amount * s.share) for s in allocation[:-1]]
    assert all(part == part.quantize(Decimal("0.01")) for _, part in parts)


# ---------------------------------------------------------------------------------------
# A release in a cooperation's ledger


def test_rule_10_release_split_between_payees() -> None:
    prog = programme(phases=phases(emergence=[grant("e", "entry", amount="1000.00")]))
    allocation = [
        {"payee": "asso", "share": "0.3333"},
        {"payee": "scop", "share": "0.3333"},
        {"payee": "hote", "share": "0.3334"},
    ]
    result = simulate(
        [prog],
        [],
        until="P1D",
        fiscal_host="hote",
        members=[
            {"id": "asso", "name": "A", "legal_form": "association"},
            {"id": "scop", "name": "S", "legal_form": "cooperative"},
        ],
        funding_lines=[{"programme": "prog", "allocation": allocation}],
    )
    assert [(r.payee, str(r.amount), r.beneficiary) for r in result.ledger] == [
        ("asso", "333.30", "ruche"),
        ("scop", "333.30", "ruche"),
        ("hote", "333.40", "ruche"),
    ]
    (released,) = of_type(result.events, "TrancheReleased")
    assert sum(Decimal(p["amount"]) for p in released.data["parts"]) == Decimal("1000.00")


def test_rule_10_split_rounds_down_and_gives_remainder_to_last() -> None:
    prog = programme(phases={"emergence": phase([grant("e", "entry", "1000.01")])})
    members = [{"id": f"m{i}", "name": f"M{i}", "legal_form": "association"} for i in (1, 2, 3)]
    allocation = [
        {"payee": "m1", "share": "0.333"},
        {"payee": "m2", "share": "0.333"},
        {"payee": "m3", "share": "0.334"},
    ]
    result = simulate(
        [prog],
        [],
        members=members,
        funding_lines=[{"programme": "prog", "allocation": allocation}],
        until="P1D",
    )
    # 1000.01 × 0.333 = 333.00333 → 333.00 (down), twice; the last: 1000.01 − 666.00.
    assert [(r.payee, str(r.amount), r.beneficiary) for r in result.ledger] == [
        ("m1", "333.00", "ruche"),
        ("m2", "333.00", "ruche"),
        ("m3", "334.01", "ruche"),
    ]
