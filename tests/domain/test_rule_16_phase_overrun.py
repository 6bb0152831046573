"""Rule 16: phase overrun at stint start + the shortest `max_duration` + the time paused, once
per stint."""

from __future__ import annotations

from tests.domain.helpers import (
    dates,
    of_type,
    phase,
    programme,
    simulate,
)


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
