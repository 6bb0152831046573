"""Rules 5, 6 and 7: pause and resume (what they hold, refuse and release), pivot (phase,
counters and money kept), restart (back, or to the start of the phase, in a new stint)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import commands as c
from domain.effects import Notify
from domain.errors import Conflict, InvalidInput
from domain.scenario import ScenarioError
from tests.domain.helpers import (
    GRANT,
    Shell,
    at,
    cooperation,
    dates,
    grant,
    in_time_order,
    of_type,
    periods,
    phase,
    phases,
    programme,
    releases,
    simulate,
    timeline,
    types_at,
    version,
)

# ---------------------------------------------------------------------------------------
# Rule 5: pause and resume


def test_rule_5_pause_holds_and_refuses() -> None:
    prog = programme(
        phases={
            "emergence": {
                "check_in_every": "P1M",
                "report_every": "P1M",
                "tranches": [grant("ok", "approval"), grant("c", {"accepted_check_ins": 1})],
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


def test_rule_5_pause_voids_periods_pushes_elapsed_and_reports_keep_running() -> None:
    prog = programme(
        phases={"emergence": phase([grant("el", {"elapsed": "P3M"})], report_every="P2M")}
    )
    result = simulate(
        [prog],
        [{"at": "2027-03-15", "pause": {}}, {"at": "2027-04-05", "resume": {}}],
        start="2027-01-31",
        until="2027-06-20",
    )
    # Dues from 01-31: 1 → 02-28, 2 → 03-31, 3 → 04-30. Period 2 is due in [03-15, 04-05):
    # void. The resume re-anchors period 3 (the first due not before 04-05): 04-05 + P1M =
    # 05-05, period 4 06-05, period 5 07-05.
    assert periods(result, "CheckInReminderSent") == [
        ("2027-02-21", 1),  # 02-28 − P7D
        ("2027-04-28", 3),  # 05-05 − P7D
        ("2027-05-29", 4),  # 06-05 − P7D
    ]
    assert periods(result, "CheckInOverdue") == [
        ("2027-03-14", 1),  # 02-28 + P14D, the day before the pause
        ("2027-05-19", 3),  # 05-05 + P14D
        ("2027-06-19", 4),  # 06-05 + P14D
    ]
    # 01-31 + P3M = 04-30, + 21 days paused = 05-21.
    assert releases(result.events) == [("prog", "el", "2027-05-21", "1000.00")]
    # Reports keep running while paused: 01-31 + P2M = 03-31, + P4M = 05-31.
    assert dates(result.events, "ReportIssued") == ["2027-03-31", "2027-05-31"]
    assert in_time_order(result.events)


def test_rule_5_refusals_around_a_pause_and_what_is_still_taken() -> None:
    prog = programme(
        phases={"emergence": phase([grant("e", "entry")]), "experimentation": phase([])}
    )
    pause = {"at": "P1D", "pause": {}}
    for step, message in [
        ({"pause": {}}, "already paused"),
        ({"advance": {}}, "resume first"),
        ({"restart": {"reason": "r"}}, "resume first"),
        ({"pivot": {"objectives": "o", "reason": "r"}}, "resume first"),
    ]:
        with pytest.raises(ScenarioError, match=message):
            simulate([prog], [pause, {"at": "P2D", **step}])
    with pytest.raises(ScenarioError, match="not paused"):
        simulate([prog], [{"at": "P1D", "resume": {}}])
    # Close is always allowed; check-ins and reviews are still taken while paused.
    closed = simulate(
        [prog],
        [
            pause,
            {"at": "P2D", "check_in": {}},
            {"at": "P3D", "review": {"period": 1, "decision": "accepted"}},
            {"at": "P4D", "close": {"outcome": "abandoned"}},
        ],
    )
    # (the entry tranche, all this line can pay, was released: nothing to free.)
    assert [e.type for e in closed.events[-4:]] == [
        "CheckInSubmitted",
        "CheckInReviewed",
        "ReportIssued",
        "Closed",
    ]


def test_rule_5_approval_and_review_while_paused_take_effect_at_resume() -> None:
    prog = programme(
        phases={
            "emergence": phase(
                [grant("appr", "approval"), grant("count", {"accepted_check_ins": 1}, "500.00")]
            )
        }
    )
    result = simulate(
        [prog],
        [
            {"at": "2027-01-20", "check_in": {}},
            {"at": "2027-01-25", "pause": {}},
            {"at": "2027-01-28", "review": {"period": 1, "decision": "accepted"}},
            {"at": "2027-02-01", "approve": {"line": "prog", "tranche": "appr"}},
            {"at": "2027-02-10", "resume": {}},
        ],
        until="2027-02-11",
    )
    # The approval is recorded when given; both releases wait for the resume, in spec order.
    assert timeline(result, "TrancheApproved") == [("TrancheApproved", "2027-02-01")]
    assert releases(result.events) == [
        ("prog", "appr", "2027-02-10", "1000.00"),
        ("prog", "count", "2027-02-10", "500.00"),
    ]
    assert types_at(result, "2027-02-10") == ["Resumed", "TrancheReleased", "TrancheReleased"]


def test_rule_5_attachment_while_paused_starts_its_schedule_at_resume() -> None:
    a = programme("a", phases={"emergence": phase([])})
    b = programme(
        "b",
        phases={
            "experimentation": phase(
                [grant("b-entry", "entry", "500.00"), grant("b-el", {"elapsed": "P1M"}, "300.00")]
            )
        },
    )
    result = simulate(
        [a, b],
        [
            {"at": "2027-02-01", "pause": {}},
            {"at": "2027-02-10", "attach": {"programme": "b"}},
            {"at": "2027-04-01", "resume": {}},
        ],
        start_phase="experimentation",
        funding_lines=["a"],
        until="2027-05-20",
    )
    # No line defined experimentation until b: no check-ins before. b's attachment takes
    # effect at resume: its entry tranche is released then, and its check-in schedule starts
    # there: period 1 due 04-01 + P1M = 05-01 (not a period 1 due 03-10, void in the pause).
    assert releases(result.events) == [
        ("b", "b-entry", "2027-04-01", "500.00"),
        # Rule 3 as written: attachment 02-10 + P1M = 03-10, + 50 days paused since then
        # (02-10 → 04-01) = 04-29.
        ("b", "b-el", "2027-04-29", "300.00"),
    ]
    assert periods(result, "CheckInReminderSent") == [("2027-04-24", 1)]
    assert periods(result, "CheckInOverdue") == [("2027-05-15", 1)]


# ---------------------------------------------------------------------------------------
# Rule 6: pivot


def test_rule_6_pivot_keeps_phase_and_money_and_reanchors() -> None:
    prog = programme(phases=phases(emergence=[grant("e", "entry")]))
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


# ---------------------------------------------------------------------------------------
# Rule 7: restart


def test_rule_7_restart_goes_back_or_to_the_start_of_the_phase() -> None:
    prog = version(programme(phases=phases(emergence=[], experimentation=[grant("x", "entry")])))
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


def test_rule_7_restart_pays_nothing_twice_and_counts_afresh() -> None:
    prog = programme(
        phases={
            "emergence": phase(
                [grant("e-entry", "entry"), grant("e-count", {"accepted_check_ins": 2}, "500.00")]
            ),
            "experimentation": phase([grant("x-entry", "entry", "2000.00")]),
        }
    )
    result = simulate(
        [prog],
        [
            {"at": "2027-01-20", "check_in": {}},
            {"at": "2027-01-21", "review": {"period": 1, "decision": "accepted"}},
            {"at": "2027-02-01", "advance": {}},
            {"at": "2027-03-01", "restart": {"to": "emergence", "reason": "départ"}},
            {"at": "2027-03-10", "check_in": {}},  # stint 3, period 1 (03-01, 04-01]
            {"at": "2027-03-11", "review": {"period": 1, "decision": "accepted"}},
            {"at": "2027-04-05", "check_in": {}},  # period 2 (04-01, 05-01]
            {"at": "2027-04-06", "review": {"period": 2, "decision": "accepted"}},
        ],
        until="2027-04-07",
    )
    # restart → Restarted, PhaseEntered; e-entry was paid in stint 1: not again. The stint-1
    # acceptance does not count: e-count needs the two of stint 3 (the second on 04-06).
    assert types_at(result, "2027-03-01") == ["Restarted", "PhaseEntered"]
    assert releases(result.events) == [
        ("prog", "e-entry", "2027-01-04", "1000.00"),
        ("prog", "x-entry", "2027-02-01", "2000.00"),
        ("prog", "e-count", "2027-04-06", "500.00"),
    ]
    with pytest.raises(ScenarioError, match="advance"):
        simulate([prog], [{"at": "P1D", "restart": {"to": "experimentation", "reason": "r"}}])
