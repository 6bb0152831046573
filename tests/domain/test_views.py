"""What readers see: the summary and its overdue flag."""

from __future__ import annotations

import gc
import weakref
from decimal import Decimal
from pathlib import Path

import pytest

from cli.scenario_files import load_scenario_file
from domain.scenario import parse_scenario
from domain.simulation import run_scenario
from domain.views import CooperationSummary, is_overdue, keep_summary, summary
from tests.domain.test_conformance import OWN_VECTORS, VECTORS


def _state_at(until: str):  # type: ignore[no-untyped-def]
    import yaml

    raw = yaml.safe_load((VECTORS / "jardin.yaml").read_text(encoding="utf-8"))
    raw["steps"] = [s for s in raw["steps"] if str(s["at"]) <= until]
    raw["until"] = until
    for p in raw["programmes"]:
        assert isinstance(p, dict)
    result = run_scenario(parse_scenario(raw))
    assert result.state is not None
    return result.state


def test_overdue_until_the_collective_checks_in_again() -> None:
    # jardin: period 2 went overdue on 2027-08-10; the late check-in of 08-12 fills period 3.
    assert is_overdue(_state_at("2027-08-11"))
    assert not is_overdue(_state_at("2027-08-12"))
    assert not is_overdue(_state_at("2027-08-09"))


def test_summary_shows_lines_with_tranche_statuses() -> None:
    view = summary(_state_at("2027-08-13"))
    assert view.phase == "emergence" and view.paused is False
    (line,) = view.lines
    assert line.committed == Decimal("24000.00") and line.released == Decimal("5000.00")
    statuses = {t.tranche: t.status for t in line.tranches}
    assert statuses == {
        "t-entry": "released",
        "t-count": "released",
        "t-elapsed": "pending",
        "x-entry": "pending",
        "x-equipment": "pending",
    }
    assert view.next_check_in is not None
    assert view.next_check_in.model_dump() == {"period": 4, "due": "2027-09-30T00:00:00Z"}


def test_summary_as_json_keeps_amounts_as_decimal_strings_and_reads_back() -> None:
    view = summary(_state_at("2027-08-13"))
    shown = view.model_dump(mode="json")
    assert shown["lines"][0]["committed"] == "24000.00"
    assert shown["name"] == "Jardin des Lilas"
    # Read back from the read model, with a field an older writer had and a newer one lacks.
    assert CooperationSummary.model_validate({**shown, "last_seq": 12}) == view


ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = [
    VECTORS / "jardin.yaml",
    OWN_VECTORS / "graduation.yaml",
    OWN_VECTORS / "graduation-loan.yaml",
    ROOT / "examples" / "tiers-lieu-loan.yaml",
    ROOT / "examples" / "ruche-fiscal-host.yaml",
    ROOT / "examples" / "collectif-graduation.yaml",
    ROOT / "tests" / "domain" / "scenarios" / "granted.yaml",
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_summary_is_what_validating_it_would_make(scenario: Path) -> None:
    # The summary is built without validation (from a valid state): field for field, in
    # Python and in JSON, it is what validation makes of the same values.
    state = run_scenario(load_scenario_file(scenario)).state
    assert state is not None
    view = summary(state)
    validated = CooperationSummary.model_validate(view.model_dump())
    assert view == validated
    assert view.model_dump_json() == validated.model_dump_json()
    assert view.model_fields_set == validated.model_fields_set


def test_a_changed_copy_of_a_summary_leaves_the_summaries_it_shares_with_alone() -> None:
    state = _state_at("2027-08-13")
    view, other = summary(state), summary(state)
    changed = view.model_copy(update={"lines": [], "programmes": []})
    assert changed.lines == [] and changed.programmes == []
    assert view == other and view.lines and view.model_fields_set == other.model_fields_set


def test_a_kept_state_has_one_summary_for_every_reader() -> None:
    # The workflow keeps each state it adopts (it never changes one again): the courier's
    # delivery and the readers then share one summary of it, equal to one built afresh.
    state, other = _state_at("2027-08-13"), _state_at("2027-08-13")
    keep_summary(state)
    first = summary(state)
    assert summary(state) is first and first == summary(other)
    assert summary(other) is not summary(other)  # a state not kept: built at each call
    # Kept weakly: the entry goes with its state.
    gone = weakref.ref(state)
    del state, first
    gc.collect()
    assert gone() is None
