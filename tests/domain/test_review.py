"""An independent review of the reducer against DESIGN.md, rule by rule.

Every expectation is worked out by hand from DESIGN.md's text, the reasoning beside it (as in
conformance/jardin.expected.yaml). Defaults used throughout: check_in_grace P14D,
reminder_before P7D, report_every P6M.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from domain.events import Event
from domain.simulation import ScenarioError, SimulationResult
from tests.domain.helpers import dates, of_type, programme, releases, simulate


def grant(tid: str, when: Any, amount: str = "1000.00", **extra: Any) -> dict[str, Any]:
    return {"id": tid, "amount": amount, "purpose": "animation", "when": when, **extra}


def phase(tranches: list[dict[str, Any]], every: str = "P1M", **extra: Any) -> dict[str, Any]:
    return {"check_in_every": every, "tranches": tranches, **extra}


def loan(tid: str, amount: str, **terms: str) -> dict[str, Any]:
    return {
        "id": tid,
        "amount": amount,
        "purpose": "investment",
        "when": "approval",
        "instrument": {"loan": terms},
    }


def timeline(result: SimulationResult, *types: str) -> list[tuple[str, str]]:
    return [(e.type, e.at.date().isoformat()) for e in of_type(result.events, *types)]


def periods(result: SimulationResult, *types: str) -> list[tuple[str, int]]:
    return [(e.at.date().isoformat(), e.data["period"]) for e in of_type(result.events, *types)]


def types_at(result: SimulationResult, day: str) -> list[str]:
    return [e.type for e in result.events if e.at.date().isoformat() == day]


def in_time_order(events: list[Event]) -> bool:
    return all(a.at <= b.at for a, b in pairwise(events))


REVIEW = "changes_requested"


# ---------------------------------------------------------------------------------------
# Rules 1, 2, 13, 14: registration and moves


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


def test_rule_2_advance_skips_with_to_and_is_refused_from_structuring() -> None:
    prog = programme(
        phases={
            "emergence": phase([grant("e", "entry")]),
            "experimentation": phase([grant("x", "entry")]),
            "structuring": phase([grant("s", "entry")]),
        }
    )
    result = simulate([prog], [{"at": "2027-02-01", "advance": {"to": "structuring"}}])
    # advance → PhaseEntered, releases; experimentation is skipped, so x is never released.
    assert types_at(result, "2027-02-01") == ["PhaseEntered", "TrancheReleased"]
    assert releases(result.events) == [
        ("prog", "e", "2027-01-04", "1000.00"),
        ("prog", "s", "2027-02-01", "1000.00"),
    ]
    with pytest.raises(ScenarioError, match="close"):
        simulate(
            [prog],
            [
                {"at": "2027-02-01", "advance": {"to": "structuring"}},
                {"at": "2027-02-02", "advance": {}},
            ],
        )


# ---------------------------------------------------------------------------------------
# Rule 3: triggers


def test_rule_3_elapsed_from_later_of_stint_start_and_attachment_plus_pause() -> None:
    a = programme("a", phases={"emergence": phase([grant("a-el", {"elapsed": "P2M"})])})
    b = programme("b", phases={"emergence": phase([grant("b-el", {"elapsed": "P1M"})])})
    result = simulate(
        [a, b],
        [
            {"at": "2027-02-15", "attach": {"programme": "b"}},
            {"at": "2027-03-10", "pause": {}},
            {"at": "2027-03-20", "resume": {}},
        ],
        start="2027-01-31",
        funding_lines=["a"],
        until="2027-05-01",
    )
    assert releases(result.events) == [
        # attached 02-15 (later than the stint start 01-31): 02-15 + P1M = 03-15, + 10 days
        # paused (03-10 → 03-20) = 03-25.
        ("b", "b-el", "2027-03-25", "1000.00"),
        # stint start 01-31 + P2M = 03-31, + 10 days paused = 04-10.
        ("a", "a-el", "2027-04-10", "1000.00"),
    ]


def test_rule_3_elapsed_pause_starting_at_the_fire_instant_pushes_it() -> None:
    prog = programme(phases={"emergence": phase([grant("el", {"elapsed": "P1M"})])})
    result = simulate(
        [prog],
        [{"at": "2027-02-04", "pause": {}}, {"at": "2027-02-06", "resume": {}}],
        until="2027-03-01",
    )
    # 01-04 + P1M = 02-04; the pause at 02-04 comes before the clock at 02-04 (rule 14), and
    # the 2 days paused push it to 02-06: the resume releases it.
    assert releases(result.events) == [("prog", "el", "2027-02-06", "1000.00")]
    assert types_at(result, "2027-02-06") == ["Resumed", "TrancheReleased"]


def test_rule_3_accepted_check_ins_since_attachment_in_line_then_tranche_order() -> None:
    a = programme(
        "a",
        phases={
            "emergence": phase(
                [grant("a-entry", "entry"), grant("a-count", {"accepted_check_ins": 2}, "200.00")]
            )
        },
    )
    b = programme(
        "b",
        phases={
            "emergence": phase(
                [
                    grant("b-entry", "entry", "500.00"),
                    grant("b-count", {"accepted_check_ins": 1}, "700.00"),
                    grant("b-el", {"elapsed": "P1M"}, "300.00"),
                ]
            )
        },
    )
    result = simulate(
        [a, b],
        [
            {"at": "2027-01-20", "check_in": {}},  # period 1 (01-04, 02-04]
            {"at": "2027-01-25", "review": {"period": 1, "decision": "accepted"}},
            {"at": "2027-02-15", "attach": {"programme": "b"}},
            {"at": "2027-02-20", "check_in": {}},  # period 2 (02-04, 03-04]
            {"at": "2027-02-22", "review": {"period": 2, "decision": "accepted"}},
        ],
        funding_lines=["a"],
        until="2027-03-20",
    )
    assert periods(result, "CheckInSubmitted") == [("2027-01-20", 1), ("2027-02-20", 2)]
    assert releases(result.events) == [
        ("a", "a-entry", "2027-01-04", "1000.00"),
        # acceptance → FundingLineAttached, releases: b's entry at its attachment.
        ("b", "b-entry", "2027-02-15", "500.00"),
        # a counts both acceptances (01-25, 02-22); b only the one since its attachment, which
        # is enough for its N = 1; same instant: order of lines, a then b.
        ("a", "a-count", "2027-02-22", "200.00"),
        ("b", "b-count", "2027-02-22", "700.00"),
        # from the attachment 02-15 (later than the stint start) + P1M.
        ("b", "b-el", "2027-03-15", "300.00"),
    ]
    assert types_at(result, "2027-02-15") == [
        "FundingLineProposed",
        "FundingLineAttached",
        "TrancheReleased",
    ]


def test_rule_3_approval_in_phase_by_funder_or_facilitator_and_409s() -> None:
    prog = programme(
        phases={
            "emergence": phase([grant("e-ok", "approval")]),
            "experimentation": phase(
                [
                    grant("x-ok", "approval", "2000.00"),
                    loan(
                        "x-loan",
                        "5000.00",
                        annual_rate="0.00",
                        grace="P1M",
                        term="P2M",
                        installment_every="P1M",
                    ),
                ]
            ),
        }
    )
    facilitator = {"role": "facilitator", "id": "tiers"}
    ok = simulate(
        [prog],
        [
            {"at": "2027-01-10", "approve": {"line": "prog", "tranche": "e-ok", "by": facilitator}},
            {"at": "2027-02-01", "advance": {}},
            {"at": "2027-02-05", "approve": {"line": "prog", "tranche": "x-loan"}},  # funder
        ],
        until="2027-02-06",
    )
    # Recorded (TrancheApproved), then released at the same instant.
    assert timeline(ok, "TrancheApproved", "TrancheReleased") == [
        ("TrancheApproved", "2027-01-10"),
        ("TrancheReleased", "2027-01-10"),
        ("TrancheApproved", "2027-02-05"),
        ("TrancheReleased", "2027-02-05"),
    ]
    refusals: list[tuple[list[dict[str, Any]], str]] = [
        # x-ok belongs to experimentation: approved while in that phase, else 409.
        ([{"at": "P1D", "approve": {"line": "prog", "tranche": "x-ok"}}], "belongs to"),
        # a released tranche cannot be approved again.
        (
            [
                {"at": "P1D", "approve": {"line": "prog", "tranche": "e-ok"}},
                {"at": "P2D", "approve": {"line": "prog", "tranche": "e-ok"}},
            ],
            "already released",
        ),
        # a loan is approved by the funder alone.
        (
            [
                {"at": "P1D", "advance": {}},
                {
                    "at": "P2D",
                    "approve": {"line": "prog", "tranche": "x-loan", "by": facilitator},
                },
            ],
            "only the funder",
        ),
    ]
    for steps, message in refusals:
        with pytest.raises(ScenarioError, match=message):
            simulate([prog], steps)


# ---------------------------------------------------------------------------------------
# Rule 4: once per line, repeats


def test_rule_4_repeat_from_first_release_any_phase_held_while_paused_stopped_by_close() -> None:
    prog = programme(
        phases={
            "emergence": phase(
                [grant("rep", "entry", "100.00", repeat={"every": "P1M", "times": 4})]
            ),
            "experimentation": phase([]),
        }
    )
    result = simulate(
        [prog],
        [
            {"at": "2027-03-05", "advance": {}},
            {"at": "2027-04-20", "pause": {}},
            {"at": "2027-05-05", "resume": {}},
            {"at": "2027-05-31", "close": {"outcome": "completed"}},
        ],
        start="2027-01-31",
        until="2027-12-31",
    )
    assert releases(result.events) == [
        ("prog", "rep", "2027-01-31", "100.00"),  # entry: the first release
        ("prog", "rep:1", "2027-02-28", "100.00"),  # 01-31 + P1M
        # 01-31 + 2 × P1M = 03-31, in experimentation (any phase); never chained (not 03-28).
        ("prog", "rep:2", "2027-03-31", "100.00"),
        # 01-31 + P3M = 04-30 falls in the pause (04-20 → 05-05): held, released at resume.
        ("prog", "rep:3", "2027-05-05", "100.00"),
        # 01-31 + P4M = 05-31, the instant of the close: the close comes first and stops it.
    ]
    # Committed 5 × 100 (each repeat occurrence included), released 400: 100 freed.
    assert [(e.type, e.data.get("amount")) for e in result.events[-3:]] == [
        ("CommitmentReleased", "100.00"),
        ("ReportIssued", None),
        ("Closed", None),
    ]
    assert [r.occurrence for r in result.ledger] == [None, 1, 2, 3]


# ---------------------------------------------------------------------------------------
# Rule 5: pause and resume


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


def test_rule_5_refused_while_paused_and_resume_refused_while_not_paused() -> None:
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
# Rules 6 and 8: re-anchoring


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


# ---------------------------------------------------------------------------------------
# Rule 8: which period a check-in fills


def test_rule_8_check_in_assignment_named_earliest_current_and_replaced() -> None:
    prog = programme(phases={"emergence": phase([])})
    steps: list[dict[str, Any]] = [
        {"at": "2027-03-10", "check_in": {}},  # ci-1
        {"at": "2027-03-12", "check_in": {}},  # ci-2
        {"at": "2027-03-13", "check_in": {"period": 2}},  # ci-3
        {"at": "2027-03-14", "review": {"period": 2, "decision": REVIEW}},
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


def test_rule_8_phase_no_line_defines_has_no_check_ins() -> None:
    prog = programme(phases={"emergence": phase([])})
    result = simulate([prog], [], start_phase="structuring", until="P1Y")
    assert of_type(result.events, "CheckInReminderSent", "CheckInOverdue") == []
    with pytest.raises(ScenarioError, match="no check-ins"):
        simulate([prog], [{"at": "P1M", "check_in": {}}], start_phase="structuring")


# ---------------------------------------------------------------------------------------
# Rules 9 and 10: commitment and payees


def test_rule_9_commits_whole_potential_and_frees_per_line_at_close() -> None:
    a = programme(
        "a",
        phases={
            "emergence": phase(
                [
                    grant("a-entry", "entry"),
                    grant("a-rep", "entry", "200.00", repeat={"every": "P1Y", "times": 2}),
                ]
            ),
            "experimentation": phase(
                [
                    loan(
                        "a-loan",
                        "5000.00",
                        annual_rate="0.01",
                        grace="P6M",
                        term="P12M",
                        installment_every="P6M",
                    )
                ]
            ),
        },
    )
    b = programme("b", phases={"emergence": phase([grant("b-entry", "entry", "300.00")])})
    result = simulate(
        [a, b],
        [{"at": "2027-03-01", "close": {"outcome": "completed"}}],
        funding_lines=["a", "b"],
    )
    # a: 1000 + 200 × (1 + 2 repeats) + 5000 loan principal = 6600; b: 300.
    attached = of_type(result.events, "FundingLineAttached")
    assert [(e.data["line"], e.data["amount"]) for e in attached] == [
        ("a", "6600.00"),
        ("b", "300.00"),
    ]
    # Released a: 1000 + 200 (01-04), so 5400 left; b: nothing left, no CommitmentReleased.
    # close → CommitmentReleased (per line with something left), ReportIssued, Closed.
    closing = [e for e in result.events if e.at.date().isoformat() == "2027-03-01"]
    assert [(e.type, e.data.get("line"), e.data.get("amount")) for e in closing] == [
        ("CommitmentReleased", "a", "5400.00"),
        ("ReportIssued", "a", None),
        ("ReportIssued", "b", None),
        ("Closed", None, None),
    ]
    # The budget must cover the whole potential, or the scenario is refused.
    with pytest.raises(ScenarioError, match="6600"):
        simulate([{**a, "budget": "6599.99"}, b], [], funding_lines=["a", "b"])


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


# ---------------------------------------------------------------------------------------
# Rule 11: loans


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


# ---------------------------------------------------------------------------------------
# Rule 12: reports


def test_rule_12_report_periods_take_the_cadence_in_force_and_one_final_on_a_boundary() -> None:
    prog = programme(
        phases={
            "emergence": phase([], report_every="P3M"),
            "experimentation": phase([], report_every="P2M"),
        }
    )
    result = simulate(
        [prog],
        [
            {"at": "2027-08-15", "advance": {}},
            {"at": "2028-04-30", "close": {"outcome": "completed"}},
        ],
        start="2027-01-31",
        until="2028-12-31",
    )
    reports = [
        (e.data["period"], e.at.date().isoformat(), e.data["final"])
        for e in of_type(result.events, "ReportIssued")
    ]
    assert reports == [
        (1, "2027-04-30", False),  # 01-31 + P3M
        (2, "2027-07-31", False),  # 01-31 + P6M, from the anchor
        # Period 3 starts 07-31 in emergence: P3M, though the advance comes on 08-15.
        (3, "2027-10-31", False),
        (4, "2027-12-31", False),  # starts 10-31 in experimentation: P2M
        (5, "2028-02-29", False),  # 12-31 + P2M (leap year)
        # 12-31 + P4M = 04-30 is also the close: one report, the final one, then nothing.
        (6, "2028-04-30", True),
    ]


def test_rule_12_report_every_defaults_to_p6m_where_phase_undefined() -> None:
    prog = programme(phases={"emergence": phase([], report_every="P1M")})
    result = simulate([prog], [], start="2027-01-31", start_phase="structuring", until="2028-02-01")
    assert dates(result.events, "ReportIssued") == ["2027-07-31", "2028-01-31"]


# ---------------------------------------------------------------------------------------
# Rule 14: the same instant


def test_rule_14_command_at_a_clock_instant_comes_first() -> None:
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


# ---------------------------------------------------------------------------------------
# Rule 15: attach


def test_rule_15_attach_records_proposed_then_attached_and_twice_is_refused() -> None:
    a = programme("a", phases={"emergence": phase([])})
    b = programme("b", phases={"emergence": phase([grant("b-entry", "entry")])})
    result = simulate([a, b], [{"at": "P1D", "attach": {"programme": "b"}}], funding_lines=["a"])
    assert types_at(result, "2027-01-05") == [
        "FundingLineProposed",
        "FundingLineAttached",
        "TrancheReleased",
    ]
    with pytest.raises(ScenarioError, match="already has"):
        simulate(
            [a, b],
            [
                {"at": "P1D", "attach": {"programme": "b"}},
                {"at": "P2D", "attach": {"programme": "b"}},
            ],
            funding_lines=["a"],
        )


# ---------------------------------------------------------------------------------------
# Rule 16: overrun


def test_rule_16_overrun_at_shortest_max_duration_plus_pause_once_per_stint() -> None:
    long = programme("long", phases={"emergence": phase([], max_duration="P3M")})
    short = programme("short", phases={"emergence": phase([], max_duration="P2M")})
    result = simulate(
        [long, short],
        [
            {"at": "2027-02-10", "pause": {}},
            {"at": "2027-02-20", "resume": {}},
            {"at": "2027-05-01", "restart": {"to": "emergence", "reason": "r"}},
        ],
        start="2027-01-31",
        funding_lines=["long", "short"],
        until="2027-08-31",
    )
    # 01-31 + P2M (the shortest) = 03-31, + 10 days paused = 04-10; once. The restart opens
    # a new stint: 05-01 + P2M = 07-01.
    assert dates(result.events, "PhaseOverran") == ["2027-04-10", "2027-07-01"]


# ---------------------------------------------------------------------------------------
# Rules 2, 4, 7: restart


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


# ---------------------------------------------------------------------------------------
# Calendar arithmetic


def test_calendar_month_ends_and_leap_years_from_the_anchor() -> None:
    prog = programme(phases={"emergence": phase([])})
    result = simulate([prog], [], start="2028-01-31", until="2028-05-14")
    # 01-31 + P1M = 02-29 (leap), + P2M = 03-31, + P3M = 04-30: from the anchor.
    assert dates(result.events, "CheckInReminderSent") == ["2028-02-22", "2028-03-24", "2028-04-23"]
    # due + P14D: 03-14, 04-14, 05-14 (until is inclusive).
    assert dates(result.events, "CheckInOverdue") == ["2028-03-14", "2028-04-14", "2028-05-14"]
    yearly = programme(phases={"emergence": phase([grant("y", {"elapsed": "P1Y"})], "P1Y")})
    leap = simulate([yearly], [], start="2028-02-29", until="2029-03-01")
    # 2028-02-29 + P1Y = 2029-02-28.
    assert releases(leap.events) == [("prog", "y", "2029-02-28", "1000.00")]


def test_rule_15_request_join_leave_and_reports_from_a_later_attachment() -> None:
    a = programme("a", phases={"emergence": phase([])})
    b = programme("b", phases={"emergence": phase([], report_every="P2M")})
    result = simulate(
        [a, b],
        [
            {"at": "2027-01-10", "request": {"action": "advance", "reason": "prêts"}},
            {
                "at": "2027-01-11",
                "join": {"id": "voisins", "name": "Voisins", "legal_form": "informal"},
            },
            {"at": "2027-01-12", "leave": {"member": "habitants"}},
            {"at": "2027-01-31", "attach": {"programme": "b"}},
        ],
        funding_lines=["a"],
        until="2027-07-31",
    )
    assert timeline(result, "TransitionRequested", "MemberJoined", "MemberLeft") == [
        ("TransitionRequested", "2027-01-10"),
        ("MemberJoined", "2027-01-11"),
        ("MemberLeft", "2027-01-12"),
    ]
    # Reports per line from its attachment: a from 01-04 every P6M (07-04); b from 01-31
    # every P2M: 03-31, 05-31, 07-31 (from the anchor, never chained).
    got = [
        (e.data["line"], e.at.date().isoformat()) for e in of_type(result.events, "ReportIssued")
    ]
    assert got == [
        ("b", "2027-03-31"),
        ("b", "2027-05-31"),
        ("a", "2027-07-04"),
        ("b", "2027-07-31"),
    ]
