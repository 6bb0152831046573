"""What readers see: the summary and its overdue flag."""

from __future__ import annotations

from domain.simulation import load_scenario, run_scenario
from domain.views import is_overdue, summary
from tests.domain.test_conformance import VECTORS


def _state_at(until: str):  # type: ignore[no-untyped-def]
    import yaml

    raw = yaml.safe_load((VECTORS / "jardin.yaml").read_text(encoding="utf-8"))
    raw["steps"] = [s for s in raw["steps"] if str(s["at"]) <= until]
    raw["until"] = until
    for p in raw["programmes"]:
        assert isinstance(p, dict)
    result = run_scenario(load_scenario(raw))
    assert result.state is not None
    return result.state


def test_overdue_until_the_collective_checks_in_again() -> None:
    # jardin: period 2 went overdue on 2027-08-10; the late check-in of 08-12 fills period 3.
    assert is_overdue(_state_at("2027-08-11"))
    assert not is_overdue(_state_at("2027-08-12"))
    assert not is_overdue(_state_at("2027-08-09"))


def test_summary_shows_lines_with_tranche_statuses() -> None:
    view = summary(_state_at("2027-08-13"))
    assert view["phase"] == "emergence" and view["paused"] is False
    (line,) = view["lines"]
    assert line["committed"] == "24000.00" and line["released"] == "5000.00"
    statuses = {t["tranche"]: t["status"] for t in line["tranches"]}
    assert statuses == {
        "t-entry": "released",
        "t-count": "released",
        "t-elapsed": "pending",
        "x-entry": "pending",
        "x-equipment": "pending",
    }
    assert view["next_check_in"] == {"period": 4, "due": "2027-09-30T00:00:00Z"}
