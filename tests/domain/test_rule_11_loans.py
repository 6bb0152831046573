"""Rule 11: loans. The schedule (installment dates, principal shares, interest, reminders),
against the shared conformance vectors and as properties; a loan in a cooperation's life:
disbursed on release, due, reminded unless repaid, running after the close."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import commands as c
from domain.durations import Duration, add, parse, subtract
from domain.effects import Notify, PostRepayment
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.lifecycle import is_finished, next_wakeup
from domain.loans import Installment, loan_reminders, loan_schedule
from domain.money import cents
from domain.rules import upgrade
from domain.tranche_terms import LoanTerms
from tests.domain.helpers import (
    Shell,
    at,
    cooperation,
    dates,
    loan,
    of_type,
    phase,
    phases,
    programme,
    simulate,
    version,
)

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


# ---------------------------------------------------------------------------------------
# A loan in a cooperation's life


def test_rule_11_repaid_installment_skips_its_reminder_and_the_rest_go_overdue() -> None:
    loan = {
        "id": "pret",
        "amount": "20000.00",
        "purpose": "investment",
        "when": "entry",
        "instrument": {
            "loan": {
                "annual_rate": "0.01",
                "grace": "P6M",
                "term": "P15M",
                "installment_every": "P3M",
            }
        },
    }
    prog = programme(phases=phases(emergence=[loan]))
    result = simulate(
        [prog],
        [
            # Installment 1 (6666.66 + 150.14) repaid in full before its reminder of 05-17.
            {"at": "2028-05-01", "repay": {"line": "prog", "tranche": "pret", "amount": "6816.80"}},
            {"at": "2028-06-01", "close": {"outcome": "completed"}},
        ],
        start="2027-08-31",
        until="P5Y",
    )
    assert [(r.kind, str(r.amount), r.payee) for r in result.ledger] == [
        ("loan", "20000.00", "asso"),
        ("repayment", "6816.80", "fondation"),
    ]
    due = of_type(result.events, "LoanInstallmentDue")
    assert [(e.at.date().isoformat(), e.data["principal"], e.data["interest"]) for e in due] == [
        ("2028-05-31", "6666.66", "150.14"),
        ("2028-08-31", "6666.66", "33.61"),
        ("2028-11-30", "6666.68", "16.62"),
    ]
    # Installments 2 and 3 after the close: the loan clock keeps the one sequence.
    assert dates(result.events, "LoanInstallmentReminderSent") == ["2028-08-17", "2028-11-16"]
    # Not repaid at due + P30D: 08-31 + 30 days = 09-30, 11-30 + 30 days = 12-30, once each.
    overdue = of_type(result.events, "LoanInstallmentOverdue")
    assert [(e.at.date().isoformat(), e.data["installment"], e.data["owed"]) for e in overdue] == [
        ("2028-09-30", 2, "6700.27"),
        ("2028-12-30", 3, "6683.30"),
    ]
    assert result.events[-1].type == "LoanInstallmentOverdue"
    # Closed, but its loan is not settled: the cooperation stays open.
    assert result.state is not None and not is_finished(result.state)
    assert due[0].data["paid"] == "6816.80"
    (repaid,) = of_type(result.events, "RepaymentRecorded")
    # Interest first: 150.14 of interest, then 6666.66 of principal.
    assert repaid.data["installments"] == [
        {"installment": 1, "amount": "6816.80", "interest": "150.14", "principal": "6666.66"}
    ]
    assert repaid.data["outstanding"] == "13383.57" and repaid.data["settled"] is False


ZERO_RATE = {
    "id": "pret",
    "amount": "1200.00",
    "purpose": "investment",
    "when": "entry",
    "instrument": {
        "loan": {"annual_rate": "0", "grace": "P1M", "term": "P3M", "installment_every": "P1M"}
    },
}


def test_rule_11_closed_cooperation_stays_open_until_its_loan_is_repaid_in_full() -> None:
    shell = Shell(
        cooperation(), [version(programme(phases=phases(emergence=[ZERO_RATE])))], at(2027, 1, 4)
    )
    shell.do(c.Close(outcome="completed"), at(2027, 1, 10))
    assert not is_finished(shell.state)
    assert next_wakeup(shell.state) == at(2027, 2, 18)  # reminder of 03-04 − P14D
    shell.clock(at(2027, 6, 30))
    # Two installments of 600.00, due 03-04 and 04-04 (the term): both went overdue 30 days
    # later, and 1200.00 is still owed.
    assert [e.at.date().isoformat() for e in of_type(shell.events, "LoanInstallmentOverdue")] == [
        "2027-04-03",
        "2027-05-04",
    ]
    assert not is_finished(shell.state) and next_wakeup(shell.state) is None
    # Repayments are taken after the last due date too; beyond what is owed is refused.
    with pytest.raises(Conflict, match="more than what the loan still expects"):
        shell.do(c.RecordRepayment(line="prog", tranche="pret", amount="1200.01"), at(2027, 7, 1))
    events = shell.do(
        c.RecordRepayment(line="prog", tranche="pret", amount="1200.00"), at(2027, 7, 1)
    )
    assert [p["installment"] for p in events[0].data["installments"]] == [1, 2]
    assert events[0].data["settled"] is True and events[0].data["outstanding"] == "0.00"
    assert is_finished(shell.state)
    with pytest.raises(Conflict, match="settled"):
        shell.do(c.RecordRepayment(line="prog", tranche="pret", amount="1.00"), at(2027, 7, 2))


def test_rule_11_repayments_go_to_the_oldest_installment_owed_interest_first() -> None:
    terms = {"annual_rate": "0.02", "grace": "P12M", "term": "P30M", "installment_every": "P6M"}
    pret = {**ZERO_RATE, "amount": "10000.00", "instrument": {"loan": terms}}
    shell = Shell(
        cooperation(), [version(programme(phases=phases(emergence=[pret])))], at(2027, 1, 31)
    )
    # The conformance schedule (loans.yaml): 3333.33 + 299.73, 3333.33 + 67.21, 3333.34 + 33.06.
    first = shell.do(
        c.RecordRepayment(line="prog", tranche="pret", amount="200.00"), at(2027, 3, 1)
    )
    assert first[0].data["installments"] == [
        {"installment": 1, "amount": "200.00", "interest": "200.00", "principal": "0.00"}
    ]
    second = shell.do(
        c.RecordRepayment(line="prog", tranche="pret", amount="3500.00"), at(2027, 4, 1)
    )
    # 99.73 of interest and 3333.33 of principal close installment 1; the 66.94 left go to
    # installment 2's interest.
    assert second[0].data["installments"] == [
        {"installment": 1, "amount": "3433.06", "interest": "99.73", "principal": "3333.33"},
        {"installment": 2, "amount": "66.94", "interest": "66.94", "principal": "0.00"},
    ]
    with pytest.raises(InvalidInput) as named:
        shell.do(
            c.RecordRepayment(line="prog", tranche="pret", amount="1.00", installment=3),
            at(2027, 4, 2),
        )
    assert named.value.field == "installment"


def test_rule_11_a_repeated_repayment_request_is_taken_once() -> None:
    shell = Shell(
        cooperation(), [version(programme(phases=phases(emergence=[ZERO_RATE])))], at(2027, 1, 4)
    )
    pay = c.RecordRepayment(line="prog", tranche="pret", amount="100.00", request_id="virement-7")
    assert len(shell.do(pay, at(2027, 1, 20))) == 1
    assert shell.do(pay, at(2027, 3, 20)) == []
    repaid = of_type(shell.events, "RepaymentRecorded")
    assert [e.data["amount"] for e in repaid] == ["100.00"]
    keys = [e.key for e in shell.effects if isinstance(e, PostRepayment)]
    assert keys == ["ruche:prog:pret:repayment:virement-7"]


def test_rule_11_repayments_of_the_same_amount_under_two_request_ids_are_both_taken() -> None:
    shell = Shell(
        cooperation(), [version(programme(phases=phases(emergence=[ZERO_RATE])))], at(2027, 1, 4)
    )
    for request_id in ("virement-7", "virement-8", "virement-7"):
        shell.do(
            c.RecordRepayment(line="prog", tranche="pret", amount="100.00", request_id=request_id),
            at(2027, 1, 20),
        )
    assert len(of_type(shell.events, "RepaymentRecorded")) == 2
    keys = [e.key for e in shell.effects if isinstance(e, PostRepayment)]
    assert keys == [f"ruche:prog:pret:repayment:virement-{n}" for n in (7, 8)]


def test_rule_11_rules_2_post_repayments_under_the_next_seq_as_recorded() -> None:
    # Rules 2 were recorded with no request id reaching them: the one the shell now gives
    # every command changes nothing of what they decide.
    shell = Shell(
        cooperation(),
        [version(programme(phases=phases(emergence=[ZERO_RATE])))],
        at(2027, 1, 4),
        rules_version=2,
    )
    pay = c.RecordRepayment(line="prog", tranche="pret", amount="100.00", request_id="virement-7")
    (first,) = shell.do(pay, at(2027, 1, 20))
    keys = [e.key for e in shell.effects if isinstance(e, PostRepayment)]
    assert keys == [f"ruche:prog:pret:repayment:{first.seq}"]
    assert shell.state.lines[0].loans[0].repayments == []


def test_rule_11_write_off_settles_the_loan_with_what_the_schedule_still_expected() -> None:
    terms = {"annual_rate": "0.02", "grace": "P12M", "term": "P30M", "installment_every": "P6M"}
    pret = {**ZERO_RATE, "amount": "10000.00", "instrument": {"loan": terms}}
    shell = Shell(
        cooperation(), [version(programme(phases=phases(emergence=[pret])))], at(2027, 1, 31)
    )
    shell.do(c.RecordRepayment(line="prog", tranche="pret", amount="500.00"), at(2027, 3, 1))
    shell.do(c.Close(outcome="abandoned"), at(2027, 6, 1))
    facilitator = c.Actor(role="facilitator", id="tiers")
    funder = c.Actor(role="funder", id="fondation")
    with pytest.raises(Forbidden):
        shell.do(
            c.WriteOff(line="prog", tranche="pret", reason="x", by=facilitator), at(2027, 6, 2)
        )
    # Closed: other commands are refused, the write-off of a loan not settled is not.
    with pytest.raises(Conflict, match="closed"):
        shell.do(c.SubmitCheckIn(check_in_id="late"), at(2027, 6, 2))
    (written,) = shell.do(
        c.WriteOff(line="prog", tranche="pret", reason="cessation d'activité", by=funder),
        at(2027, 6, 2),
    )
    # 10000.00 + 299.73 + 67.21 + 33.06 expected, 500.00 paid (299.73 interest, then 200.27
    # principal): 9899.73 left, 9799.73 of principal and 100.27 of interest.
    assert written.type == "LoanWrittenOff"
    assert (written.data["amount"], written.data["principal"], written.data["interest"]) == (
        "9900.00",
        "9799.73",
        "100.27",
    )
    assert is_finished(shell.state) and next_wakeup(shell.state) is None
    shell.clock(at(2030, 1, 1))
    assert of_type(shell.events, "LoanInstallmentDue", "LoanInstallmentOverdue") == []
    with pytest.raises(Conflict, match="written off"):
        shell.do(c.RecordRepayment(line="prog", tranche="pret", amount="1.00"), at(2030, 1, 2))
    assert {(n.to_role, n.about) for n in shell.effects if isinstance(n, Notify)} >= {
        ("facilitator", "LoanWrittenOff")
    }


def test_rule_11_overdue_notifies_the_funder_and_the_facilitator_once() -> None:
    shell = Shell(
        cooperation(), [version(programme(phases=phases(emergence=[ZERO_RATE])))], at(2027, 1, 4)
    )
    shell.clock(at(2027, 4, 3))
    (overdue,) = of_type(shell.events, "LoanInstallmentOverdue")
    told = [
        (n.to_role, n.to) for n in shell.effects if isinstance(n, Notify) and n.seq == overdue.seq
    ]
    assert told == [("funder", "fondation"), ("facilitator", "tiers")]
    # A repayment of part of the installment does not clear it; no second overdue for it.
    shell.do(c.RecordRepayment(line="prog", tranche="pret", amount="100.00"), at(2027, 4, 10))
    shell.clock(at(2027, 4, 30))
    assert len(of_type(shell.events, "LoanInstallmentOverdue")) == 1


def test_rule_11_rules_1_keep_deciding_as_recorded() -> None:
    # Cooperations registered before rules 2 (recorded histories) decide as they did: no
    # overdue, finished once every installment has fallen due, repayments from a named
    # installment.
    shell = Shell(
        cooperation(),
        [version(programme(phases=phases(emergence=[ZERO_RATE])))],
        at(2027, 1, 4),
        rules_version=1,
    )
    shell.do(c.Close(outcome="completed"), at(2027, 1, 10))
    shell.clock(at(2027, 4, 4))
    assert is_finished(shell.state) and next_wakeup(shell.state) is None
    assert of_type(shell.events, "LoanInstallmentOverdue") == []
    events = shell.do(
        c.RecordRepayment(line="prog", tranche="pret", amount="400.00", installment=2),
        at(2027, 4, 5),
    )
    assert events[0].data["installments"] == [{"installment": 2, "amount": "400.00"}]


def test_rule_11_moving_to_rules_2_announces_no_overdue_in_the_past() -> None:
    shell = Shell(
        cooperation(),
        [version(programme(phases=phases(emergence=[ZERO_RATE])))],
        at(2027, 1, 4),
        rules_version=1,
    )
    shell.clock(at(2027, 4, 20))  # installment 1 overdue since 04-03 under rules 2
    shell.state = upgrade(shell.state, 2, at(2027, 4, 20))
    shell.clock(at(2027, 6, 30))
    overdue = of_type(shell.events, "LoanInstallmentOverdue")
    assert [e.at.date().isoformat() for e in overdue] == ["2027-05-04"]
    assert all(e.at >= at(2027, 4, 20) for e in overdue)
    assert shell.state.rules_version == 2


def test_rule_11_loan_dates_reminders_unless_repaid_and_runs_after_close() -> None:
    prog = programme(
        phases={
            "emergence": phase(
                [
                    loan(
                        "pret",
                        "12000.00",
                        annual_rate="0.00",
                        grace="P3M",
                        term="P6M",
                        installment_every="P1M",
                    )
                ]
            )
        }
    )
    result = simulate(
        [prog],
        [
            {"at": "2027-01-31", "approve": {"line": "prog", "tranche": "pret"}},
            {"at": "2027-02-15", "close": {"outcome": "completed"}},
            {"at": "2027-05-20", "repay": {"line": "prog", "tranche": "pret", "amount": "4000.00"}},
            {"at": "2027-06-10", "repay": {"line": "prog", "tranche": "pret", "amount": "4000.00"}},
        ],
        start="2027-01-31",
        until="2027-12-31",
    )
    # Installment k at 01-31 + (P3M + k × P1M): 05-31, 06-30, 07-31 (= 01-31 + term P6M);
    # 12000 / 3 = 4000 each; rate 0: no interest. Reminders at due − P14D (the default):
    # 05-17, 06-16 (installment 2 repaid in full on 06-10: none), 07-17. Loans outlive close.
    loan_events = [
        (e.type, e.at.date().isoformat(), e.data["installment"])
        for e in of_type(result.events, "LoanInstallmentReminderSent", "LoanInstallmentDue")
    ]
    assert loan_events == [
        ("LoanInstallmentReminderSent", "2027-05-17", 1),
        ("LoanInstallmentDue", "2027-05-31", 1),
        ("LoanInstallmentDue", "2027-06-30", 2),
        ("LoanInstallmentReminderSent", "2027-07-17", 3),
        ("LoanInstallmentDue", "2027-07-31", 3),
    ]
    # Installment 3 is not repaid at 07-31 + P30D: overdue on 08-30, once.
    assert [
        (e.at.date().isoformat(), e.data["installment"])
        for e in of_type(result.events, "LoanInstallmentOverdue")
    ] == [("2027-08-30", 3)]
    assert {e.data["principal"] for e in of_type(result.events, "LoanInstallmentDue")} == {
        "4000.00"
    }
    # Everything was released (the loan principal): nothing to free at the close.
    assert of_type(result.events, "CommitmentReleased") == []
    assert [(r.kind, str(r.amount), r.at.date().isoformat()) for r in result.ledger] == [
        ("loan", "12000.00", "2027-01-31"),
        ("repayment", "4000.00", "2027-05-20"),
        ("repayment", "4000.00", "2027-06-10"),
    ]
