"""One test (or a few) per lifecycle rule of DESIGN.md, named after it, with concrete dates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from domain import commands as c
from domain.effects import FreeCommitment, Notify, Release, RenderReport, RequestCommitment
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.events import EVENT_TYPES
from domain.lifecycle import decide, is_finished, next_wakeup, tick
from domain.simulation import ScenarioError
from tests.domain.helpers import (
    Shell,
    at,
    cooperation,
    dates,
    of_type,
    programme,
    releases,
    simulate,
    version,
)

GRANT = "1000.00"


def tranche(tid: str, when: Any, amount: str = GRANT, **extra: Any) -> dict[str, Any]:
    return {"id": tid, "amount": amount, "purpose": "animation", "when": when, **extra}


def phases(**by_phase: list[dict[str, Any]]) -> dict[str, Any]:
    return {name: {"check_in_every": "P1M", "tranches": ts} for name, ts in by_phase.items()}


def test_rule_1_registration_starts_in_start_phase() -> None:
    prog = programme(
        phases=phases(emergence=[tranche("e", "entry")], experimentation=[tranche("x", "entry")])
    )
    default = simulate([prog], [], until="P1D")
    assert [(e.type, e.data.get("phase")) for e in default.events[:3]] == [
        ("CooperationRegistered", None),
        ("FundingLineAttached", None),
        ("PhaseEntered", "emergence"),
    ]
    later = simulate([prog], [], until="P1D", start_phase="experimentation")
    assert of_type(later.events, "PhaseEntered")[0].data["phase"] == "experimentation"
    assert releases(later.events) == [("prog", "x", "2027-01-04", GRANT)]


def test_rule_2_stints_have_fresh_counters() -> None:
    prog = programme(
        phases=phases(
            emergence=[tranche("e", {"accepted_check_ins": 2})],
            experimentation=[tranche("x", {"accepted_check_ins": 1})],
            structuring=[],
        )
    )
    result = simulate(
        [prog],
        [
            {"at": "2027-01-20", "check_in": {}},
            {"at": "2027-01-21", "review": {"period": 1, "decision": "accepted"}},
            # One acceptance in emergence: the stint of experimentation starts from zero.
            {"at": "2027-02-01", "advance": {}},
            {"at": "2027-02-10", "restart": {"to": "emergence", "reason": "recommencer"}},
            {"at": "2027-02-20", "check_in": {}},
            {"at": "2027-02-21", "review": {"period": 1, "decision": "accepted"}},
            {"at": "2027-03-20", "check_in": {}},
            {"at": "2027-03-21", "review": {"period": 2, "decision": "accepted"}},
            {"at": "2027-04-01", "advance": {"to": "structuring"}},
        ],
        until="P4M",
    )
    # The first acceptance (stint 1) never counts for stint 3: released at the 2nd of stint 3.
    assert releases(result.events) == [("prog", "e", "2027-03-21", GRANT)]
    assert [(e.data["phase"], e.data["stint"]) for e in of_type(result.events, "PhaseEntered")] == [
        ("emergence", 1),
        ("experimentation", 2),
        ("emergence", 3),
        ("structuring", 4),
    ]
    with pytest.raises(ScenarioError, match="last phase"):
        simulate([prog], [{"at": "P1D", "advance": {}}], start_phase="structuring")
    with pytest.raises(ScenarioError) as refused:
        simulate([prog], [{"at": "P1D", "advance": {"to": "emergence"}}], start_phase="structuring")
    assert refused.value.step_index == 0


def test_rule_3_elapsed_from_the_later_of_stint_start_and_attachment() -> None:
    first = programme("first", phases=phases(emergence=[tranche("a", {"elapsed": "P2M"})]))
    second = programme("second", phases=phases(emergence=[tranche("b", {"elapsed": "P2M"})]))
    result = simulate(
        [first, second],
        [
            {"at": "2027-01-31", "attach": {"programme": "second"}},
            {"at": "2027-02-10", "pause": {}},
            {"at": "2027-02-20", "resume": {}},
        ],
        start="2027-01-04",
        funding_lines=["first"],
    )
    # first: 01-04 + P2M = 03-04, + 10 days paused; second: 01-31 + P2M = 03-31, + 10 days.
    assert releases(result.events) == [
        ("first", "a", "2027-03-14", GRANT),
        ("second", "b", "2027-04-10", GRANT),
    ]
    (proposed,) = of_type(result.events, "FundingLineProposed")
    assert proposed.seq + 1 == of_type(result.events, "FundingLineAttached")[1].seq


def test_rule_3_accepted_check_ins_since_attachment() -> None:
    first = programme("first", phases=phases(emergence=[tranche("a", {"accepted_check_ins": 1})]))
    second = programme("second", phases=phases(emergence=[tranche("b", {"accepted_check_ins": 1})]))
    result = simulate(
        [first, second],
        [
            {"at": "2027-01-20", "check_in": {}},
            {"at": "2027-01-21", "review": {"period": 1, "decision": "accepted"}},
            {"at": "2027-01-25", "attach": {"programme": "second"}},
            {"at": "2027-02-20", "check_in": {}},
            {"at": "2027-02-21", "review": {"period": 2, "decision": "changes_requested"}},
            {"at": "2027-03-20", "check_in": {}},
            {"at": "2027-03-22", "review": {"period": 3, "decision": "accepted"}},
        ],
        funding_lines=["first"],
        until="P3M",
    )
    assert releases(result.events) == [
        ("first", "a", "2027-01-21", GRANT),
        ("second", "b", "2027-03-22", GRANT),
    ]


def _approval_setup(facilitator_pays: bool = False) -> Shell:
    loan = {
        "id": "pret",
        "amount": "9000.00",
        "purpose": "investment",
        "when": "approval",
        "instrument": {
            "loan": {
                "annual_rate": "0.01",
                "grace": "P6M",
                "term": "P12M",
                "installment_every": "P3M",
            }
        },
    }
    prog = version(
        programme(
            phases=phases(
                emergence=[tranche("ok", "approval"), loan],
                experimentation=[tranche("x", "approval")],
            )
        )
    )
    spec = cooperation(fiscal_host="tiers" if facilitator_pays else None)
    return Shell(spec, [prog], at(2027, 1, 4))


def test_rule_3_approval_authority_and_phase() -> None:
    shell = _approval_setup()
    facilitator = c.Actor(role="facilitator", id="tiers")
    funder = c.Actor(role="funder", id="fondation")
    with pytest.raises(Forbidden):
        shell.do(c.ApproveTranche(line="prog", tranche="pret", by=facilitator), at(2027, 1, 5))
    with pytest.raises(Forbidden):
        shell.do(
            c.ApproveTranche(line="prog", tranche="ok", by=c.Actor(role="funder", id="autre")),
            at(2027, 1, 5),
        )
    with pytest.raises(Conflict, match="belongs to experimentation"):
        shell.do(c.ApproveTranche(line="prog", tranche="x", by=funder), at(2027, 1, 5))
    events = shell.do(c.ApproveTranche(line="prog", tranche="ok", by=facilitator), at(2027, 1, 5))
    assert [e.type for e in events] == ["TrancheApproved", "TrancheReleased"]
    assert events[0].data == {
        "line": "prog",
        "tranche": "ok",
        "by_role": "facilitator",
        "by": "tiers",
    }
    with pytest.raises(Conflict, match="already released"):
        shell.do(c.ApproveTranche(line="prog", tranche="ok", by=funder), at(2027, 1, 6))
    events = shell.do(c.ApproveTranche(line="prog", tranche="pret", by=funder), at(2027, 1, 6))
    assert events[-1].data["kind"] == "loan"
    # A facilitator that is itself a payee (here as fiscal host) cannot approve.
    hosted = _approval_setup(facilitator_pays=True)
    with pytest.raises(Forbidden, match="payee"):
        hosted.do(c.ApproveTranche(line="prog", tranche="ok", by=facilitator), at(2027, 1, 5))


def test_rule_3_same_instant_order_lines_then_tranches() -> None:
    first = programme(
        "first",
        phases=phases(
            emergence=[tranche("a2", {"elapsed": "P1M"}), tranche("a1", {"elapsed": "P1M"})]
        ),
    )
    second = programme("second", phases=phases(emergence=[tranche("b", {"elapsed": "P1M"})]))
    result = simulate([second, first], [], funding_lines=["first", "second"], until="P2M")
    assert [(line, t, d) for line, t, d, _ in releases(result.events)] == [
        ("first", "a2", "2027-02-04"),
        ("first", "a1", "2027-02-04"),
        ("second", "b", "2027-02-04"),
    ]


def test_rule_4_released_once_and_repeats() -> None:
    prog = programme(
        phases=phases(
            emergence=[
                tranche("e", "entry"),
                tranche("c", {"accepted_check_ins": 1}),
                tranche("coord", {"elapsed": "P1M"}, repeat={"every": "P3M", "times": 3}),
            ],
            experimentation=[],
        )
    )
    result = simulate(
        [prog],
        [
            {"at": "2027-01-10", "advance": {}},
            {"at": "2027-01-20", "restart": {"to": "emergence", "reason": "nouveau départ"}},
            {"at": "2027-02-01", "check_in": {}},
            {"at": "2027-02-02", "review": {"id": "ci-1", "decision": "accepted"}},
            {"at": "2027-05-01", "advance": {}},
            {"at": "2027-08-15", "pause": {}},
            {"at": "2027-09-05", "resume": {}},
            {"at": "2027-10-01", "close": {"outcome": "completed"}},
        ],
    )
    assert releases(result.events) == [
        ("prog", "e", "2027-01-04", GRANT),  # never again on the restart
        ("prog", "c", "2027-02-02", GRANT),  # unreleased: still fires after the restart
        ("prog", "coord", "2027-02-20", GRANT),  # 01-20 + P1M
        ("prog", "coord:1", "2027-05-20", GRANT),  # in experimentation too
        ("prog", "coord:2", "2027-09-05", GRANT),  # 08-20 fell in the pause: held
        # 11-20 is after the close
    ]
    (freed,) = of_type(result.events, "CommitmentReleased")
    assert freed.data["amount"] == "1000.00"
    assert [r.occurrence for r in result.ledger if r.tranche == "coord"] == [None, 1, 2]


def test_rule_5_pause_holds_and_refuses() -> None:
    prog = programme(
        phases={
            "emergence": {
                "check_in_every": "P1M",
                "report_every": "P1M",
                "tranches": [tranche("ok", "approval"), tranche("c", {"accepted_check_ins": 1})],
            }
        }
    )
    shell = Shell(cooperation(), [version(prog)], at(2027, 1, 4))
    shell.do(c.Pause(), at(2027, 1, 10))
    for refused in [
        c.Pause(),
        c.Advance(),
        c.Restart(reason="r"),
        c.Pivot(objectives="o", reason="r"),
    ]:
        with pytest.raises(Conflict, match="paused"):
            shell.do(refused, at(2027, 1, 11))
    funder = c.Actor(role="funder", id="fondation")
    assert [
        e.type
        for e in shell.do(c.ApproveTranche(line="prog", tranche="ok", by=funder), at(2027, 1, 12))
    ] == ["TrancheApproved"]
    shell.do(c.SubmitCheckIn(check_in_id="k1"), at(2027, 1, 13))
    assert [
        e.type
        for e in shell.do(c.ReviewCheckIn(check_in_id="k1", decision="accepted"), at(2027, 1, 14))
    ] == ["CheckInReviewed"]
    shell.clock(at(2027, 3, 1))
    # Reports keep running while paused; the check-in clock does not.
    assert dates(shell.events, "ReportIssued") == ["2027-02-04"]
    assert of_type(shell.events, "CheckInReminderSent", "CheckInOverdue") == []
    events = shell.do(c.Resume(), at(2027, 3, 1))
    assert [(e.type, e.data.get("tranche")) for e in events] == [
        ("Resumed", None),
        ("TrancheReleased", "ok"),
        ("TrancheReleased", "c"),
    ]
    with pytest.raises(Conflict, match="not paused"):
        shell.do(c.Resume(), at(2027, 3, 2))
    shell.do(c.Pause(), at(2027, 3, 3))
    assert of_type(shell.do(c.Close(outcome="abandoned"), at(2027, 3, 4)), "Closed")


def test_rule_6_pivot_keeps_phase_and_money_and_reanchors() -> None:
    prog = programme(phases=phases(emergence=[tranche("e", "entry")]))
    shell = Shell(cooperation(), [version(prog)], at(2027, 1, 4))
    events = shell.do(c.Pivot(objectives="Nouvelle cible", reason="terrain"), at(2027, 1, 20))
    assert [e.type for e in events] == ["Pivoted"]
    assert shell.state.phase == "emergence" and shell.state.stint.number == 1
    assert shell.state.lines[0].released == Decimal(GRANT)
    notified = [x for x in shell.effects if isinstance(x, Notify) and x.about == "Pivoted"]
    assert [(n.to_role, n.to) for n in notified] == [("funder", "fondation")]
    shell.clock(at(2027, 3, 31))
    # Period 1 (due 02-04) is pending at the pivot: due 01-20 + P1M = 02-20, then 03-20.
    assert dates(shell.events, "CheckInReminderSent") == ["2027-02-13", "2027-03-13"]
    assert dates(shell.events, "CheckInOverdue") == ["2027-03-06"]


def test_rule_7_restart_goes_back_or_to_the_start_of_the_phase() -> None:
    prog = version(programme(phases=phases(emergence=[], experimentation=[tranche("x", "entry")])))
    shell = Shell(cooperation(), [prog], at(2027, 1, 4))
    shell.do(c.Advance(), at(2027, 2, 1))
    events = shell.do(c.Restart(to="experimentation", reason="même phase"), at(2027, 3, 1))
    assert [(e.type, e.data.get("phase")) for e in events] == [
        ("Restarted", None),
        ("PhaseEntered", "experimentation"),
    ]
    assert events[0].data == {
        "from": "experimentation",
        "to": "experimentation",
        "reason": "même phase",
    }
    with pytest.raises(InvalidInput, match="advance") as refused:
        shell.do(c.Restart(to="structuring", reason="en avant"), at(2027, 3, 2))
    assert refused.value.field == "to"
    events = shell.do(c.Restart(reason="départ d'un membre"), at(2027, 4, 1))
    assert events[1].data == {"phase": "emergence", "stint": 4}


def test_rule_8_period_assignment_replacement_and_reviewed_conflict() -> None:
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 31))
    # Periods: 1 (01-31, 02-28], 2 (02-28, 03-31], 3 (03-31, 04-30]; grace P14D.
    shell.do(c.SubmitCheckIn(check_in_id="a"), at(2027, 3, 10))  # 1 is not overdue till 03-14
    shell.do(c.SubmitCheckIn(check_in_id="b"), at(2027, 3, 12))  # 1 has one: 2 is next
    shell.do(c.SubmitCheckIn(check_in_id="b2", period=2), at(2027, 3, 13))  # replaces b
    submitted = of_type(shell.events, "CheckInSubmitted")
    assert [(e.data["check_in"], e.data["period"], e.data.get("replaces")) for e in submitted] == [
        ("a", 1, None),
        ("b", 2, None),
        ("b2", 2, "b"),
    ]
    with pytest.raises(InvalidInput, match="replaced"):
        shell.do(c.ReviewCheckIn(check_in_id="b", decision="accepted"), at(2027, 3, 14))
    shell.do(c.ReviewCheckIn(period=2, decision="changes_requested"), at(2027, 3, 14))
    with pytest.raises(Conflict, match="reviewed"):
        shell.do(c.SubmitCheckIn(check_in_id="c", period=2), at(2027, 3, 15))
    with pytest.raises(InvalidInput, match="not begun"):
        shell.do(c.SubmitCheckIn(check_in_id="c", period=4), at(2027, 3, 15))
    shell.clock(at(2027, 5, 31))
    # 1 was reminded before its check-in; 2 is in (changes requested still counts) when
    # its reminder falls; 3 (due 04-30) and 4 (due 05-31) are not.
    assert dates(shell.events, "CheckInReminderSent") == ["2027-02-21", "2027-04-23", "2027-05-24"]
    assert dates(shell.events, "CheckInOverdue") == ["2027-05-14"]
    # A late check-in: 3 is overdue, 4 (due 05-31) is not until 06-14, so it takes 4; the
    # next one takes the current period, 5 (05-31, 06-30].
    shell.do(c.SubmitCheckIn(check_in_id="d"), at(2027, 6, 2))
    assert shell.events[-1].data["period"] == 4
    shell.do(c.SubmitCheckIn(check_in_id="e"), at(2027, 6, 3))
    assert shell.events[-1].data["period"] == 5


def test_rule_8_void_periods_and_reminders_before_the_anchor() -> None:
    prog = programme(
        phases={
            "emergence": {
                "check_in_every": "P7D",
                "reminder_before": "P10D",
                "check_in_grace": "P3D",
                "tranches": [],
            }
        }
    )
    shell = Shell(cooperation(), [version(prog)], at(2027, 1, 4))
    # Dues 01-11, 01-18, 01-25…; reminders would precede the anchor 01-04 until period 2.
    shell.do(c.Pause(), at(2027, 1, 14))
    shell.do(c.Resume(), at(2027, 1, 28))
    with pytest.raises(InvalidInput, match="void"):
        shell.do(c.SubmitCheckIn(check_in_id="v", period=2), at(2027, 1, 28))
    shell.clock(at(2027, 2, 12))
    # 01-14 overdue of period 1 falls in the pause: swallowed. Periods 2 (01-18) and 3 (01-25)
    # are void. Period 4 re-anchored: due 02-04 (reminder 01-25 is before the anchor 01-28),
    # period 5 due 02-11, reminded 02-01, period 6 due 02-18, reminded 02-08.
    assert dates(shell.events, "CheckInReminderSent") == ["2027-01-08", "2027-02-01", "2027-02-08"]
    assert dates(shell.events, "CheckInOverdue") == ["2027-02-07"]
    assert [e.data["period"] for e in of_type(shell.events, "CheckInOverdue")] == [4]


def test_rule_8_shortest_cadence_across_lines() -> None:
    slow = programme(
        "slow",
        phases={"emergence": {"check_in_every": "P2M", "tranches": []}},
    )
    fast = programme(
        "fast",
        phases={
            "emergence": {
                "check_in_every": "P30D",
                "check_in_grace": "P5D",
                "reminder_before": "P2D",
                "tranches": [],
            }
        },
    )
    # 01-31 + P30D = 03-02 is before 01-31 + P2M = 03-31: the fast programme's schedule.
    result = simulate(
        [slow, fast],
        [],
        start="2027-01-31",
        funding_lines=["slow", "fast"],
        until="2027-03-10",
    )
    assert dates(result.events, "CheckInReminderSent") == ["2027-02-28"]
    assert dates(result.events, "CheckInOverdue") == ["2027-03-07"]
    # A phase no line's programme defines has no check-ins.
    none = simulate([slow], [], start_phase="structuring", funding_lines=["slow"], until="P1Y")
    assert of_type(none.events, "CheckInReminderSent", "CheckInOverdue") == []


def test_rule_9_commitment_on_acceptance_and_freeing_at_close() -> None:
    loan = {
        "id": "pret",
        "amount": "5000.00",
        "purpose": "investment",
        "when": "approval",
        "instrument": {
            "loan": {
                "annual_rate": "0.01",
                "grace": "P6M",
                "term": "P12M",
                "installment_every": "P6M",
            }
        },
    }
    spec = programme(
        phases=phases(
            emergence=[
                tranche("e", "entry"),
                tranche("r", {"elapsed": "P1M"}, repeat={"every": "P1M", "times": 2}),
                loan,
            ]
        ),
        cap_per_cooperation="9000.00",
    )
    shell = Shell(cooperation(), [version(spec)], at(2027, 1, 4), accepted=False)
    assert [e.type for e in shell.events] == [
        "CooperationRegistered",
        "FundingLineProposed",
        "PhaseEntered",
    ]
    assert shell.do(c.AcceptLine(line="prog"), at(2027, 1, 5)) == []
    (request,) = [x for x in shell.effects if isinstance(x, RequestCommitment)]
    # 1000 + 3 × 1000 + 5000: every tranche, each repeat occurrence and the loan principal.
    assert (request.amount, request.cap) == (Decimal("9000.00"), Decimal("9000.00"))
    with pytest.raises(Conflict, match="being made"):
        shell.do(c.AcceptLine(line="prog"), at(2027, 1, 5))
    assert shell.do(c.CommitmentRefused(line="prog", reason="budget"), at(2027, 1, 5)) == []
    assert shell.state.lines[0].status == "proposed"
    shell.do(c.AcceptLine(line="prog"), at(2027, 1, 6))
    events = shell.do(c.CommitmentCommitted(line="prog"), at(2027, 1, 6))
    assert [e.type for e in events] == ["FundingLineAttached", "TrancheReleased"]
    assert shell.state.lines[0].committed == Decimal("9000.00")
    events = shell.do(c.Close(outcome="completed"), at(2027, 2, 10))
    # Released: e (01-06) and r (02-06): 9000 − 2000 left.
    assert [(e.type, e.data.get("amount")) for e in events] == [
        ("CommitmentReleased", "7000.00"),
        ("ReportIssued", None),
        ("Closed", None),
    ]
    (free,) = [x for x in shell.effects if isinstance(x, FreeCommitment)]
    assert free.amount == Decimal("7000.00")


def test_rule_9_budget_refuses_then_raised() -> None:
    small = programme("small", budget="500.00")
    with pytest.raises(ScenarioError, match=r"500\.00 EUR left, 1000\.00 needed"):
        simulate([small], [], funding_lines=["small"])
    other = programme("other", budget="1500.00")
    attach: dict[str, Any] = {"at": "P1D", "attach": {"programme": "small"}}
    with pytest.raises(ScenarioError, match=r"500\.00 EUR left") as refused:
        simulate([small, other], [attach], funding_lines=["other"])
    assert refused.value.step_index == 0
    raise_budget = {"at": "P1D", "raise_budget": {"programme": "small", "amount": "500.00"}}
    raised = simulate([small, other], [raise_budget, attach], funding_lines=["other"])
    assert releases(raised.events) == [
        ("other", "entry", "2027-01-04", GRANT),
        ("small", "entry", "2027-01-05", GRANT),
    ]
    with pytest.raises(ScenarioError, match="already has"):
        simulate(
            [other], [{"at": "P1D", "attach": {"programme": "other"}}], funding_lines=["other"]
        )


def test_rule_10_release_split_between_payees() -> None:
    prog = programme(phases=phases(emergence=[tranche("e", "entry", amount="1000.00")]))
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


def test_rule_11_loan_schedule_reminders_and_repayments() -> None:
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
    assert result.events[-1].type == "LoanInstallmentDue"
    assert result.state is not None and is_finished(result.state)
    assert due[0].data["paid"] == "6816.80"
    (repaid,) = of_type(result.events, "RepaymentRecorded")
    assert repaid.data["installments"] == [{"installment": 1, "amount": "6816.80"}]


def test_rule_11_closed_with_a_live_loan_is_not_finished() -> None:
    loan = {
        "id": "pret",
        "amount": "1200.00",
        "purpose": "investment",
        "when": "entry",
        "instrument": {
            "loan": {"annual_rate": "0", "grace": "P1M", "term": "P3M", "installment_every": "P1M"}
        },
    }
    shell = Shell(
        cooperation(), [version(programme(phases=phases(emergence=[loan])))], at(2027, 1, 4)
    )
    shell.do(c.Close(outcome="completed"), at(2027, 1, 10))
    assert not is_finished(shell.state)
    assert next_wakeup(shell.state) == at(2027, 2, 18)  # reminder of 03-04 − P14D
    shell.clock(at(2027, 4, 4))
    assert is_finished(shell.state) and next_wakeup(shell.state) is None
    events = shell.do(
        c.RecordRepayment(line="prog", tranche="pret", amount="400.00", installment=2),
        at(2027, 4, 5),
    )
    assert events[0].data["installments"] == [{"installment": 2, "amount": "400.00"}]


def test_rule_12_reports_per_line_from_attachment() -> None:
    prog = programme(
        phases={
            "emergence": {"check_in_every": "P1M", "report_every": "P2M", "tranches": []},
            "experimentation": {"check_in_every": "P1M", "report_every": "P1M", "tranches": []},
        }
    )
    result = simulate(
        [prog],
        [
            {"at": "2027-03-15", "advance": {"to": "structuring"}},
            {"at": "2027-10-31", "close": {"outcome": "completed"}},
        ],
        start="2027-01-31",
    )
    reports = [
        (e.data["period"], e.data["start"][:10], e.data["end"][:10], e.data["final"])
        for e in of_type(result.events, "ReportIssued")
    ]
    # P2M from 01-31: 03-31 (in force at 01-31), then structuring (undefined) → P6M: 09-30;
    # the close issues one final report on 10-31.
    assert reports == [
        (1, "2027-01-31", "2027-03-31", False),
        (2, "2027-03-31", "2027-09-30", False),
        (3, "2027-09-30", "2027-10-31", True),
    ]
    on_boundary = simulate(
        [prog], [{"at": "2027-03-31", "close": {"outcome": "abandoned"}}], start="2027-01-31"
    )
    final = of_type(on_boundary.events, "ReportIssued")
    assert [(e.at.date().isoformat(), e.data["final"]) for e in final] == [("2027-03-31", True)]


def test_rule_13_event_types_and_gapless_sequence() -> None:
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) == 25
    result = simulate([programme()], [{"at": "P3M", "close": {"outcome": "completed"}}])
    assert [e.seq for e in result.events] == list(range(1, len(result.events) + 1))
    assert all(e.type in EVENT_TYPES for e in result.events)
    # Dated at the rule's instant: the reminder of period 1 (02-04 − P7D), whenever ticked.
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 4))
    late = tick(shell.state, at(2027, 3, 1))
    assert late.events[0].type == "CheckInReminderSent"
    assert late.events[0].at == at(2027, 1, 28)


def test_rule_14_same_instant_commands_first_then_clock() -> None:
    prog = programme(phases={"emergence": {"check_in_every": "P1M", "tranches": []}})
    # Period 1 due 02-04, overdue 02-18: a check-in at 02-18 comes first, so no overdue.
    result = simulate([prog], [{"at": "2027-02-18", "check_in": {}}], until="2027-02-20")
    assert of_type(result.events, "CheckInOverdue") == []
    two = programme(phases=phases(emergence=[tranche("e", "entry"), tranche("a", "approval")]))
    shell = Shell(cooperation(), [version(two)], at(2027, 1, 4))
    events = shell.do(c.Close(outcome="completed"), at(2027, 1, 28))
    assert [e.type for e in events] == ["CommitmentReleased", "ReportIssued", "Closed"]
    # The reminder of 01-28 is the clock's: it would follow the close, which stopped it.
    assert of_type(shell.events, "CheckInReminderSent") == []
    assert [e.type for e in shell.events[:4]] == [
        "CooperationRegistered",
        "FundingLineAttached",
        "PhaseEntered",
        "TrancheReleased",
    ]


def test_rule_15_power_is_shared() -> None:
    spec = cooperation()
    shell = Shell(spec, [version(programme())], at(2027, 1, 4), accepted=False)
    proposed = [x for x in shell.effects if isinstance(x, Notify)]
    assert [(n.to_role, n.to, n.about) for n in proposed] == [
        ("funder", "fondation", "FundingLineProposed")
    ]
    events = shell.do(c.RequestTransition(action="advance", reason="prêts"), at(2027, 1, 5))
    assert events[0].data == {"action": "advance", "reason": "prêts", "phase": "emergence"}
    assert shell.effects[-1] == Notify(
        to_role="facilitator", to="tiers", about="TransitionRequested", seq=events[0].seq
    )
    joined = shell.do(
        c.MemberJoin(
            member={"id": "mairie", "name": "Mairie de Lilas", "legal_form": "local_authority"}
        ),
        at(2027, 1, 6),
    )
    assert joined[0].data == {"id": "mairie", "legal_form": "local_authority", "informal": False}
    left = shell.do(c.MemberLeave(member_id="habitants"), at(2027, 1, 7))
    assert left[0].data == {"member": "habitants"}
    with pytest.raises(Conflict, match="payee"):
        shell.do(c.MemberLeave(member_id="asso"), at(2027, 1, 8))
    # No names in the state or the events.
    dumped = shell.state.model_dump_json() + "".join(e.model_dump_json() for e in shell.events)
    assert "Mairie de Lilas" not in dumped and "Habitants" not in dumped
    shell.do(c.DeclineLine(line="prog", note="hors cible"), at(2027, 1, 9))
    assert shell.events[-1].type == "FundingLineDeclined"


def test_rule_16_phase_overrun_once_per_stint() -> None:
    short = programme(
        "short",
        phases={"emergence": {"check_in_every": "P1M", "max_duration": "P3M", "tranches": []}},
    )
    long = programme(
        "long",
        phases={"emergence": {"check_in_every": "P1M", "max_duration": "P6M", "tranches": []}},
    )
    result = simulate(
        [long, short],
        [
            {"at": "2027-02-01", "pause": {}},
            {"at": "2027-02-11", "resume": {}},
            {"at": "2027-06-01", "restart": {"reason": "encore"}},
        ],
        start="2027-01-04",
        funding_lines=["long", "short"],
        until="2027-12-31",
    )
    # 01-04 + P3M = 04-04, + 10 days paused; the second stint: 06-01 + P3M = 09-01.
    overruns = of_type(result.events, "PhaseOverran")
    assert [(e.at.date().isoformat(), e.data["stint"]) for e in overruns] == [
        ("2027-04-14", 1),
        ("2027-09-01", 2),
    ]
    assert overruns[0].data["max_duration"] == "P3M"


def test_effects_of_a_release_carry_the_idempotency_key() -> None:
    prog = programme(
        phases=phases(emergence=[tranche("r", "entry", repeat={"every": "P1M", "times": 1})])
    )
    shell = Shell(cooperation(), [version(prog)], at(2027, 1, 4))
    shell.clock(at(2027, 2, 4))
    keys = [x.key for x in shell.effects if isinstance(x, Release)]
    assert keys == ["ruche:prog:r", "ruche:prog:r:1"]
    assert [x.final for x in shell.effects if isinstance(x, RenderReport)] == []


def test_decide_never_mutates_its_input() -> None:
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 4))
    before = shell.state.model_dump_json()
    decide(shell.state, c.Pause(), at(2027, 3, 1))
    tick(shell.state, at(2027, 6, 1))
    assert shell.state.model_dump_json() == before
