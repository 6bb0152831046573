"""Rule 19 (rules 3): a release is an order to pay, not a payment. Each payee's part is a
versement ordered at the release's instant, due by ordered + payment_within, recorded paid by
the line's funder (`VersementPaid` with `days_late`), late once at due + P1D."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain.effects import Notify
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.limits import at_door
from domain.programme import ProgrammeSpec
from domain.scenario import ScenarioError
from domain.views import summary
from tests.domain.helpers import (
    Shell,
    at,
    cooperation,
    grant,
    loan,
    of_type,
    phase,
    programme,
    simulate,
    version,
)

FUNDER = c.Actor(role="funder", id="fondation")


def _spec(lends: bool = True, **extra: Any) -> dict[str, Any]:
    """An entry tranche and a repeated one, a loan on approval; P60D to pay by default."""
    extra.setdefault("payment_within", "P60D")
    tranches = [
        grant("amorcage", "entry"),
        grant("animation", {"elapsed": "P1M"}, repeat={"every": "P1M", "times": 2}),
    ]
    if lends:
        tranches.append(
            loan(
                "pret",
                "6000.00",
                annual_rate="0.01",
                grace="P12M",
                term="P36M",
                installment_every="P6M",
            )
        )
    return programme(phases={"emergence": phase(tranches)}, **extra)


def _shell(rules_version: int = 3, **coop: Any) -> Shell:
    return Shell(
        cooperation(**coop), [version(_spec())], at(2027, 2, 15), rules_version=rules_version
    )


def _paid(**args: Any) -> c.RecordPaid:
    return c.RecordPaid.model_validate({"line": "prog", "tranche": "amorcage", "by": FUNDER} | args)


# -- the example, through a scenario -----------------------------------------------


def _example(steps: list[dict[str, Any]]) -> Any:
    return simulate(
        [_spec()], steps, start="2027-02-15", until="2027-06-30", funding_lines=["prog"]
    )


def test_unpaid_versement_is_due_60_days_later_and_late_the_day_after() -> None:
    result = _example([])
    (released,) = [
        e for e in of_type(result.events, "TrancheReleased") if e.data["tranche"] == "amorcage"
    ]
    assert released.data["due_on"] == "2027-04-16"
    late = [e for e in of_type(result.events, "VersementLate") if e.data["tranche"] == "amorcage"]
    assert [(e.at.isoformat(), e.data["due_on"], e.data["payee"]) for e in late] == [
        ("2027-04-17T00:00:00+00:00", "2027-04-16", "asso")
    ]
    (row,) = [r for r in result.ledger if r.tranche == "amorcage"]
    assert row.due_by == date(2027, 4, 16) and row.paid_on is None


def test_paid_24_days_late_then_recorded_twice_is_a_conflict() -> None:
    paid = {"paid": {"line": "prog", "tranche": "amorcage", "paid_on": "2027-05-10"}}
    result = _example([{"at": "2027-05-10", **paid}])
    (event,) = of_type(result.events, "VersementPaid")
    assert event.data["days_late"] == 24 and event.data["paid_on"] == "2027-05-10"
    assert event.at.date() == date(2027, 5, 10)
    (row,) = [r for r in result.ledger if r.tranche == "amorcage"]
    assert (row.due_by, row.paid_on) == (date(2027, 4, 16), date(2027, 5, 10))
    assert result.to_json()["ledger"][0]["paid_on"] == "2027-05-10"
    with pytest.raises(ScenarioError, match="already recorded paid") as refused:
        _example([{"at": "2027-05-10", **paid}, {"at": "2027-05-11", **paid}])
    assert refused.value.step_index == 1


# -- the rule, through a shell ------------------------------------------------------------


def test_paid_on_time_is_never_late() -> None:
    shell = _shell()
    events = shell.do(_paid(paid_on="2027-04-16"), at(2027, 4, 17))
    assert [(e.type, e.data["days_late"]) for e in events] == [("VersementPaid", 0)]
    shell.clock(at(2027, 6, 30))
    assert not [
        e for e in of_type(shell.events, "VersementLate") if e.data["tranche"] == "amorcage"
    ]


def test_a_payment_recorded_at_the_late_instant_comes_first() -> None:
    """Rule 14: the command at T before the clock at T (late at due + P1D = 17 April)."""
    shell = _shell()
    shell.do(_paid(paid_on="2027-04-10"), at(2027, 4, 17))
    shell.clock(at(2027, 4, 17))
    assert not [
        e for e in of_type(shell.events, "VersementLate") if e.data["tranche"] == "amorcage"
    ]


def test_late_once_notifies_the_funder_and_the_facilitator() -> None:
    shell = _shell()
    shell.clock(at(2027, 12, 31))
    late = [e for e in of_type(shell.events, "VersementLate") if e.data["tranche"] == "amorcage"]
    assert len(late) == 1
    told = {
        (n.to_role, n.to) for n in shell.effects if isinstance(n, Notify) and n.seq == late[0].seq
    }
    assert told == {("funder", "fondation"), ("facilitator", "tiers")}
    # Paid after being late: the number of days says how late.
    (paid,) = shell.do(_paid(paid_on="2027-12-31"), at(2027, 12, 31))
    assert paid.data["days_late"] == (date(2027, 12, 31) - date(2027, 4, 16)).days


def test_paid_on_is_between_the_order_and_the_command() -> None:
    shell = _shell()
    with pytest.raises(InvalidInput) as before:
        shell.do(_paid(paid_on="2027-02-14"), at(2027, 3, 1))
    assert before.value.field == "paid_on"
    with pytest.raises(InvalidInput) as after:
        shell.do(_paid(paid_on="2027-03-02"), at(2027, 3, 1))
    assert after.value.field == "paid_on"
    # The day of the order and the day of the command are both taken.
    assert shell.do(_paid(paid_on="2027-02-15"), at(2027, 3, 1))


@pytest.mark.parametrize(
    ("args", "error", "field"),
    [
        ({"tranche": "nope"}, InvalidInput, "tranche"),
        ({"line": "other"}, InvalidInput, "line"),
        ({"tranche": "animation", "occurrence": 3}, InvalidInput, "occurrence"),
        ({"occurrence": 1}, InvalidInput, "occurrence"),
        ({"payee": "someone"}, InvalidInput, "payee"),
        ({"tranche": "pret"}, Conflict, None),  # not released: nothing ordered yet
        ({"tranche": "animation", "occurrence": 2}, Conflict, None),
    ],
)
def test_what_is_not_a_versement_is_refused_naming_the_field(
    args: dict[str, Any], error: type[Exception], field: str | None
) -> None:
    shell = _shell()
    with pytest.raises(error) as refused:
        shell.do(
            _paid(paid_on="2027-03-01") if not args else _paid(paid_on="2027-03-01", **args),
            at(2027, 3, 1),
        )
    assert getattr(refused.value, "field", None) == field


@pytest.mark.parametrize(
    "by", [c.Actor(role="funder", id="another"), c.Actor(role="facilitator", id="tiers")]
)
def test_only_the_lines_funder_records_a_payment(by: c.Actor) -> None:
    shell = _shell()
    with pytest.raises(Forbidden):
        shell.do(_paid(paid_on="2027-03-01", by=by), at(2027, 3, 1))


def test_each_payee_part_is_its_own_versement() -> None:
    coop = cooperation(
        fiscal_host="pole",
        funding_lines=[
            {
                "programme": "prog",
                "allocation": [
                    {"payee": "pole", "share": "0.5"},
                    {"payee": "asso", "share": "0.5"},
                ],
            }
        ],
    )
    shell = Shell(coop, [version(_spec(lends=False))], at(2027, 2, 15))
    (one,) = shell.do(_paid(paid_on="2027-03-01", payee="asso"), at(2027, 3, 1))
    assert (one.data["payee"], one.data["amount"]) == ("asso", "500.00")
    # Without a payee: every part still unpaid, here the host's alone.
    rest = shell.do(_paid(paid_on="2027-03-02"), at(2027, 3, 2))
    assert [e.data["payee"] for e in rest] == ["pole"]
    with pytest.raises(Conflict):
        shell.do(_paid(paid_on="2027-03-02"), at(2027, 3, 3))
    with pytest.raises(Conflict):
        shell.do(_paid(paid_on="2027-03-02", payee="asso"), at(2027, 3, 3))


def test_repeat_occurrences_and_a_loan_disbursement_are_versements() -> None:
    shell = _shell()
    shell.do(c.ApproveTranche(line="prog", tranche="pret", by=FUNDER), at(2027, 3, 1))
    shell.clock(at(2027, 5, 20))
    (loan_paid,) = shell.do(_paid(tranche="pret", paid_on="2027-03-05"), at(2027, 5, 20))
    assert loan_paid.data["amount"] == "6000.00" and loan_paid.data["due_on"] == "2027-04-30"
    (second,) = shell.do(
        _paid(tranche="animation", occurrence=1, paid_on="2027-05-01"), at(2027, 5, 20)
    )
    # Occurrence 1 released at 15 April (first at 15 March + P1M): due 14 June.
    assert second.data["ordered_at"] == "2027-04-15T00:00:00Z"
    assert second.data["due_on"] == "2027-06-14" and second.data["days_late"] == 0


def test_without_payment_within_nothing_is_due_nor_late() -> None:
    spec = _spec(payment_within=None)
    shell = Shell(cooperation(), [version(spec)], at(2027, 2, 15))
    shell.clock(at(2029, 1, 1))
    assert not of_type(shell.events, "VersementLate")
    assert "due_on" not in of_type(shell.events, "TrancheReleased")[0].data
    (paid,) = shell.do(_paid(paid_on="2028-12-31"), at(2029, 1, 1))
    assert paid.data["days_late"] == 0 and "due_on" not in paid.data


def test_rules_2_keep_no_versement() -> None:
    shell = _shell(rules_version=2)
    shell.clock(at(2028, 1, 1))
    assert not of_type(shell.events, "VersementLate")
    assert shell.state is not None and all(not line.versements for line in shell.state.lines)
    assert "due_on" not in of_type(shell.events, "TrancheReleased")[0].data
    with pytest.raises(Conflict, match="rules 3"):
        shell.do(_paid(paid_on="2027-03-01"), at(2028, 1, 1))


def test_a_closed_cooperation_records_no_payment_and_announces_no_lateness() -> None:
    shell = _shell()
    shell.do(c.Close(outcome="abandoned"), at(2027, 3, 1))
    shell.clock(at(2027, 12, 31))
    assert not of_type(shell.events, "VersementLate")
    with pytest.raises(Conflict):
        shell.do(_paid(paid_on="2027-03-01"), at(2027, 12, 31))


@pytest.mark.parametrize("bad", ["P60", "60 days", "PT12H"])
def test_a_bad_payment_within_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(ValidationError) as refused:
        at_door(ProgrammeSpec, _spec(payment_within=bad))
    assert [e["loc"] for e in refused.value.errors()] == [("payment_within",)]


def test_payment_within_counts_on_the_calendar() -> None:
    """A month after 31 January is the last day of February (domain/durations.py)."""
    spec = _spec(payment_within="P1M")
    shell = Shell(cooperation(), [version(spec)], at(2027, 1, 31))
    assert of_type(shell.events, "TrancheReleased")[0].data["due_on"] == "2027-02-28"


def test_readers_see_each_part_ordered_or_paid_with_its_dates() -> None:
    shell = _shell()
    shell.clock(at(2027, 4, 20))
    shell.do(_paid(paid_on="2027-04-20"), at(2027, 4, 20))
    assert shell.state is not None
    (line,) = summary(shell.state).lines
    shown = [
        (v.tranche, v.occurrence, v.status, v.ordered_at, v.due_on, v.paid_on, v.late)
        for v in line.versements
    ]
    assert shown == [
        ("amorcage", None, "paid", "2027-02-15T00:00:00Z", "2027-04-16", "2027-04-20", True),
        ("animation", None, "ordered", "2027-03-15T00:00:00Z", "2027-05-14", None, False),
        ("animation", 1, "ordered", "2027-04-15T00:00:00Z", "2027-06-14", None, False),
    ]
    # A released tranche stays `released` in the tranche statuses (the API's contract).
    assert ("amorcage", None, "released") in [
        (t.tranche, t.occurrence, t.status) for t in line.tranches
    ]
