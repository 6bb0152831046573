"""The programme form (api/web/programme_form.py): a spec shown in the form and sent back is
the same spec; empty rows are left out and the API's tranche numbers find their rows again;
what changed between two versions, field by field."""

from __future__ import annotations

from typing import Any

from api.web import programme_form as pf
from domain.limits import at_door
from domain.programme import ProgrammeSpec
from examples import sample_programme

DESIGN_SPEC: dict[str, Any] = sample_programme()


def _stored(spec: dict[str, Any]) -> dict[str, Any]:
    return at_door(ProgrammeSpec, spec).model_dump(mode="json")


def test_a_spec_shown_in_the_form_comes_back_the_same() -> None:
    values = pf.values_of(DESIGN_SPEC)
    assert values["phases.experimentation.check_in_every.n"] == "2"
    assert values["phases.experimentation.check_in_every.unit"] == "M"
    assert values["phases.experimentation.tranches.3.instrument"] == "loan"
    built = pf.spec_of(values, "fondation-exemple", "whole")
    assert built.errors == {}
    assert _stored(built.spec) == _stored(DESIGN_SPEC)


def test_rules_17_to_19_options_come_back_the_same() -> None:
    spec = {
        **DESIGN_SPEC,
        "amounts": "granted",
        "grant": {"min": "10000.00", "max": "90000.00"},
        "convention": "required",
        "payment_within": "P60D",
        "phases": {
            "emergence": {
                "check_in_every": "P1M",
                "tranches": [
                    {"id": "a", "share": "0.4", "purpose": "animation", "when": "entry"},
                    {"id": "b", "share": "0.6", "purpose": "operating", "when": "approval"},
                ],
            }
        },
    }
    built = pf.spec_of(pf.values_of(spec), "fondation-exemple", "whole")
    assert _stored(built.spec) == _stored(spec)


def test_empty_rows_are_left_out_and_errors_find_their_rows() -> None:
    values = {
        "id": "p",
        "name": "P",
        "budget": "1 000",
        "currency": "eur",
        "phases.emergence.funded": "true",
        "phases.emergence.rows": "3",
        "phases.emergence.check_in_every.n": "1",
        "phases.emergence.check_in_every.unit": "M",
        "phases.emergence.tranches.1.id": "b",
        "phases.emergence.tranches.1.amount": "10,50",
        "phases.emergence.tranches.1.purpose": "animation",
        "phases.emergence.tranches.1.when": "entry",
    }
    built = pf.spec_of(values, "f", "whole")
    assert built.spec["budget"] == "1000"
    assert built.spec["currency"] == "EUR"
    assert built.spec["phases"]["emergence"]["tranches"] == [
        {"id": "b", "amount": "10.50", "purpose": "animation", "when": "entry"}
    ]
    # The API's tranche 0 is the form's row 1.
    assert pf.Built.form_path(built, "phases.emergence.tranches.0.amount") == (
        "phases.emergence.tranches.1.amount"
    )


def test_a_duration_that_is_no_number_is_said_before_sending() -> None:
    values = {
        "phases.emergence.funded": "true",
        "phases.emergence.check_in_every.n": "deux",
        "phases.emergence.check_in_every.unit": "M",
    }
    built = pf.spec_of(values, "f", "Indiquez un nombre entier.")
    assert built.errors == {"phases.emergence.check_in_every": "Indiquez un nombre entier."}


def test_what_changed_between_two_versions() -> None:
    later = {
        **DESIGN_SPEC,
        "budget": "600000.00",
        "phases": {
            **DESIGN_SPEC["phases"],
            "emergence": {
                **DESIGN_SPEC["phases"]["emergence"],
                "check_in_every": "P2M",
                "tranches": [
                    {
                        "id": "nouvelle",
                        "amount": "1000.00",
                        "purpose": "animation",
                        "when": "entry",
                    },
                    *DESIGN_SPEC["phases"]["emergence"]["tranches"],
                ],
            },
        },
    }
    found = pf.changes({"version": 1, **DESIGN_SPEC}, {"version": 2, **later})
    nouvelle = {"id": "nouvelle", "amount": "1000.00", "purpose": "animation", "when": "entry"}
    assert found == [
        ("budget", "500000.00", "600000.00"),
        ("phases.emergence.check_in_every", "P1M", "P2M"),
        ("phases.emergence.tranches.nouvelle", None, nouvelle),
    ]
    # A phase dropped whole is one change; so is one added back.
    dropped = {
        **later,
        "phases": {k: v for k, v in later["phases"].items() if k != "experimentation"},
    }
    assert pf.changes(later, dropped) == [
        ("phases.experimentation", DESIGN_SPEC["phases"]["experimentation"], None)
    ]
    assert pf.changes(dropped, later) == [
        ("phases.experimentation", None, DESIGN_SPEC["phases"]["experimentation"])
    ]


def test_a_trigger_without_its_number_or_duration_is_said_at_its_input() -> None:
    values = {
        "phases.emergence.funded": "true",
        "phases.emergence.rows": "2",
        "phases.emergence.check_in_every.n": "1",
        "phases.emergence.check_in_every.unit": "M",
        "phases.emergence.tranches.0.id": "a",
        "phases.emergence.tranches.0.amount": "1",
        "phases.emergence.tranches.0.when": "elapsed",
        "phases.emergence.tranches.1.id": "b",
        "phases.emergence.tranches.1.amount": "1",
        "phases.emergence.tranches.1.when": "accepted_check_ins",
    }
    built = pf.spec_of(values, "f", "whole")
    assert built.errors == {
        "phases.emergence.tranches.0.when.elapsed": "whole",
        "phases.emergence.tranches.1.when.accepted_check_ins": "whole",
    }
