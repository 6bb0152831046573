"""What the reducer promises beside the rules: typed rejections, registration validation,
scenario errors, a state that round-trips through JSON, an input state never changed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from cli.scenario_files import load_scenario_file
from domain import commands as c
from domain.cooperation import CooperationSpec
from domain.errors import Conflict, DomainError, InvalidInput
from domain.lifecycle import decide, tick
from domain.lifecycle.context import copy_state, share_field_sets
from domain.scenario import ScenarioError, parse_scenario
from domain.simulation import run_scenario
from domain.state import CooperationState
from tests.domain.helpers import Shell, at, cooperation, programme, version
from tests.domain.test_conformance import OWN_VECTORS

APPROVAL = {
    "emergence": {
        "check_in_every": "P1M",
        "tranches": [
            {"id": "e", "amount": "100.00", "purpose": "animation", "when": "entry"},
            {"id": "ok", "amount": "100.00", "purpose": "animation", "when": "approval"},
        ],
    }
}


@pytest.fixture
def shell() -> Shell:
    return Shell(cooperation(), [version(programme(phases=APPROVAL))], at(2027, 1, 4))


def test_check_in_for_a_closed_cooperation_is_a_conflict(shell: Shell) -> None:
    shell.do(c.Close(outcome="completed"), at(2027, 2, 1))
    with pytest.raises(Conflict, match="closed"):
        shell.do(c.SubmitCheckIn(check_in_id="late"), at(2027, 2, 2))


def test_restart_to_a_later_phase_is_invalid(shell: Shell) -> None:
    with pytest.raises(InvalidInput) as refused:
        shell.do(c.Restart(to="experimentation", reason="plus loin"), at(2027, 1, 5))
    assert refused.value.field == "to"


def test_review_of_an_unknown_check_in_is_invalid(shell: Shell) -> None:
    with pytest.raises(InvalidInput) as refused:
        shell.do(c.ReviewCheckIn(check_in_id="nope", decision="accepted"), at(2027, 1, 5))
    assert refused.value.field == "check_in_id"
    with pytest.raises(InvalidInput, match="period 1"):
        shell.do(c.ReviewCheckIn(period=1, decision="accepted"), at(2027, 1, 5))


def test_advance_from_a_terminal_state_is_a_conflict(shell: Shell) -> None:
    shell.do(c.Close(outcome="abandoned"), at(2027, 1, 5))
    for command in [c.Advance(), c.Close(outcome="completed"), c.Pause(), c.Resume()]:
        with pytest.raises(Conflict, match="closed"):
            shell.do(command, at(2027, 1, 6))


def test_approval_of_a_non_approval_tranche_is_invalid(shell: Shell) -> None:
    funder = c.Actor(role="funder", id="fondation")
    with pytest.raises(InvalidInput) as refused:
        shell.do(c.ApproveTranche(line="prog", tranche="e", by=funder), at(2027, 1, 5))
    assert refused.value.field == "tranche"
    with pytest.raises(InvalidInput, match="no funding line"):
        shell.do(c.ApproveTranche(line="autre", tranche="ok", by=funder), at(2027, 1, 5))
    with pytest.raises(InvalidInput, match="no tranche"):
        shell.do(c.ApproveTranche(line="prog", tranche="zz", by=funder), at(2027, 1, 5))


def test_pause_and_resume_out_of_turn_are_conflicts(shell: Shell) -> None:
    with pytest.raises(Conflict, match="not paused"):
        shell.do(c.Resume(), at(2027, 1, 5))
    shell.do(c.Pause(), at(2027, 1, 5))
    with pytest.raises(Conflict, match="already paused"):
        shell.do(c.Pause(), at(2027, 1, 6))


def test_time_never_goes_back(shell: Shell) -> None:
    shell.do(c.Pause(), at(2027, 1, 10))
    with pytest.raises(InvalidInput, match="time only moves forward"):
        shell.do(c.Resume(), at(2027, 1, 9))


def test_errors_have_message_and_field() -> None:
    error = InvalidInput("no such thing", "line")
    assert isinstance(error, DomainError) and (error.message, error.field) == (
        "no such thing",
        "line",
    )
    assert str(error) == "line: no such thing"


def _spec(**overrides: Any) -> CooperationSpec:
    return CooperationSpec.model_validate(cooperation(**overrides))


def _error_locations(**overrides: Any) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as refused:
        _spec(**overrides)
    return [e["loc"] for e in refused.value.errors()]


def test_registration_validation_paths() -> None:
    informal = [{"id": "g", "name": "Groupe", "legal_form": "informal"}]
    assert _error_locations(members=informal) == [("fiscal_host",)]
    assert _error_locations(kind="modelled") == [("model",)]
    assert _error_locations(kind="systemic", model="x") == [("model",)]
    assert _error_locations(lead="nobody") == [("lead",)]
    two_legal = [
        {"id": "a", "name": "A", "legal_form": "association"},
        {"id": "b", "name": "B", "legal_form": "company"},
    ]
    # No fiscal host and two legal entities: no default payee, an allocation is needed.
    assert _error_locations(members=two_legal) == [("funding_lines",)]
    bad_payee = [{"programme": "prog", "allocation": [{"payee": "habitants", "share": "1"}]}]
    assert _error_locations(funding_lines=bad_payee) == [("funding_lines",)]
    bad_sum = [
        {"programme": "prog", "allocation": [{"payee": "asso", "share": "0.5"}]},
    ]
    assert _error_locations(funding_lines=bad_sum) == [("funding_lines", 0, "allocation")]
    money_as_number = [{"programme": "prog", "allocation": [{"payee": "asso", "share": 1}]}]
    assert _error_locations(funding_lines=money_as_number)[0][:2] == ("funding_lines", 0)
    assert _spec(members=informal, fiscal_host="pole").funding_lines[0].programme == "prog"


def test_registration_refusals_that_need_the_programme() -> None:
    lead = version(programme(requires_lead=True))
    with pytest.raises(InvalidInput) as refused:
        Shell(cooperation(), [lead], at(2027, 1, 4))
    assert refused.value.field == "lead"
    assert Shell(cooperation(lead="asso"), [lead], at(2027, 1, 4)).state.lead == "asso"
    loan = {
        "emergence": {
            "check_in_every": "P1M",
            "tranches": [
                {
                    "id": "pret",
                    "amount": "100.00",
                    "purpose": "investment",
                    "when": "entry",
                    "instrument": {
                        "loan": {
                            "annual_rate": "0.01",
                            "grace": "P1M",
                            "term": "P2M",
                            "installment_every": "P1M",
                        }
                    },
                }
            ],
        }
    }
    shared = [{"payee": "asso", "share": "0.5"}, {"payee": "pole", "share": "0.5"}]
    spec = cooperation(
        fiscal_host="pole", funding_lines=[{"programme": "prog", "allocation": shared}]
    )
    with pytest.raises(InvalidInput, match="exactly one payee") as refused:
        Shell(spec, [version(programme(phases=loan))], at(2027, 1, 4))
    assert refused.value.field == "funding_lines[0].allocation"
    with pytest.raises(InvalidInput, match="unknown"):
        Shell(cooperation(), [], at(2027, 1, 4))


def test_state_json_round_trip(shell: Shell) -> None:
    shell.do(c.SubmitCheckIn(check_in_id="k1", indicators={"participants": 12}), at(2027, 1, 20))
    shell.do(c.Pause(), at(2027, 2, 1))
    shell.do(
        c.ApproveTranche(line="prog", tranche="ok", by=c.Actor(role="funder", id="fondation")),
        at(2027, 2, 2),
    )
    shell.do(c.Resume(), at(2027, 2, 10))
    shell.clock(at(2027, 8, 1))
    state = shell.state
    again = CooperationState.model_validate_json(state.model_dump_json())
    assert again == state
    assert again.model_dump_json() == state.model_dump_json()
    # The command union round-trips too, as the shell carries commands through history.
    adapter: TypeAdapter[c.Command] = TypeAdapter(c.Command)
    command = c.RecordRepayment(line="prog", tranche="t", amount="10.00", request_id="r-1")
    assert adapter.validate_json(adapter.dump_json(command)) == command


def test_scenario_errors() -> None:
    base: dict[str, Any] = {
        "start": "2027-01-04",
        "programmes": [programme()],
        "cooperation": cooperation(),
        "until": "P1Y",
    }
    with pytest.raises(ScenarioError) as unknown:
        parse_scenario(base | {"steps": [{"at": "P1D", "dance": {}}]})
    assert unknown.value.step_index == 0 and "unknown step kind" in unknown.value.message
    with pytest.raises(ScenarioError) as order:
        parse_scenario(base | {"steps": [{"at": "P2D", "pause": {}}, {"at": "P1D", "resume": {}}]})
    assert order.value.step_index == 1
    with pytest.raises(ScenarioError) as rejected:
        run_scenario(base | {"steps": [{"at": "P1D", "resume": {}}]})
    assert rejected.value.step_index == 0 and "not paused" in rejected.value.message
    with pytest.raises(ScenarioError) as missing:
        run_scenario(base | {"steps": [{"at": "P1D", "restart": {}}]})
    assert missing.value.step_index == 0 and "reason" in missing.value.message


def test_decide_never_mutates_its_input() -> None:
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 4))
    before = shell.state.model_dump_json()
    decide(shell.state, c.Pause(), at(2027, 3, 1))
    tick(shell.state, at(2027, 6, 1))
    assert shell.state.model_dump_json() == before


def test_a_copy_of_the_state_is_equal_and_changes_alone() -> None:
    # copy_state copies structurally and its models share one set of field names per kind:
    # a rule changing a copy changes neither the state it came from nor another copy.
    state = run_scenario(load_scenario_file(OWN_VECTORS / "graduation-loan.yaml")).state
    assert state is not None
    before = state.model_dump_json()
    first, second = copy_state(state), copy_state(state)
    assert first == state and first.model_dump_json() == before
    first.next_seq += 1
    first.lines[0].committed += 1
    first.stint.periods[1].reminder_done = not first.stint.periods[1].reminder_done
    first.lines[0].loans[0].installments.pop()
    assert state.model_dump_json() == before
    assert second.model_dump_json() == before and second != first
    # A copy of a copy reads back from JSON as the state it stands for.
    assert CooperationState.model_validate_json(copy_state(first).model_dump_json()) == first


def test_a_state_given_shared_field_sets_is_the_same_state() -> None:
    # What the workflow does to a registration's state and to its run's input: the values
    # stay, JSON included, and a copy of it still changes alone.
    state = run_scenario(load_scenario_file(OWN_VECTORS / "graduation-loan.yaml")).state
    assert state is not None
    before = state.model_dump_json()
    share_field_sets(state)
    assert state.model_dump_json() == before
    assert CooperationState.model_validate_json(before) == state
    copied = copy_state(state)
    copied.lines[0].committed += 1
    assert state.model_dump_json() == before and copied != state
