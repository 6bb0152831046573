"""Rule 11: loans. A loan in a cooperation's life: disbursed on release, due, reminded unless
repaid, running after the close."""

from __future__ import annotations

import pytest

from domain import commands as c
from domain.effects import Notify, PostRepayment
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.lifecycle import is_finished, next_wakeup
from domain.rules import upgrade
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
