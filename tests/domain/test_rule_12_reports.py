"""Rule 12: reports. Periods per line from its attachment, each as long as the `report_every`
in force when it starts (P6M where the phase is undefined); the close issues one final report."""

from __future__ import annotations

from tests.domain.helpers import (
    dates,
    of_type,
    phase,
    programme,
    simulate,
)


def test_rule_12_an_undefined_phase_reports_every_p6m_and_the_close_issues_one_final() -> None:
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


def test_rule_12_each_line_reports_from_its_own_attachment() -> None:
    a = programme("a", phases={"emergence": phase([])})
    b = programme("b", phases={"emergence": phase([], report_every="P2M")})
    result = simulate(
        [a, b],
        [{"at": "2027-01-31", "attach": {"programme": "b"}}],
        funding_lines=["a"],
        until="2027-07-31",
    )
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
