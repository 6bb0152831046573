"""The registration form turned into `POST /v1/cooperations`' body, and the API's errors
turned back to the form's inputs: no HTTP, no database."""

from __future__ import annotations

from api.web.client import ApiProblem
from api.web.pages.registration import (
    Layout,
    api_errors,
    input_of,
    layout_of,
    registration_body,
    share_of,
)
from i18n import Words

FR = Words("fr")

TYPED = {
    "csrf": "x",
    "form_key": "k",
    "rows.members": "3",
    "rows.funding_lines": "2",
    "rows.funding_lines.0.allocation": "2",
    "rows.funding_lines.1.allocation": "2",
    "id": " ruche ",
    "name": "Ruche",
    "kind": "non_modelled",
    "model": "",
    "economic_model": "hybrid",
    "start_phase": "emergence",
    "fiscal_host": "pole-107",
    "lead": "",
    # Row 0 left empty (its select still holds a form): the body's first member is row 1.
    "members.0.id": "",
    "members.0.name": "",
    "members.0.legal_form": "association",
    "members.1.id": "habitants",
    "members.1.name": "Collectif des habitants",
    "members.1.legal_form": "informal",
    "members.2.id": "amap",
    "members.2.name": "AMAP du Bourg",
    "members.2.legal_form": "association",
    # Line 0 asks nothing; line 1 is the body's first line.
    "funding_lines.0.programme": "",
    "funding_lines.1.programme": "fdt-2027",
    "funding_lines.1.angle.summary": "Réemploi",
    "funding_lines.1.angle.indicators": "participants, tonnes\nrepas",
    "funding_lines.1.angle.members": "habitants",
    "funding_lines.1.allocation.0.payee": "",
    "funding_lines.1.allocation.0.share": "",
    "funding_lines.1.allocation.1.payee": "amap",
    "funding_lines.1.allocation.1.share": "60",
    "funding_lines.1.allocation.2.payee": "pole-107",
    "funding_lines.1.allocation.2.share": "40 %",
}


def test_the_form_becomes_the_apis_body_without_empty_rows() -> None:
    layout = layout_of(TYPED)
    reg = registration_body(TYPED, FR, layout)
    assert reg.errors == {}
    assert reg.body == {
        "id": "ruche",
        "name": "Ruche",
        "kind": "non_modelled",
        "economic_model": "hybrid",
        "start_phase": "emergence",
        "fiscal_host": "pole-107",
        "members": [
            {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
            {"id": "amap", "name": "AMAP du Bourg", "legal_form": "association"},
        ],
        "funding_lines": [
            {
                "programme": "fdt-2027",
                "angle": {
                    "summary": "Réemploi",
                    "indicators": ["participants", "tonnes", "repas"],
                    "members": ["habitants"],
                },
                "allocation": [
                    {"payee": "amap", "share": "0.6"},
                    {"payee": "pole-107", "share": "0.4"},
                ],
            }
        ],
    }
    # Payee row 2 was typed beyond the two rows the form said: the form keeps three.
    assert layout.payees_of(1) == 3
    assert reg.rows == {
        "members": [1, 2],
        "funding_lines": [1],
        "funding_lines.1.allocation": [1, 2],
    }


def test_the_apis_paths_land_on_the_rows_they_came_from() -> None:
    layout = layout_of(TYPED)
    reg = registration_body(TYPED, FR, layout)
    # pydantic's paths, the rules' (`[0]`), and the line's checks that name the list.
    assert input_of("members.0.legal_form", "bad", reg, layout) == "members.1.legal_form"
    assert input_of("members[1].legal_form", "bad", reg, layout) == "members.2.legal_form"
    assert input_of("funding_lines[0].allocation", "x", reg, layout) == (
        "funding_lines.1.allocation"
    )
    assert input_of("funding_lines.0.allocation.0.share", "x", reg, layout) == (
        "funding_lines.1.allocation.1.share"
    )
    assert input_of("funding_lines.0.angle.indicators.2", "x", reg, layout) == (
        "funding_lines.1.angle.indicators"
    )
    informal = "funding_lines[0] (fdt-2027): payee 'habitants' is neither the fiscal host"
    assert input_of("funding_lines", informal, reg, layout) == "funding_lines.1.allocation"
    unknown = "funding_lines[0] (fdt-2027): angle names unknown members ['x']"
    assert input_of("funding_lines", unknown, reg, layout) == "funding_lines.1.angle.members"
    assert input_of("funding_lines", "a programme is named twice", reg, layout) == ("funding_lines")
    # An unknown programme names the line itself: shown at its programme.
    assert input_of("funding_lines.0", "no programme", reg, layout) == ("funding_lines.1.programme")
    assert input_of("fiscal_host", "x", reg, layout) == "fiscal_host"
    assert input_of("facilitator", "x", reg, layout) == "_"

    problem = ApiProblem(
        422,
        "invalid fields",
        {"members.0.name": "too long", "members.0.legal_form": "not one of", "kind": "bad"},
    )
    assert api_errors(problem, reg, layout) == {
        "members.1.name": "too long",
        "members.1.legal_form": "not one of",
        "kind": "bad",
    }
    informal_payee = ApiProblem(422, "invalid fields: funding_lines", {"funding_lines": informal})
    assert api_errors(informal_payee, reg, layout) == {
        "funding_lines.1.allocation": "payee 'habitants' is neither the fiscal host"
    }
    assert api_errors(ApiProblem(409, "already registered"), reg, layout) == {
        "_": "already registered"
    }


def test_what_cannot_be_sent_as_typed_is_said_at_its_input() -> None:
    typed = {
        "id": "ruche",
        "funding_lines.0.programme": "",
        "funding_lines.0.angle.summary": "Sans programme",
        "funding_lines.0.allocation.0.payee": "amap",
        "funding_lines.0.allocation.0.share": "cent",
    }
    layout = layout_of(typed)
    reg = registration_body(typed, FR, layout)
    assert reg.errors == {
        "funding_lines.0.programme": FR("web.register.programme_needed"),
        "funding_lines.0.allocation.0.share": FR("web.register.share_invalid"),
    }
    assert reg.body["funding_lines"] == []


def test_add_buttons_add_one_row_and_percentages_read_as_people_type_them() -> None:
    assert layout_of({}) == Layout()
    assert layout_of({"rows.members": "3"}, "add_member").members == 4
    more = layout_of({"rows.funding_lines": "1"}, "add_line")
    assert (more.lines, more.payees) == (2, (2, 2))
    assert layout_of({}, "add_payee.0").payees == (3,)
    # A forged count stays within bounds.
    assert layout_of({"rows.members": "100000"}).members == 50
    assert [share_of(s) for s in ("50", "33,5 %", "100", "0", "101", "x", "NaN")] == [
        "0.5",
        "0.335",
        "1",
        None,
        None,
        None,
        None,
    ]
