"""The door refuses, naming the field, each input that would make a cooperation's rules raise
or its databases refuse a value; and what was recorded before the door's limits still loads.
"""

from __future__ import annotations

import calendar
import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from domain import commands as c
from domain.allocation import Share, shares_total, split
from domain.cooperation import CooperationSpec
from domain.durations import CalendarOverflow, add, parse, reaches_later
from domain.errors import DomainError, InvalidInput
from domain.lifecycle import decide
from domain.limits import DOOR, at_door
from domain.loans import loan_schedule
from domain.money import amount
from domain.programme import ProgrammeSpec
from domain.scenario import ScenarioError
from domain.simulation import run_scenario
from domain.tranche_terms import LoanTerms
from tests.domain.helpers import cooperation, programme

PHASE = {"check_in_every": "P1M", "tranches": []}


def _programme(phase: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    return programme(phases={"emergence": {**PHASE, **(phase or {})}}, **top)


def _tranche(**fields: Any) -> dict[str, Any]:
    return {"id": "t", "amount": "1000.00", "purpose": "animation", "when": "entry", **fields}


def _loan(amount: str = "1000.00", **terms: str) -> dict[str, Any]:
    loan = {"annual_rate": "0.01", "grace": "P3M", "term": "P1Y", "installment_every": "P3M"}
    return _programme(
        {"tranches": [_tranche(amount=amount, instrument={"loan": {**loan, **terms}})]}
    )


def _cooperation(**fields: Any) -> dict[str, Any]:
    members = [
        {"id": "asso", "name": "Asso", "legal_form": "association"},
        {"id": "scic", "name": "Scic", "legal_form": "scic"},
    ]
    return cooperation(**{"members": members, **fields})


def _where(exc: ValidationError) -> list[str]:
    """Each error as 'loc: message', the union branches' names left out."""
    return [
        ".".join(str(p) for p in e["loc"] if not str(p).startswith(("literal[", "Loan", "Elap")))
        + ": "
        + e["msg"]
        for e in exc.errors()
        if e["type"] != "literal_error"
    ]


# (model, input, where the error is, what it says). Every input but the last few loaded
# before the door existed; most of them then raised inside the workflow.
REFUSED: list[tuple[type[BaseModel], Any, str, str]] = [
    # A loan whose grace leaves no installment before its term, from some disbursement date:
    # a term of P1M after 31 January ends on 28 February, before grace P0D + P30D.
    (
        ProgrammeSpec,
        _loan(grace="P0D", installment_every="P30D", term="P1M"),
        "instrument.loan",
        "term P1M ends before the first installment",
    ),
    (ProgrammeSpec, _loan(grace="P1Y", term="P1Y"), "instrument.loan", "term P1Y ends before"),
    (ProgrammeSpec, _loan(installment_every="PT12H"), "loan.installment_every", "time part"),
    (ProgrammeSpec, _loan(grace="P1DT1H"), "loan.grace", "time part"),
    (ProgrammeSpec, _loan(term="P9999Y"), "loan.term", "longer than 100 years"),
    (ProgrammeSpec, _loan(amount="0.00"), "tranches.0", "a loan lends a positive amount"),
    (ProgrammeSpec, _loan(annual_rate="1E+30"), "loan.annual_rate", "between 0 and 1"),
    (ProgrammeSpec, _loan(annual_rate="0.0000001"), "loan.annual_rate", "6 decimal places"),
    (
        ProgrammeSpec,
        _loan(installment_every="P1W", term="P20Y"),
        "instrument.loan",
        "installments of P1W: at most 600",
    ),
    (ProgrammeSpec, _programme({"check_in_every": "PT1S"}), "check_in_every", "time part"),
    (ProgrammeSpec, _programme({"report_every": "PT12H"}), "report_every", "time part"),
    (ProgrammeSpec, _programme({"check_in_every": "P101Y"}), "check_in_every", "100 years"),
    (ProgrammeSpec, _programme({"check_in_grace": "P2Y"}), "check_in_grace", "than 1 year"),
    (ProgrammeSpec, _programme({"reminder_before": "P400D"}), "reminder_before", "1 year"),
    (ProgrammeSpec, _programme({"max_duration": "P99999Y"}), "max_duration", "100 years"),
    (
        ProgrammeSpec,
        _programme({"tranches": [_tranche(when={"elapsed": "P1200M1D"})]}),
        "when.elapsed",
        "longer than 100 years",
    ),
    (
        ProgrammeSpec,
        _programme({"tranches": [_tranche(repeat={"every": "P100Y", "times": 1000})]}),
        "repeat.times",
        "beyond 100 years",
    ),
    (
        ProgrammeSpec,
        _programme({"tranches": [_tranche(repeat={"every": "PT1H", "times": 3})]}),
        "repeat.every",
        "time part",
    ),
    (
        ProgrammeSpec,
        _programme({"tranches": [_tranche(repeat={"every": "P1D", "times": 1001})]}),
        "repeat.times",
        "at most 1000",
    ),
    (ProgrammeSpec, _programme(budget="10000000000000.00"), "budget", "at most"),
    (ProgrammeSpec, _programme(cap_per_cooperation="1E+14"), "cap_per_cooperation", "at most"),
    (
        ProgrammeSpec,
        _programme(
            {"tranches": [_tranche(amount="5000000000000.00", repeat={"every": "P1Y", "times": 2})]}
        ),
        "tranches.0",
        "more than 9999999999999.99",
    ),
    (
        ProgrammeSpec,
        _programme(
            {
                "tranches": [
                    _tranche(id="a", amount="6000000000000.00"),
                    _tranche(id="b", amount="6000000000000.00"),
                ]
            }
        ),
        "phases",
        "can pay 12000000000000.00 in all",
    ),
    (ProgrammeSpec, _programme(name="Fonds\x00"), "name", "NUL"),
    # A constrained text refuses a lone surrogate already (pydantic checks it in Rust).
    (ProgrammeSpec, _programme(name="Fonds \ud800"), "name", "unicode string"),
    # Shares: exact sums, and at most 10 places (a 28-digit sum of 1 is not exactly 1).
    (
        CooperationSpec,
        _cooperation(
            funding_lines=[
                {
                    "programme": "prog",
                    "allocation": [
                        {"payee": "asso", "share": "0.3333333333333333333333333333"},
                        {"payee": "scic", "share": "0.66666666666666666666666666667"},
                    ],
                }
            ]
        ),
        "allocation.0.share",
        "at most 10 decimal places",
    ),
    (
        CooperationSpec,
        _cooperation(
            members=[{"id": "asso", "name": "Asso", "legal_form": "association\x00"}],
        ),
        "members.0.legal_form",
        "NUL",
    ),
    (
        CooperationSpec,
        _cooperation(funding_lines=[{"programme": "prog", "angle": {"summary": "a\x00b"}}]),
        "funding_lines.0.angle.summary",
        "NUL",
    ),
    (
        CooperationSpec,
        _cooperation(
            funding_lines=[
                {"programme": "prog", "angle": {"summary": "s", "members": ["asso\udfff"]}}
            ]
        ),
        "angle.members",
        "item 0: must not contain a lone surrogate",
    ),
    (CooperationSpec, _cooperation(kind="modelled", model="TZC\x00"), "model", "NUL"),
    (c.Pause, {"reason": "vacances \ud83d"}, "reason", "lone surrogate"),
    (c.DeclineLine, {"line": "prog", "note": "x" * 2001}, "note", "at most 2000"),
    (c.Pivot, {"objectives": "o\x00", "reason": "r"}, "objectives", "NUL"),
    (
        c.ApproveTranche,
        {"line": "prog", "tranche": "t", "by": {"role": "funder", "id": "f\x00"}},
        "by.id",
        "NUL",
    ),
    (
        c.SubmitCheckIn,
        {"check_in_id": "ci", "indicators": {"taux": float("nan")}},
        "indicators",
        "'taux': must be a finite number",
    ),
    (
        c.SubmitCheckIn,
        {"check_in_id": "ci", "indicators": {"taux": float("-inf")}},
        "indicators",
        "finite",
    ),
    (
        c.SubmitCheckIn,
        {"check_in_id": "ci", "indicators": {"foule": 10**16}},
        "indicators",
        "at most 1e+15",
    ),
    (
        c.SubmitCheckIn,
        {"check_in_id": "ci", "indicators": {"clé\x00": 1}},
        "indicators",
        "key #1: must not contain the NUL",
    ),
    (
        c.SubmitCheckIn,
        {"check_in_id": "ci", "indicators": {"humeur": "\udc80"}},
        "indicators",
        "'humeur': must not contain a lone surrogate",
    ),
    (
        c.SubmitCheckIn,
        {"check_in_id": "ci", "indicators": {f"k{i}": i for i in range(51)}},
        "indicators",
        "at most 50 indicators",
    ),
    (c.SubmitCheckIn, {"check_in_id": "ci", "period": 10**9}, "period", "at most 100000"),
    (
        c.RecordRepayment,
        {"line": "prog", "tranche": "t", "amount": "10000000000000.00"},
        "amount",
        "at most",
    ),
    (
        c.MemberJoin,
        {"member": {"id": "m", "name": "M", "legal_form": "x\ud800"}},
        "member.legal_form",
        "unicode string",
    ),
]


@pytest.mark.parametrize(("model", "data", "where", "says"), REFUSED)
def test_the_door_refuses_naming_the_field(
    model: type[BaseModel], data: Any, where: str, says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        at_door(model, copy.deepcopy(data))
    assert any(where in e and says in e for e in _where(refused.value)), _where(refused.value)
    # `at_door` is the door's context, nothing more.
    with pytest.raises(ValidationError):
        model.model_validate(copy.deepcopy(data), context=DOOR)


LOADED_BEFORE = [data for model, data, _, _ in REFUSED if model is ProgrammeSpec][:19]


@pytest.mark.parametrize("data", LOADED_BEFORE)
def test_what_was_recorded_before_the_door_still_loads(data: dict[str, Any]) -> None:
    # Specs travel in workflow history and in the state carried across continue-as-new:
    # a limit applied there would freeze the cooperation that recorded them.
    assert ProgrammeSpec.model_validate(copy.deepcopy(data)).id == "prog"


def test_recorded_commands_and_allocations_still_load() -> None:
    c.SubmitCheckIn.model_validate({"check_in_id": "ci", "indicators": {"taux": float("nan")}})
    c.Pause.model_validate({"reason": "x" * 5000})
    awkward = [
        {"payee": "asso", "share": "0.3333333333333333333333333333"},
        {"payee": "scic", "share": "0.66666666666666666666666666667"},
    ]
    spec = CooperationSpec.model_validate(
        _cooperation(funding_lines=[{"programme": "prog", "allocation": awkward}])
    )
    # It loads as it did (checked at 28 digits), though not exactly 1: the door refuses it.
    shares = spec.funding_lines[0].allocation
    assert shares is not None and shares_total(shares) != 1
    with pytest.raises(ValueError, match="exactly 1"):
        split(Decimal("100.00"), shares)


def test_valid_input_passes_the_door() -> None:
    spec = at_door(
        ProgrammeSpec,
        _programme(
            {
                "check_in_every": "P1D",
                "check_in_grace": "PT36H",
                "reminder_before": "P1Y",
                "max_duration": "P100Y",
                "tranches": [
                    _tranche(id="a", repeat={"every": "P1M", "times": 1000 - 2}),
                    _tranche(
                        id="b",
                        amount="9999999.99",
                        when="approval",
                        instrument={
                            "loan": {
                                "annual_rate": "0.035",
                                "grace": "P0D",
                                "term": "P1M",
                                "installment_every": "P1M",
                            }
                        },
                    ),
                ],
            },
            budget="9999999999999.99",
        ),
    )
    assert spec.potential == Decimal("1000.00") * 999 + Decimal("9999999.99")
    shares = ["0.3333333333", "0.3333333333", "0.3333333334"]
    members = [{"id": f"m{i}", "name": "M", "legal_form": "association"} for i in range(3)]
    allocation = [{"payee": f"m{i}", "share": s} for i, s in enumerate(shares)]
    coop = at_door(
        CooperationSpec,
        _cooperation(
            members=members, funding_lines=[{"programme": "prog", "allocation": allocation}]
        ),
    )
    assert coop.funding_lines[0].allocation is not None
    indicators = {"participants": 12, "taux": 0.5, "humeur": "très bien ☀"}
    check_in = at_door(c.SubmitCheckIn, {"check_in_id": "ci", "indicators": indicators})
    assert check_in.indicators == indicators


# ---------------------------------------------------------------------------------------
# Loans: the door's check is exact


def _every_day(years: range) -> list[date]:
    return [
        date(y, m, d)
        for y in years
        for m in range(1, 13)
        for d in range(1, calendar.monthrange(y, m)[1] + 1)
    ]


# Around a leap year, a leap year skipped (2100) and the 400-year one (2000).
SAMPLE_DAYS = _every_day(range(2099, 2102)) + _every_day(range(1999, 2001))

PAIRS = [
    ("P30D", "P1M"),
    ("P28D", "P1M"),
    ("P29D", "P1M"),
    ("P1M", "P31D"),
    ("P1M1D", "P1M"),
    ("P1Y", "P365D"),
    ("P365D", "P1Y"),
    ("P366D", "P1Y"),
    ("P1Y1M", "P13M"),
    ("P13M", "P1Y29D"),
    ("P2M", "P59D"),
    ("P59D", "P2M"),
    ("P4Y", "P1461D"),
    ("P1461D", "P4Y"),
    ("P11M30D", "P1Y"),
    ("P12M1D", "P1Y1D"),
    ("P3M", "P2M31D"),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_reaches_later_agrees_with_every_day_of_the_calendar(a: str, b: str) -> None:
    first = reaches_later(parse(a), parse(b))
    brute = [d for d in SAMPLE_DAYS if add(d, a) > add(d, b)]
    if first is not None:
        assert add(first, a) > add(first, b)
    # The sample holds a day of each kind the cycle holds (ends of months, 29 February in a
    # leap year, 28 February in 2100), so it finds a counterexample whenever one exists.
    assert (first is None) == (not brute), (first, brute[:3])


def test_a_loan_the_door_lets_in_has_an_installment_from_every_day() -> None:
    for grace, every, term in [
        ("P0D", "P1M", "P1M"),
        ("P27D", "P1D", "P1M"),
        ("P1Y", "P1D", "P1Y1D"),
    ]:
        terms = at_door(
            LoanTerms,
            {"annual_rate": "0.02", "grace": grace, "term": term, "installment_every": every},
        )
        for day in [*SAMPLE_DAYS[::7], date(2028, 2, 29), date(2027, 1, 31)]:
            assert loan_schedule(Decimal("100.00"), terms, day)


def test_a_loan_the_door_refuses_fails_from_the_day_it_names() -> None:
    data = {"annual_rate": "0.02", "grace": "P0D", "term": "P1M", "installment_every": "P30D"}
    with pytest.raises(ValidationError, match=r"term P1M ends before") as refused:
        at_door(LoanTerms, data)
    day = date.fromisoformat(str(refused.value).split("such as ")[1][:10])
    with pytest.raises(ValueError, match="the term must cover the grace"):
        loan_schedule(Decimal("100.00"), LoanTerms.model_validate(data), day)


# ---------------------------------------------------------------------------------------
# Numbers and dates that used to escape as other exceptions


def test_a_date_beyond_the_calendar_is_refused_as_such() -> None:
    with pytest.raises(CalendarOverflow) as overflow:
        add(date(9999, 12, 1), "P1M")
    # A refusal for a command, a ValueError for a reader of dates.
    assert isinstance(overflow.value, InvalidInput)
    assert isinstance(overflow.value, ValueError)
    with pytest.raises(CalendarOverflow):
        add(datetime(2027, 1, 1, tzinfo=UTC), "P99999999999D")
    with pytest.raises(CalendarOverflow):
        add(date(2027, 1, 1), "P1M", 10**9)
    assert issubclass(CalendarOverflow, DomainError)


def test_an_amount_too_large_for_a_decimal_is_a_validation_error() -> None:
    with pytest.raises(ValueError, match="too large"):
        amount("1E+30")
    with pytest.raises(ValueError, match="not a decimal amount"):
        amount("douze")
    cases: list[tuple[type[BaseModel], dict[str, Any]]] = [
        (c.RecordRepayment, {"line": "l", "tranche": "t", "amount": "1E+40"}),
        (ProgrammeSpec, _programme(budget="1E+30")),
    ]
    for model, data in cases:
        with pytest.raises(ValidationError, match="too large"):
            model.model_validate(data)


def test_shares_add_up_exactly() -> None:
    shares = [Share(payee="a", share=Decimal("0.1")) for _ in range(10)]
    assert shares_total(shares) == 1
    long = [Share(payee="a", share=Decimal("1E-40")), Share(payee="b", share=Decimal(1))]
    assert shares_total(long) == Decimal("1.0000000000000000000000000000000000000001")


def test_a_scenario_goes_through_the_door() -> None:
    start = "2027-01-04"
    base: dict[str, Any] = {
        "start": start,
        "programmes": [_programme({"tranches": [_tranche()]})],
        "cooperation": _cooperation(fiscal_host="pole"),
        "steps": [],
        "until": "P1M",
    }
    assert run_scenario(copy.deepcopy(base)).events
    daily = copy.deepcopy(base)
    daily["programmes"][0]["phases"]["emergence"]["check_in_every"] = "PT1S"
    with pytest.raises(ScenarioError, match=r"check_in_every.*time part"):
        run_scenario(daily)
    nan = copy.deepcopy(base)
    nan["steps"] = [{"at": "P1D", "check_in": {"indicators": {"taux": float("nan")}}}]
    with pytest.raises(ScenarioError, match="finite"):
        run_scenario(nan)


def test_a_check_in_for_a_period_beyond_the_calendar_is_a_refusal() -> None:
    # The door lets periods up to MAX_PERIOD in; with a yearly cadence the rules would compute
    # a due date after year 9999 to see the period has not begun: a refusal, not a crash.
    register = at_door(
        c.Register,
        {
            "cooperation": _cooperation(fiscal_host="pole"),
            "programmes": [
                {"version": 1, "spec": _programme({"check_in_every": "P1Y", "tranches": []})}
            ],
            "lines_accepted": True,
        },
    )
    now = datetime(2027, 1, 4, tzinfo=UTC)
    state = decide(None, register, now).state
    check_in = at_door(c.SubmitCheckIn, {"check_in_id": "ci", "period": 99_999})
    with pytest.raises(DomainError):
        decide(state, check_in, now)
