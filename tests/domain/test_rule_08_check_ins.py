"""Rule 8: check-ins. The schedule from the stint start (month ends, leap years), the
shortest cadence among the lines, re-anchoring by a pivot or a resume, void periods, which
period a check-in fills, reminders and overdues."""

from __future__ import annotations

from typing import Any

import pytest

from domain import commands as c
from domain.errors import Conflict, InvalidInput
from domain.scenario import ScenarioError
from tests.domain.helpers import (
    Shell,
    at,
    cooperation,
    dates,
    grant,
    in_time_order,
    of_type,
    periods,
    phase,
    programme,
    simulate,
    types_at,
    version,
)

# ---------------------------------------------------------------------------------------
# The schedule


def test_rule_8_dues_from_the_anchor_fall_on_month_ends_and_leap_days() -> None:
    prog = programme(phases={"emergence": phase([])})
    result = simulate([prog], [], start="2028-01-31", until="2028-05-14")
    # 01-31 + P1M = 02-29 (leap), + P2M = 03-31, + P3M = 04-30: from the anchor.
    assert dates(result.events, "CheckInReminderSent") == ["2028-02-22", "2028-03-24", "2028-04-23"]
    # due + P14D: 03-14, 04-14, 05-14 (until is inclusive).
    assert dates(result.events, "CheckInOverdue") == ["2028-03-14", "2028-04-14", "2028-05-14"]


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


def test_rule_8_shortest_cadence_compared_from_stint_start_also_at_reanchor() -> None:
    monthly = programme("monthly", phases={"emergence": phase([])})
    thirty = programme("thirty", phases={"emergence": phase([], "P30D", reminder_before="P2D")})
    result = simulate(
        [monthly, thirty],
        [{"at": "2027-03-01", "pivot": {"objectives": "o", "reason": "r"}}],
        start="2027-01-31",
        funding_lines=["monthly", "thirty"],
        until="2027-04-26",
    )
    # Compared as stint start + cadence: 01-31 + P1M = 02-28 < 01-31 + P30D = 03-02: the
    # monthly schedule, also when the pivot chooses again (from 03-01, P30D would look shorter,
    # but rule 8 compares from the stint start). Period 1 due 02-28; period 2 pending at the
    # pivot: 03-01 + P1M = 04-01, period 3 05-01.
    assert periods(result, "CheckInReminderSent") == [
        ("2027-02-21", 1),
        ("2027-03-25", 2),
        ("2027-04-24", 3),
    ]
    assert periods(result, "CheckInOverdue") == [("2027-03-14", 1), ("2027-04-15", 2)]


def test_rule_8_tie_takes_earlier_lines_grace_and_reminder_lead() -> None:
    one = programme(
        "one", phases={"emergence": phase([], check_in_grace="P10D", reminder_before="P5D")}
    )
    two = programme(
        "two", phases={"emergence": phase([], check_in_grace="P3D", reminder_before="P1D")}
    )
    result = simulate([one, two], [], funding_lines=["one", "two"], until="2027-02-20")
    # Both P1M: due 02-04; the earlier line's lead (P5D) and grace (P10D).
    assert dates(result.events, "CheckInReminderSent") == ["2027-01-30"]
    assert dates(result.events, "CheckInOverdue") == ["2027-02-14"]


def test_rule_8_phase_no_line_defines_has_no_check_ins() -> None:
    prog = programme(phases={"emergence": phase([])})
    result = simulate([prog], [], start_phase="structuring", until="P1Y")
    assert of_type(result.events, "CheckInReminderSent", "CheckInOverdue") == []
    with pytest.raises(ScenarioError, match="no check-ins"):
        simulate([prog], [{"at": "P1M", "check_in": {}}], start_phase="structuring")
    slow = programme("slow", phases={"emergence": {"check_in_every": "P2M", "tranches": []}})
    none = simulate([slow], [], start_phase="structuring", funding_lines=["slow"], until="P1Y")
    assert of_type(none.events, "CheckInReminderSent", "CheckInOverdue") == []


# ---------------------------------------------------------------------------------------
# Re-anchoring (pivot, resume) and void periods


def test_rule_8_pivot_reanchors_pending_period() -> None:
    prog = programme(phases={"emergence": phase([grant("e", "entry")])})
    result = simulate(
        [prog],
        [
            {"at": "2027-02-10", "pivot": {"objectives": "Nouvelle cible", "reason": "terrain"}},
            {"at": "2027-03-05", "check_in": {}},
        ],
        until="2027-04-30",
    )
    # Dues 02-04, 03-04… Pending at 02-10: period 2 (03-04 is not before 02-10): now due
    # 02-10 + P1M = 03-10, period 3 at 02-10 + P2M = 04-10; numbers continue.
    assert periods(result, "CheckInReminderSent") == [
        ("2027-01-28", 1),  # 02-04 − P7D
        ("2027-03-03", 2),  # 03-10 − P7D
        ("2027-04-03", 3),  # 04-10 − P7D
    ]
    assert periods(result, "CheckInOverdue") == [
        ("2027-02-18", 1),  # 02-04 + P14D: period 1 keeps its due date
        ("2027-04-24", 3),  # 04-10 + P14D
    ]
    # 03-05: period 1 is overdue since 02-18, period 2 (02-04, 03-10] has begun: it takes 2.
    assert periods(result, "CheckInSubmitted") == [("2027-03-05", 2)]
    # Pivot keeps phase, counters and money: no new stint, no release.
    assert types_at(result, "2027-02-10") == ["Pivoted"]
    assert len(of_type(result.events, "PhaseEntered", "TrancheReleased")) == 2


