"""The schema of the command bodies says what the server enforces: a body the served schema
accepts passes the door, one it refuses is refused, at each limit and on each side of it (a
transition's fields by action, a check-in's indicators, an allocation's shares, a member's
new legal form)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from api.app import create_app
from api.problems import Problem
from api.routes.actions import LineDecision, Transition, move_of
from domain import commands as c
from domain.allocation import Share
from domain.errors import InvalidInput
from domain.lifecycle.graduation import LEGAL_FORMS, check_legal_form
from domain.limits import MAX_INDICATOR_NUMBER, MAX_INDICATOR_TEXT, MAX_INDICATORS, at_door
from domain.rules import RULES_VERSION
from runtime.config import Settings
from tests.domain.helpers import Shell, at, cooperation

OPENAPI = create_app(Settings(public_url="http://t")).openapi()


def _valid(component: str, body: Any) -> bool:
    schema = OPENAPI | {"$ref": f"#/components/schemas/{component}"}
    return jsonschema.Draft202012Validator(schema).is_valid(body)


def _taken(check: Callable[[], object]) -> bool:
    """Whether the server takes what `check` checks: a refusal is a 422 (Problem) or a
    validation error (ValueError, InvalidInput) that becomes one."""
    try:
        check()
    except (Problem, ValueError, InvalidInput):
        return False
    return True


def _moves(body: dict[str, Any]) -> bool:
    """Whether `POST …/transitions` takes the body (422 otherwise)."""
    return _taken(lambda: move_of(Transition.model_validate(body)))


TRANSITIONS = [
    {"action": "advance"},
    {"action": "advance", "to": "structuring"},
    {"action": "advance", "reason": "Prêts"},
    {"action": "restart", "reason": "Nouveau départ"},
    {"action": "restart"},
    {"action": "restart", "reason": "Nouveau départ", "to": "emergence"},
    {"action": "restart", "reason": "Nouveau départ", "outcome": "completed"},
    {"action": "pivot", "reason": "Nouveau local", "objectives": "Atelier vélo"},
    {"action": "pivot", "reason": "Nouveau local"},
    {"action": "pivot", "objectives": "Atelier vélo", "reason": None},
    {"action": "pivot", "reason": "Nouveau local", "objectives": "Atelier vélo", "to": None},
    {"action": "pause"},
    {"action": "pause", "reason": "Saison des récoltes"},
    {"action": "pause", "objectives": "Autre chose"},
    {"action": "resume"},
    {"action": "resume", "reason": "De retour"},
    {"action": "resume", "to": None, "reason": None, "objectives": None, "outcome": None},
    {"action": "close", "outcome": "completed"},
    {"action": "close"},
    {"action": "close", "outcome": None},
    {"action": "close", "outcome": "completed", "reason": "Fini"},
]


@pytest.mark.parametrize("body", TRANSITIONS, ids=str)
def test_a_transition_the_schema_takes_is_the_one_the_move_takes(body: dict[str, Any]) -> None:
    assert _valid("Transition", body) == _moves(body)


def test_each_action_has_its_own_shape_in_the_schema() -> None:
    shapes = OPENAPI["components"]["schemas"]["Transition"]["oneOf"]
    by_action = {shape["properties"]["action"]["const"]: shape for shape in shapes}
    assert set(by_action) == set(c.MOVES)
    assert by_action["close"]["required"] == ["action", "outcome"]
    assert sorted(by_action["pivot"]["required"]) == ["action", "objectives", "reason"]
    assert by_action["resume"]["required"] == ["action"]


def _checks_in(indicators: dict[str, Any]) -> bool:
    """Whether the door takes these indicators (422 otherwise)."""
    return _taken(
        lambda: at_door(c.SubmitCheckIn, {"check_in_id": "ci-1", "indicators": indicators})
    )


INDICATORS = [
    {},
    {f"k{i}": i for i in range(MAX_INDICATORS)},
    {f"k{i}": i for i in range(MAX_INDICATORS + 1)},
    {"participants": MAX_INDICATOR_NUMBER},
    {"participants": -MAX_INDICATOR_NUMBER},
    {"participants": MAX_INDICATOR_NUMBER + 1},
    {"participants": -MAX_INDICATOR_NUMBER - 1},
    {"heures": 41.5},
    {"heures": 1e16},
    {"lieu": "x" * MAX_INDICATOR_TEXT},
    {"lieu": "x" * (MAX_INDICATOR_TEXT + 1)},
    {"x" * 100: 1},
    {"x" * 101: 1},
    {"": 1},
    {"liste": [1, 2]},
]


@pytest.mark.parametrize("indicators", INDICATORS, ids=lambda value: str(value)[:40])
def test_indicators_the_schema_takes_are_those_the_door_takes(indicators: dict[str, Any]) -> None:
    body = {"narrative": "Trois ateliers.", "indicators": indicators}
    assert _valid("CheckInSubmission", body) == _checks_in(indicators)


def _shares(share: str) -> bool:
    return _taken(lambda: at_door(Share, {"payee": "asso-ruche", "share": share}))


SHARES = [
    "1",
    "1.0",
    "1.",
    " 1 ",
    "+1",
    "01",
    "0.5",
    ".5",
    "0.25",
    "0.0000000001",
    "0.00000000001",
    "0.50000000000000",
    "0.12345678901",
    "0",
    "0.0",
    "1.5",
    "1.01",
    "-0.5",
    "",
    "abc",
    "1e0",
]


@pytest.mark.parametrize("share", SHARES, ids=repr)
def test_a_share_the_schema_takes_is_one_the_door_takes(share: str) -> None:
    # "1e0" and the like are refused by the schema and taken by the door: the schema asks for
    # the plain form, which is what the door answers with.
    if share == "1e0":
        assert not _valid("Share", {"payee": "asso-ruche", "share": share})
        assert _shares(share)
        return
    assert _valid("Share", {"payee": "asso-ruche", "share": share}) == _shares(share)


def _formalised(body: dict[str, Any]) -> bool:
    """Whether the rules take this new legal form of a hosted collective's member."""
    spec = cooperation(
        members=[{"id": "habitants", "name": "Habitants", "legal_form": "informal"}],
        fiscal_host="pole",
        funding_lines=[],
    )
    shell = Shell(spec, [], at(2027, 1, 4), rules_version=3)
    return _taken(
        lambda: shell.do(at_door(c.Formalise, {"member": "habitants"} | body), at(2027, 2, 1))
    )


