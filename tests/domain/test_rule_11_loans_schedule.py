"""Rule 11: loans. The schedule (installment dates, principal shares, interest, reminders),
against the shared conformance vectors and as properties."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.durations import Duration, add, parse, subtract
from domain.loans import Installment, loan_reminders, loan_schedule
from domain.money import cents
from domain.tranche_terms import LoanTerms

_SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "loans.yaml"
# The shared vectors are the reference; the copy lets a clone without shared/ beside it still
# run them (refresh it when the shared file changes).
_COPY = Path(__file__).resolve().parent / "vectors" / "loans.yaml"
VECTORS = _SHARED if _SHARED.is_file() else _COPY


def _vectors() -> list[Any]:
    loans: list[Any] = []
    for i, vector in enumerate(yaml.safe_load(VECTORS.read_text(encoding="utf-8")), start=1):
        terms = dict(vector["loan"])
        principal = Decimal(terms.pop("amount"))
        loans.append(
            pytest.param(
                principal,
                LoanTerms(**terms),
                vector["disbursed"],
                vector["installments"],
                id=f"loan{i}-{vector['disbursed']}-{vector['loan']['term']}",
            )
        )
    return loans


@pytest.mark.parametrize(("principal", "terms", "disbursed", "expected"), _vectors())
def test_rule_11_loan_schedule_conformance(
    principal: Decimal, terms: LoanTerms, disbursed: date, expected: list[list[Any]]
) -> None:
    schedule = loan_schedule(principal, terms, disbursed)
    assert [(i.due, i.principal, i.interest) for i in schedule] == [
        (due, Decimal(p), Decimal(interest)) for due, p, interest in expected
    ]
    assert [i.number for i in schedule] == list(range(1, len(expected) + 1))
    # Money is compared as Decimals above; the texts also match, cents included.
    assert [[str(i.principal), str(i.interest)] for i in schedule] == [e[1:] for e in expected]


def _terms(**overrides: str) -> LoanTerms:
    base = {"annual_rate": "0.02", "grace": "P6M", "term": "P24M", "installment_every": "P6M"}
    return LoanTerms(**(base | overrides))


def test_rule_11_last_installment_moves_to_the_term() -> None:
    # P6M + 3 × P5M = P21M ≤ P24M < P26M: three installments, the third at the term.
    schedule = loan_schedule(Decimal("900.00"), _terms(installment_every="P5M"), date(2027, 1, 15))
    assert [i.due for i in schedule] == [date(2027, 12, 15), date(2028, 5, 15), date(2029, 1, 15)]
    assert [i.principal for i in schedule] == [Decimal("300.00")] * 3
    # The moved installment bears interest for the longer period it actually covers.
    assert schedule[-1].interest == Decimal("4.03")  # 300 × 0.02 × 245 / 365 = 4.027…


def test_rule_11_dates_added_in_one_step_from_month_end() -> None:
    schedule = loan_schedule(
        Decimal("300.00"),
        _terms(grace="P1M", installment_every="P1M", term="P4M"),
        date(2027, 1, 31),
    )
    # Chained, P1M steps from 31 January would stick to the 28th after February.
    assert [i.due for i in schedule] == [date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]


def test_rule_11_shares_rounded_down_remainder_on_last() -> None:
    schedule = loan_schedule(
        Decimal("100.00"),
        _terms(grace="P0D", installment_every="P3M", term="P9M"),
        date(2027, 1, 1),
    )
    assert [i.principal for i in schedule] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert schedule[0].total == schedule[0].principal + schedule[0].interest


def test_rule_11_zero_rate_has_no_interest() -> None:
    schedule = loan_schedule(Decimal("1000.00"), _terms(annual_rate="0"), date(2027, 5, 5))
    assert all(i.interest == 0 for i in schedule)


def test_rule_11_interest_rounds_half_even() -> None:
    # Exact ties: 36.50 × 0.01 × 5 / 365 = 0.005 goes to 0.00 and 109.50 × 0.01 × 5 / 365
    # = 0.015 to 0.02, the even cent, where half-up would give 0.01 and 0.02.
    tie_down = loan_schedule(
        Decimal("36.50"),
        _terms(annual_rate="0.01", grace="P0D", installment_every="P5D", term="P5D"),
        date(2027, 1, 1),
    )
    tie_up = loan_schedule(
        Decimal("109.50"),
        _terms(annual_rate="0.01", grace="P0D", installment_every="P5D", term="P5D"),
        date(2027, 1, 1),
    )
    assert tie_down[0].interest == Decimal("0.00")
    assert tie_up[0].interest == Decimal("0.02")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"term": "P11M"}, "must cover the grace and at least one installment"),
        ({"grace": "P12M", "term": "P12M"}, "must cover the grace and at least one installment"),
        ({"installment_every": "PT12H"}, "has a time part"),
        ({"term": "P24MT1H"}, "has a time part"),
    ],
)
def test_rule_11_incoherent_terms_are_refused(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        loan_schedule(Decimal("1000.00"), _terms(**overrides), date(2027, 1, 1))


@pytest.mark.parametrize("principal", ["0.00", "-5.00", "10.001", "NaN"])
def test_rule_11_principal_must_be_positive_cents(principal: str) -> None:
    with pytest.raises(ValueError, match="loan principal"):
        loan_schedule(Decimal(principal), _terms(), date(2027, 1, 1))


def test_rule_11_reminders_at_due_minus_reminder_before() -> None:
    terms = _terms(grace="P0D", installment_every="P1M", term="P3M")
    schedule = loan_schedule(Decimal("300.00"), terms, date(2027, 1, 31))
    assert [i.due for i in schedule] == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    assert loan_reminders(schedule, terms) == [
        (1, date(2027, 2, 14)),
        (2, date(2027, 3, 17)),
        (3, date(2027, 4, 16)),
    ]
    monthly = terms.model_copy(update={"reminder_before": "P1M"})
    assert loan_reminders(schedule, monthly) == [
        (1, date(2027, 1, 28)),
        (2, date(2027, 2, 28)),
        (3, date(2027, 3, 30)),
    ]


@pytest.mark.parametrize(
    ("moment", "duration", "expected"),
    [
        (date(2027, 3, 31), "P1M", date(2027, 2, 28)),
        (date(2028, 3, 31), "P1M", date(2028, 2, 29)),
        (date(2028, 2, 29), "P1Y", date(2027, 2, 28)),
        # Years and months in one step, as `add` does: not 28 January.
        (date(2028, 2, 29), "P1Y1M", date(2027, 1, 29)),
        (date(2027, 1, 15), "P1M", date(2026, 12, 15)),
        (date(2027, 1, 10), "P2W", date(2026, 12, 27)),
        (date(2027, 5, 31), "P1M1D", date(2027, 4, 29)),
        (date(2027, 1, 10), "P1DT12H", date(2027, 1, 9)),
        (datetime(2027, 1, 10, 6, 0), "PT12H", datetime(2027, 1, 9, 18, 0)),
        (datetime(2027, 3, 31, 9, 30), "P1MT30M", datetime(2027, 2, 28, 9, 0)),
    ],
)
def test_subtract_mirrors_add(moment: date, duration: str, expected: date) -> None:
    assert subtract(moment, duration) == expected
    assert subtract(moment, parse(duration)) == expected


@settings(max_examples=200, deadline=None)
@given(
    moment=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
    years=st.integers(0, 5),
    months=st.integers(0, 30),
    days=st.integers(0, 400),
)
def test_subtract_undoes_add_away_from_month_ends(
    moment: date, years: int, months: int, days: int
) -> None:
    moment = moment.replace(day=min(moment.day, 28))
    d = Duration(years=years, months=months)
    assert subtract(add(moment, d), d) == moment
    assert subtract(add(moment, Duration(days=days)), Duration(days=days)) == moment


def _iso(d: Duration) -> str:
    text = "P" + "".join(
        f"{n}{unit}" for n, unit in ((d.years, "Y"), (d.months, "M"), (d.days, "D")) if n
    )
    return text if text != "P" else "P0D"


_durations = st.builds(
    Duration, years=st.just(0), months=st.integers(0, 12), days=st.integers(0, 45)
)


@st.composite
def _loans(draw: st.DrawFn) -> tuple[Decimal, LoanTerms, date]:
    grace = draw(_durations)
    every = draw(_durations.filter(lambda d: not d.is_zero()))
    extra = draw(
        st.builds(
            Duration, years=st.integers(0, 3), months=st.integers(0, 24), days=st.integers(0, 60)
        )
    )
    # Adding non-negative parts in one step never moves a date back, so a term of
    # grace + every + extra always covers at least one installment.
    terms = LoanTerms(
        annual_rate=Decimal(draw(st.integers(0, 2000))).scaleb(-4),
        grace=_iso(grace),
        term=_iso(grace.plus(every).plus(extra)),
        installment_every=_iso(every),
    )
    principal = Decimal(draw(st.integers(1, 10**11))).scaleb(-2)
    disbursed = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 12, 31)))
    return principal, terms, disbursed


@settings(max_examples=500, deadline=None)
@given(loan=_loans())
def test_rule_11_schedule_properties(loan: tuple[Decimal, LoanTerms, date]) -> None:
    principal, terms, disbursed = loan
    schedule = loan_schedule(principal, terms, disbursed)
    n = len(schedule)
    end = add(disbursed, terms.term)

    assert sum(i.principal for i in schedule) == principal
    share = schedule[0].principal
    assert all(i.principal == share for i in schedule[:-1])
    assert share == cents(principal / n)
    assert 0 <= schedule[-1].principal - share < Decimal("0.01") * n

    dues = [i.due for i in schedule]
    assert all(a < b for a, b in zip([disbursed, *dues], dues, strict=False))
    assert dues[-1] == end
    grace, every = parse(terms.grace), parse(terms.installment_every)
    assert dues[:-1] == [add(disbursed, grace.plus(every.times(k))) for k in range(1, n)]
    # n counts every installment date that fits in the term, and no more.
    assert add(disbursed, grace.plus(every.times(n))) <= end
    assert add(disbursed, grace.plus(every.times(n + 1))) > end

    assert all(i.interest >= 0 for i in schedule)
    assert [i.number for i in schedule] == list(range(1, n + 1))
    assert all(isinstance(i, Installment) for i in schedule)