def test_rule_8_pivot_at_a_due_instant_reanchors_that_period() -> None:
    prog = programme(phases={"emergence": phase([])})
    result = simulate(
        [prog],
        [{"at": "2027-03-04", "pivot": {"objectives": "o", "reason": "r"}}],
        until="2027-04-10",
    )
    # Period 2 is due 03-04, not before the pivot at 03-04: it is the pending one, now due
    # 03-04 + P1M = 04-04 (its old reminder 02-25 was sent; the new one is 03-28).
    assert periods(result, "CheckInReminderSent") == [
        ("2027-01-28", 1),
        ("2027-02-25", 2),
        ("2027-03-28", 2),
    ]
    assert periods(result, "CheckInOverdue") == [("2027-02-18", 1)]  # not 03-18: re-dated


def test_rule_8_resume_after_pivot_swallows_an_overdue_that_fell_in_the_pause() -> None:
    prog = programme(phases={"emergence": phase([])})
    result = simulate(
        [prog],
        [
            {"at": "2027-02-10", "pivot": {"objectives": "o", "reason": "r"}},
            {"at": "2027-02-15", "pause": {}},
            {"at": "2027-02-25", "resume": {}},
        ],
        until="2027-04-30",
    )
    # Period 1 was due 02-04 (before the pivot): overdue at 02-18, inside the pause
    # [02-15, 02-25): nothing fires for it, then or later. The pivot made period 2 due 03-10;
    # the resume re-anchors it: 02-25 + P1M = 03-25, period 3 04-25.
    assert periods(result, "CheckInReminderSent") == [
        ("2027-01-28", 1),
        ("2027-03-18", 2),  # 03-25 − P7D
        ("2027-04-18", 3),  # 04-25 − P7D
    ]
    assert periods(result, "CheckInOverdue") == [("2027-04-08", 2)]  # 03-25 + P14D
    assert in_time_order(result.events)


def test_rule_8_line_attached_mid_stint_changes_schedule_only_at_reanchor() -> None:
    slow = programme("slow", phases={"emergence": phase([])})
    fast = programme(
        "fast",
        phases={"emergence": phase([], "P14D", check_in_grace="P2D", reminder_before="P1D")},
    )
    result = simulate(
        [slow, fast],
        [
            {"at": "2027-01-10", "attach": {"programme": "fast"}},
            {"at": "2027-02-08", "pivot": {"objectives": "o", "reason": "r"}},
        ],
        funding_lines=["slow"],
        until="2027-03-09",
    )
    # Until the pivot, slow's schedule: period 1 due 02-04 (reminder 01-28, overdue 02-18,
    # slow's P14D grace). At the pivot, fast is shorter (01-04 + P14D < 01-04 + P1M): period
    # 2 (first due not before 02-08) due 02-08 + P14D = 02-22, period 3 03-08.
    assert periods(result, "CheckInReminderSent") == [
        ("2027-01-28", 1),
        ("2027-02-21", 2),  # 02-22 − P1D
        ("2027-03-07", 3),  # 03-08 − P1D
    ]
    assert periods(result, "CheckInOverdue") == [
        ("2027-02-18", 1),
        ("2027-02-24", 2),  # 02-22 + P2D
    ]


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


# ---------------------------------------------------------------------------------------
# Which period a check-in fills


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


def test_rule_8_check_in_assignment_named_earliest_current_and_replaced() -> None:
    prog = programme(phases={"emergence": phase([])})
    steps: list[dict[str, Any]] = [
        {"at": "2027-03-10", "check_in": {}},  # ci-1
        {"at": "2027-03-12", "check_in": {}},  # ci-2
        {"at": "2027-03-13", "check_in": {"period": 2}},  # ci-3
        {"at": "2027-03-14", "review": {"period": 2, "decision": "changes_requested"}},
        {"at": "2027-06-02", "check_in": {}},  # ci-4
        {"at": "2027-06-03", "check_in": {}},  # ci-5
        {"at": "2027-06-04", "check_in": {}},  # ci-6
    ]
    result = simulate([prog], steps, start="2027-01-31", until="2027-08-20")
    # Dues from 01-31: 02-28, 03-31, 04-30, 05-31, 06-30, 07-31, 08-31.
    submitted = of_type(result.events, "CheckInSubmitted")
    assert [(e.data["check_in"], e.data["period"], e.data.get("replaces")) for e in submitted] == [
        ("ci-1", 1, None),  # 1 has begun, no check-in, not overdue until 03-14
        ("ci-2", 2, None),  # 1 is in: 2 (02-28, 03-31] is the earliest
        ("ci-3", 2, "ci-2"),  # named; its check-in is unreviewed: replaced
        ("ci-4", 4, None),  # 3 overdue since 05-14; 4 (04-30, 05-31] not until 06-14
        ("ci-5", 5, None),  # the earliest still open is 5 (05-31, 06-30]
        ("ci-6", 5, "ci-5"),  # none left: the current period, 5, unreviewed: replaced
    ]
    # Reminders only for periods not in (changes_requested on 2 still counts as in).
    assert periods(result, "CheckInReminderSent") == [
        ("2027-02-21", 1),  # sent before ci-1
        ("2027-04-23", 3),
        ("2027-05-24", 4),
        ("2027-07-24", 6),
    ]
    assert periods(result, "CheckInOverdue") == [("2027-05-14", 3), ("2027-08-14", 6)]
    # Period 2 holds a reviewed check-in (changes requested): another one is refused (409).
    with pytest.raises(ScenarioError, match="reviewed"):
        simulate([prog], [*steps[:4], {"at": "2027-03-15", "check_in": {"period": 2}}])
