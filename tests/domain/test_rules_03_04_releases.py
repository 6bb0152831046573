"""Rules 3 and 4: tranche triggers (entry, elapsed, accepted check-ins, approval) and the
order of releases due at one instant; a tranche released at most once per line, repeats."""

from __future__ import annotations

from typing import Any

import pytest

from domain import commands as c
from domain.effects import Release, RenderReport
from domain.errors import Conflict, Forbidden
from domain.scenario import ScenarioError
from tests.domain.helpers import (
    GRANT,
    Shell,
    at,
    cooperation,
    grant,
    loan,
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
# Rule 3: elapsed


def test_rule_3_elapsed_from_the_later_of_stint_start_and_attachment() -> None:
    first = programme("first", phases=phases(emergence=[grant("a", {"elapsed": "P2M"})]))
    second = programme("second", phases=phases(emergence=[grant("b", {"elapsed": "P2M"})]))
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


def test_rule_3_elapsed_of_two_lines_each_from_its_own_start_plus_pause_in_time_order() -> None:
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


def test_rule_3_elapsed_p1y_from_29_february_falls_on_28_february() -> None:
    yearly = programme(phases={"emergence": phase([grant("y", {"elapsed": "P1Y"})], "P1Y")})
    leap = simulate([yearly], [], start="2028-02-29", until="2029-03-01")
    # 2028-02-29 + P1Y = 2029-02-28.
    assert releases(leap.events) == [("prog", "y", "2029-02-28", "1000.00")]


# ---------------------------------------------------------------------------------------
# Rule 3: accepted check-ins


def test_rule_3_accepted_check_ins_since_attachment() -> None:
    first = programme("first", phases=phases(emergence=[grant("a", {"accepted_check_ins": 1})]))
    second = programme("second", phases=phases(emergence=[grant("b", {"accepted_check_ins": 1})]))
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


# ---------------------------------------------------------------------------------------
# Rule 3: approval


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
                emergence=[grant("ok", "approval"), loan],
                experimentation=[grant("x", "approval")],
            )
        )
    )
    spec = cooperation(fiscal_host="tiers" if facilitator_pays else None)
    # This programme lends: from rules 3 its line never pays the fiscal host (rule 20), so the
    # facilitator paid as host is a cooperation of rules 2.
    return Shell(spec, [prog], at(2027, 1, 4), rules_version=2 if facilitator_pays else 3)


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
# Rule 3: releases due at the same instant


def test_rule_3_same_instant_order_lines_then_tranches() -> None:
    first = programme(
        "first",
        phases=phases(emergence=[grant("a2", {"elapsed": "P1M"}), grant("a1", {"elapsed": "P1M"})]),
    )
    second = programme("second", phases=phases(emergence=[grant("b", {"elapsed": "P1M"})]))
    result = simulate([second, first], [], funding_lines=["first", "second"], until="P2M")
    assert [(line, t, d) for line, t, d, _ in releases(result.events)] == [
        ("first", "a2", "2027-02-04"),
        ("first", "a1", "2027-02-04"),
        ("second", "b", "2027-02-04"),
    ]


# ---------------------------------------------------------------------------------------
# Rule 4: once per line, repeats


def test_rule_4_released_once_and_repeats() -> None:
    prog = programme(
        phases=phases(
            emergence=[
                grant("e", "entry"),
                grant("c", {"accepted_check_ins": 1}),
                grant("coord", {"elapsed": "P1M"}, repeat={"every": "P3M", "times": 3}),
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


def test_rule_4_each_release_occurrence_carries_its_own_idempotency_key() -> None:
    prog = programme(
        phases=phases(emergence=[grant("r", "entry", repeat={"every": "P1M", "times": 1})])
    )
    shell = Shell(cooperation(), [version(prog)], at(2027, 1, 4))
    shell.clock(at(2027, 2, 4))
    keys = [x.key for x in shell.effects if isinstance(x, Release)]
    assert keys == ["ruche:prog:r", "ruche:prog:r:1"]
    assert [x.final for x in shell.effects if isinstance(x, RenderReport)] == []