FORMS = [
    {"legal_form": "association"},
    {"legal_form": "scop", "siret": "12345678901234"},
    {"legal_form": "association", "rna": "W123456789"},
    {"legal_form": "informal"},
    {"legal_form": "informel"},
    {"legal_form": "Association"},
    {"legal_form": "scop", "siret": "1234567890123"},
    {"legal_form": "scop", "siret": "123456789012345"},
    {"legal_form": "scop", "siret": "1234567890123a"},
    {"legal_form": "association", "rna": "W12345"},
    {"legal_form": "association", "rna": "w123456789"},
    {"legal_form": "association", "rna": "123456789"},
]


@pytest.mark.parametrize("body", FORMS, ids=str)
def test_a_legal_form_the_schema_takes_is_one_the_rules_take(body: dict[str, Any]) -> None:
    assert _valid("Formalising", body) == _formalised(body)


def _decided(body: dict[str, Any]) -> bool:
    return _taken(lambda: LineDecision.model_validate(body).granted_nothing_if_declined())


DECISIONS = [
    {"accept": True},
    {"accept": True, "amount": "33333.33"},
    {"accept": True, "amount": None},
    {"accept": False},
    {"accept": False, "note": "Hors du cadre"},
    {"accept": False, "amount": None},
    {"accept": False, "amount": "0.00"},
    {"accept": False, "amount": "20000.00", "note": "Hors du cadre"},
]


@pytest.mark.parametrize("body", DECISIONS, ids=str)
def test_a_decision_the_schema_takes_is_one_the_route_takes(body: dict[str, Any]) -> None:
    assert _valid("LineDecision", body) == _decided(body)


@pytest.mark.parametrize("seq", [-1, 0, 1, 2])
def test_a_request_the_schema_lets_one_decline_is_one_the_door_takes(seq: int) -> None:
    path = "/v1/cooperations/{cooperation_id}/transition-requests/{seq}/decline"
    (parameter,) = [p for p in OPENAPI["paths"][path]["post"]["parameters"] if p["name"] == "seq"]
    declining = {"request": seq, "reason": "Pas maintenant"}
    assert jsonschema.Draft202012Validator(parameter["schema"]).is_valid(seq) == _taken(
        lambda: at_door(c.DeclineTransitionRequest, declining)
    )


def test_an_amendment_names_at_least_one_payee_as_the_door_says() -> None:
    one = {"allocation": [{"payee": "asso-ruche", "share": "1"}]}
    assert _valid("AmendmentAsked", one) and _amends(one)
    assert not _valid("AmendmentAsked", {"allocation": []}) and not _amends({"allocation": []})


def _amends(body: dict[str, Any]) -> bool:
    return _taken(lambda: at_door(c.Amend, {"line": "prog"} | body))


@pytest.mark.parametrize("legal_form", [*LEGAL_FORMS, "informel", "Association", "0" * 99])
def test_a_joining_members_legal_form_is_valid_by_the_schema_as_by_the_rules(
    legal_form: str,
) -> None:
    body = {"id": "amap-bourg", "name": "AMAP du Bourg", "legal_form": legal_form}
    assert _valid("MemberJoining", body) == _taken(
        lambda: check_legal_form(RULES_VERSION, legal_form, "legal_form")
    )
