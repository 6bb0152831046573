"""The one sample programme, and the fixtures' variants of it named by their changes."""

from __future__ import annotations

import pytest

from domain.programme import ProgrammeSpec
from examples import sample_phase, sample_programme, sample_tranche


def test_the_sample_is_a_valid_programme_and_each_copy_is_fresh() -> None:
    ProgrammeSpec.model_validate(sample_programme())
    changed = sample_programme()
    changed["phases"]["emergence"]["tranches"].clear()
    sample_phase("emergence")["tranches"].clear()
    sample_tranche("amorcage")["when"] = "approval"
    assert [t["id"] for t in sample_programme()["phases"]["emergence"]["tranches"]] == [
        "amorcage",
        "emergence-2",
    ]
    assert sample_tranche("amorcage")["when"] == "entry"


def test_fields_are_dropped_then_changed() -> None:
    spec = sample_programme(drop={"locale", "requires_lead"}, id="autre", budget="1.00")
    assert "locale" not in spec and "requires_lead" not in spec
    assert (spec["id"], spec["budget"], spec["funder"]) == ("autre", "1.00", "fondation-exemple")
    phase = sample_phase("emergence", drop={"max_duration"}, check_in_every="P2M")
    assert "max_duration" not in phase
    assert (phase["check_in_every"], phase["check_in_grace"]) == ("P2M", "P14D")


def test_a_tranche_is_found_in_whichever_phase_has_it() -> None:
    loan = sample_tranche("pret-patient", amount="1.00")
    assert (loan["amount"], loan["when"]) == ("1.00", "approval")
    assert "loan" in loan["instrument"]
    with pytest.raises(KeyError):
        sample_tranche("nowhere")
