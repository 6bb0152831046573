"""The set-up forms' shared helpers (api/web/forms.py): durations said as a number and a unit
and back to ISO 8601, cadences in words, and the API's field paths put at the form's inputs,
checked against the errors the API really gives for a programme spec."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from api.problems import invalid
from api.web import programme_form as pf
from api.web.forms import (
    Spoken,
    api_path,
    cadence_key,
    duration_of,
    form_errors,
    money_typed,
    spoken,
)
from domain.durations import parse
from domain.limits import at_door
from domain.programme import ProgrammeSpec
from i18n import Words


@pytest.mark.parametrize(
    ("n", "unit", "iso"),
    [
        ("2", "M", "P2M"),
        ("15", "D", "P15D"),
        ("1", "Y", "P1Y"),
        ("3", "W", "P3W"),
        (" 02 ", "M", "P2M"),
    ],
)
def test_a_number_and_a_unit_are_an_iso_8601_duration(n: str, unit: str, iso: str) -> None:
    assert duration_of(n, unit) == iso
    assert parse(iso)  # the API's own parser reads it


def test_nothing_typed_is_no_duration_and_a_bad_number_is_refused() -> None:
    assert duration_of("", "M") is None
    assert duration_of(None, None) is None
    with pytest.raises(ValueError, match="whole number"):
        duration_of("2,5", "M")
    with pytest.raises(ValueError, match="unit"):
        duration_of("2", "H")


@pytest.mark.parametrize(
    ("iso", "said"),
    [
        ("P2M", Spoken("2", "M")),
        ("P15D", Spoken("15", "D")),
        ("P1Y6M", Spoken("18", "M")),
        ("P2W", Spoken("2", "W")),
        ("P1M15D", Spoken("P1M15D", "iso")),
        (None, Spoken("", "M")),
    ],
)
def test_a_duration_is_shown_back_as_typed(iso: str | None, said: Spoken) -> None:
    assert spoken(iso) == said


@given(st.integers(min_value=1, max_value=999), st.sampled_from(["D", "W", "M", "Y"]))
def test_the_round_trip_keeps_the_duration(n: int, unit: str) -> None:
    iso = duration_of(str(n), unit)
    assert iso is not None
    back = spoken(iso)
    assert back == Spoken(str(n), unit)
    assert duration_of(back.n, back.unit) == iso


def test_a_duration_no_unit_says_keeps_its_text_through_the_form() -> None:
    said = spoken("P1M15D")
    assert duration_of(said.n, said.unit) == "P1M15D"


@pytest.mark.parametrize(
    ("iso", "fr", "en"),
    [
        ("P2M", "tous les 2 mois", "every 2 months"),
        ("P1M", "tous les mois", "every month"),
        ("P2W", "toutes les 2 semaines", "every 2 weeks"),
        ("P15D", "tous les 15 jours", "every 15 days"),
        ("P1Y", "tous les ans", "every year"),
    ],
)
def test_a_cadence_is_said_as_people_say_it(iso: str, fr: str, en: str) -> None:
    key = cadence_key(iso)
    assert key is not None
    assert Words("fr")(f"web.setup.{key[0]}", n=key[1]) == fr
    assert Words("en")(f"web.setup.{key[0]}", n=key[1]) == en
    assert cadence_key("P1M15D") is None


def test_amounts_as_people_type_them() -> None:
    assert money_typed("33 333,33 €") == "33333.33"
    assert money_typed("8\u202f000") == "8000"
    assert money_typed("1234.50") == "1234.50"


def test_a_union_branch_is_not_a_field() -> None:
    assert api_path("phases.emergence.tranches.1.when.Elapsed.elapsed") == (
        "phases.emergence.tranches.1.when.elapsed",
        True,
    )
    assert api_path("phases.emergence.tranches.0.instrument.loan.loan.annual_rate") == (
        "phases.emergence.tranches.0.instrument.loan.annual_rate",
        True,
    )
    assert api_path("phases.emergence.tranches.0.share") == (
        "phases.emergence.tranches.0.share",
        False,
    )


def _api_errors(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What the API answers for this spec: its problem's errors as the web's client reads them."""
    try:
        at_door(ProgrammeSpec, spec)
    except ValidationError as exc:
        return [(e["path"], e["message"], e["type"]) for e in invalid(exc).errors]
    raise AssertionError("the spec was valid")


def _spec(**phase: Any) -> dict[str, Any]:
    return {
        "id": "p",
        "name": "P",
        "funder": "f",
        "currency": "EUR",
        "budget": "1000.00",
        "phases": {"emergence": {"check_in_every": "P1M", **phase}},
    }


def test_each_api_error_is_put_at_its_input() -> None:
    values = {"phases.emergence.rows": "3"}
    spec = _spec(
        tranches=[
            {"id": "a", "amount": "x", "purpose": "animation", "when": "entry"},
            {"id": "b", "amount": "5.00", "purpose": "animation", "when": {"elapsed": "PXM"}},
            {
                "id": "c",
                "amount": "5.00",
                "purpose": "investment",
                "when": "approval",
                "instrument": {
                    "loan": {
                        "annual_rate": "0.01",
                        "grace": "P1M",
                        "term": "P2Y",
                        "installment_every": "P0M",
                    }
                },
            },
        ]
    )
    errors = form_errors(_api_errors(spec), pf.inputs(values))
    assert set(errors) == {
        "phases.emergence.tranches.0.amount",
        "phases.emergence.tranches.1.when.elapsed",
        "phases.emergence.tranches.2.instrument.loan.installment_every",
    }, errors
    # The branch the form chose speaks; the others (entry or approval, a number of
    # check-ins) say nothing.
    assert "ISO 8601" in errors["phases.emergence.tranches.1.when.elapsed"]
    assert "positive" in errors["phases.emergence.tranches.2.instrument.loan.installment_every"]


def test_shares_not_summing_to_1_are_shown_at_the_amounts_choice() -> None:
    spec = {
        **_spec(
            tranches=[
                {"id": "a", "share": "0.5", "purpose": "animation", "when": "entry"},
                {"id": "b", "share": "0.4", "purpose": "animation", "when": "approval"},
            ]
        ),
        "amounts": "granted",
    }
    errors = form_errors(_api_errors(spec), pf.inputs({}))
    assert list(errors) == ["amounts"]
    assert "0.9" in errors["amounts"]


def test_what_no_input_holds_goes_on_top_with_its_path() -> None:
    errors = form_errors(
        [("phases.ripening", "Input should be 'emergence', …", "enum")], {"id"}, "invalid"
    )
    assert errors == {"_": "phases.ripening: Input should be 'emergence', …"}
    assert form_errors([], {"id"}, "budget too short") == {"_": "budget too short"}
    # A form whose inputs are named otherwise renames the API's fields.
    renamed = form_errors(
        {"members.0.legal_form": "bad"},
        {"legal_form_0"},
        "",
        {"members.0.legal_form": "legal_form_0"},
    )
    assert renamed == {"legal_form_0": "bad"}
