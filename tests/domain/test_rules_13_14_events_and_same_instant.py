"""Rules 13 and 14: every change an event of a known type in one gapless sequence, dated at its
rule's instant; at one instant the commands first, in their order, then the clock; the fixed
order of one command's events."""

from __future__ import annotations

from domain import commands as c
from domain.events import EVENT_TYPES
from domain.lifecycle import tick
from tests.domain.helpers import (
    Shell,
    at,
    cooperation,
    grant,
    of_type,
    periods,
    phase,
    phases,
    programme,
    releases,
    simulate,
    version,
)


def test_rule_13_event_types_and_gapless_sequence() -> None:
    # The 28 event types of DESIGN.md's rule 13, and the 8 of its "Rules 3".
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) == 28 + 8
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
    two = programme(phases=phases(emergence=[grant("e", "entry"), grant("a", "approval")]))
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


def test_rule_14_check_ins_and_an_advance_at_clock_instants_come_first() -> None:
    prog = programme(
        phases={
            "emergence": phase([grant("e-el", {"elapsed": "P1M"})]),
            "experimentation": phase([grant("x-entry", "entry", "2000.00")]),
        }
    )
    result = simulate(
        [prog],
        [
            {"at": "2027-02-18", "check_in": {}},  # the overdue instant of period 1
            {"at": "2027-02-25", "check_in": {}},  # the reminder instant of period 2
        ],
        until="2027-03-01",
    )
    # Period 1 (due 02-04): the check-in at 02-18 (= 02-04 + P14D) is taken before the
    # clock, so period 1 is not yet overdue: it fills 1 and no overdue follows. Period 2
    # (due 03-04) is reminded at 02-25: the check-in of 02-25 comes first, no reminder.
    assert periods(result, "CheckInSubmitted") == [("2027-02-18", 1), ("2027-02-25", 2)]
    assert periods(result, "CheckInReminderSent") == [("2027-01-28", 1)]
    assert of_type(result.events, "CheckInOverdue") == []
    # e-el falls at 01-04 + P1M = 02-04; the advance at 02-04 comes first: it never fires.
    moved = simulate([prog], [{"at": "2027-02-04", "advance": {}}], until="2027-03-01")
    assert releases(moved.events) == [("prog", "x-entry", "2027-02-04", "2000.00")]


def test_rule_14_registration_event_order_with_two_lines() -> None:
    a = programme("a", phases={"emergence": phase([grant("a-entry", "entry")])})
    b = programme("b", phases={"emergence": phase([grant("b-entry", "entry", "500.00")])})
    result = simulate([a, b], [], funding_lines=["a", "b"], until="P1D")
    # registration → CooperationRegistered, per line FundingLineAttached (scenario), then
    # PhaseEntered, releases in the order of lines.
    assert [(e.type, e.data.get("line")) for e in result.events] == [
        ("CooperationRegistered", None),
        ("FundingLineAttached", "a"),
        ("FundingLineAttached", "b"),
        ("PhaseEntered", None),
        ("TrancheReleased", "a"),
        ("TrancheReleased", "b"),
    ]
    assert [e.seq for e in result.events] == list(range(1, 7))
