"""Rule 20 (rules 3): graduation. A collective founds its legal entity (formalise, or join),
its lines are amended to pay it (the line's funder accepts or declines; releases falling due
while an amendment is open are held, then released to the allocation then in force), the
hosting ends once nothing pays the host, and a loan's borrower is never the fiscal host.
Legal forms are checked on input only, under rules 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.scenario_files import load_scenario_file
from domain import commands as c
from domain.cooperation import CooperationSpec
from domain.errors import Conflict, InvalidInput
from domain.lifecycle import decide
from domain.limits import DOOR
from domain.scenario import ScenarioError
from domain.simulation import SimulationResult, run_scenario
from domain.state import CooperationState
from tests.domain.helpers import (
    Shell,
    at,
    cooperation,
    grant,
    loan,
    of_type,
    phases,
    programme,
    releases,
    version,
)

VECTORS = Path(__file__).resolve().parent / "vectors"


def _hosted(**overrides: Any) -> dict[str, Any]:
    return cooperation(
        members=[{"id": "habitants", "name": "Habitants", "legal_form": "informal"}],
        fiscal_host="pole",
        **overrides,
    )


def _prog(pid: str = "prog", funder: str = "fondation", **by_phase: Any) -> Any:
    return version(programme(pid, phases(**by_phase), funder=funder))


def _shell(spec: dict[str, Any], *programmes: Any, rules_version: int = 3) -> Shell:
    return Shell(spec, list(programmes), at(2027, 1, 4), rules_version=rules_version)


def _register(spec: dict[str, Any], rules_version: int = 3) -> CooperationState:
    command = c.Register(
        cooperation=CooperationSpec.model_validate(spec),
        programmes=[_prog()],
        lines_accepted=True,
        rules_version=rules_version,
    )
    return decide(None, command, at(2027, 1, 4)).state


# -- the worked examples, as scenario files -------------------------------------------------


@pytest.fixture(scope="module")
def graduation() -> SimulationResult:
    return run_scenario(load_scenario_file(VECTORS / "graduation.yaml"))


def test_the_collective_founds_its_association_and_keeps_its_lines(
    graduation: SimulationResult,
) -> None:
    (joined,) = of_type(graduation.events, "MemberJoined")
    assert (joined.at.date().isoformat(), joined.data["id"]) == ("2027-12-01", "asso-ruche")
    amended = [
        (e.data["line"], e.at.date().isoformat(), e.data["allocation"])
        for e in of_type(graduation.events, "LineAmended")
    ]
    to_asso = [{"payee": "asso-ruche", "share": "1"}]
    assert amended == [("fonds-a", "2027-12-01", to_asso), ("fonds-b", "2028-01-12", to_asso)]


def test_a_release_falling_due_while_the_amendment_is_open_is_held_then_goes_to_the_association(
    graduation: SimulationResult,
) -> None:
    # suite-b falls due at 2027-01-04 + P12M = 2028-01-04, while fonds-b's amendment is open:
    # nothing is ordered then, and at the acceptance (2028-01-12) it goes to the association.
    assert releases(graduation.events) == [
        ("fonds-a", "amorcage-a", "2027-01-04", "8000.00"),
        ("fonds-b", "amorcage-b", "2027-01-04", "6000.00"),
        ("fonds-b", "suite-b", "2028-01-12", "4000.00"),
        ("fonds-a", "suite-a", "2028-03-04", "5000.00"),
    ]
    assert [(r.tranche, r.payee, r.at.date().isoformat()) for r in graduation.ledger] == [
        ("amorcage-a", "pole-107", "2027-01-04"),
        ("amorcage-b", "pole-107", "2027-01-04"),
        ("suite-b", "asso-ruche", "2028-01-12"),
        ("suite-a", "asso-ruche", "2028-03-04"),
    ]
    on_the_day = [e.type for e in graduation.events if e.at.date().isoformat() == "2028-01-12"]
    assert on_the_day[-2:] == ["LineAmended", "TrancheReleased"]


def test_the_hosting_ends_and_the_sequence_stays_gapless(graduation: SimulationResult) -> None:
    (ended,) = of_type(graduation.events, "FiscalHostEnded")
    assert (ended.at.date().isoformat(), ended.data) == ("2028-01-15", {"fiscal_host": "pole-107"})
    assert [e.seq for e in graduation.events] == list(range(1, len(graduation.events) + 1))
    assert graduation.state is not None
    assert graduation.state.fiscal_host is None
    assert graduation.state.former_fiscal_host == "pole-107"


def test_a_patient_loan_to_the_association_after_graduation() -> None:
    result = run_scenario(load_scenario_file(VECTORS / "graduation-loan.yaml"))
    (formalised,) = of_type(result.events, "MemberFormalised")
    assert formalised.data == {
        "member": "habitants",
        "legal_form": "association",
        "previous_legal_form": "informal",
        "rna": "W123456789",
    }
    (disbursed,) = result.ledger
    assert (disbursed.kind, disbursed.payee, disbursed.amount) == ("loan", "habitants", 40000)
    first = of_type(result.events, "LoanInstallmentDue")[0]
    assert (first.data["due"], first.data["principal"], first.data["interest"]) == (
        "2030-08-15",
        "2000.00",
        "1801.64",
    )


def test_the_same_loan_proposed_to_the_host_before_graduation_is_refused() -> None:
    raw = yaml.safe_load((VECTORS / "graduation-loan.yaml").read_text(encoding="utf-8"))
    raw["steps"] = [{"at": "2027-06-01", "attach": {"programme": "pret-patient"}}]
    with pytest.raises(ScenarioError, match=r"allocation: .*never the fiscal host 'pole-107'"):
        run_scenario(raw)


# -- legal forms (input only) ---------------------------------------------------------------


def test_a_legal_form_typed_in_french_is_refused_at_registration() -> None:
    # "informel" is not "informal": before rules 3 it made the group a payable legal entity.
    spec = cooperation(
        members=[
            {"id": "habitants", "name": "Habitants", "legal_form": "informel"},
        ],
    )
    with pytest.raises(InvalidInput) as refused:
        _register(spec)
    assert refused.value.field == "members[0].legal_form"


def test_under_rules_2_a_recorded_legal_form_decides_as_recorded() -> None:
    spec = cooperation(members=[{"id": "habitants", "name": "H", "legal_form": "informel"}])
    state = _register(spec, rules_version=2)
    assert state.lines[0].allocation[0].payee == "habitants"


def test_a_member_joining_with_an_unknown_legal_form_is_refused() -> None:
    shell = _shell(_hosted(funding_lines=[]))
    join = c.MemberJoin.model_validate(
        {"member": {"id": "asso", "name": "Asso", "legal_form": "asso loi 1901"}}
    )
    with pytest.raises(InvalidInput) as refused:
        shell.do(join, at(2027, 2, 1))
    assert refused.value.field == "legal_form"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"legal_form": "informal"}, "legal_form"),
        ({"legal_form": "associaton"}, "legal_form"),
        ({"legal_form": "association", "siret": "1234"}, "siret"),
        ({"legal_form": "association", "siret": "1234567890123a"}, "siret"),
        ({"legal_form": "association", "rna": "123456789"}, "rna"),
        ({"legal_form": "association", "rna": "W12345678"}, "rna"),
        ({"member": "nobody", "legal_form": "association"}, "member"),
    ],
)
def test_formalise_names_the_field_at_fault(fields: dict[str, str], field: str) -> None:
    shell = _shell(_hosted(funding_lines=[]))
    with pytest.raises(InvalidInput) as refused:
        shell.do(c.Formalise.model_validate({"member": "habitants"} | fields), at(2027, 2, 1))
    assert refused.value.field == field


def test_a_formalised_member_may_be_a_payee() -> None:
    shell = _shell(_hosted(), _prog(emergence=[grant("t", {"elapsed": "P2M"})]))
    to_habitants = {"line": "prog", "allocation": [{"payee": "habitants", "share": "1"}]}
    with pytest.raises(InvalidInput) as refused:
        shell.do(c.Amend.model_validate(to_habitants), at(2027, 1, 10))
    assert refused.value.field == "allocation"
    shell.do(
        c.Formalise(member="habitants", legal_form="scop", siret="12345678901234"),
        at(2027, 1, 20),
    )
    assert shell.state is not None and not shell.state.members[0].informal
    shell.do(c.Amend.model_validate(to_habitants), at(2027, 1, 21))
    shell.do(c.DecideAmendment(line="prog", accept=True), at(2027, 1, 22))
    shell.clock(at(2027, 3, 10))
    (release,) = of_type(shell.events, "TrancheReleased")
    assert release.data["parts"] == [{"payee": "habitants", "amount": "1000.00"}]


# -- amendments -----------------------------------------------------------------------------


def _graduated(*programmes: Any) -> Shell:
    shell = _shell(
        _hosted(funding_lines=[p.spec.id for p in programmes] or ["prog"]),
        *(programmes or (_prog(emergence=[grant("t", {"elapsed": "P2M"})]),)),
    )
    shell.do(c.Formalise(member="habitants", legal_form="association"), at(2027, 1, 10))
    return shell


_TO_ASSO = {"line": "prog", "allocation": [{"payee": "habitants", "share": "1"}]}


def test_one_amendment_open_per_line() -> None:
    shell = _graduated()
    shell.do(c.Amend.model_validate(_TO_ASSO), at(2027, 1, 11))
    with pytest.raises(Conflict, match="already open"):
        shell.do(c.Amend.model_validate(_TO_ASSO), at(2027, 1, 12))


def test_a_declined_amendment_releases_what_it_held_to_the_allocation_in_force() -> None:
    shell = _graduated()
    shell.do(c.Amend.model_validate(_TO_ASSO), at(2027, 1, 11))
    shell.clock(at(2027, 3, 10))  # t fell due 2027-03-04: held
    assert of_type(shell.events, "TrancheReleased") == []
    assert shell.state is not None and shell.state.lines[0].held[0].tranche == "t"
    events = shell.do(
        c.DecideAmendment(line="prog", accept=False, note="Pas encore"), at(2027, 3, 12)
    )
    assert [e.type for e in events] == ["LineAmendmentDeclined", "TrancheReleased"]
    assert events[0].data["note"] == "Pas encore"
    assert events[1].data["parts"] == [{"payee": "pole", "amount": "1000.00"}]
    # The note lives in the event only: the state keeps no free text.
    assert "Pas encore" not in shell.state.model_dump_json()


def test_a_decision_without_an_open_amendment_is_a_conflict() -> None:
    shell = _graduated()
    with pytest.raises(Conflict, match="no amendment"):
        shell.do(c.DecideAmendment(line="prog", accept=True), at(2027, 1, 11))


def test_a_loan_line_cannot_be_amended() -> None:
    pret = _prog(
        "pret",
        emergence=[
            loan(
                "l",
                "1000.00",
                annual_rate="0.01",
                grace="P1M",
                term="P12M",
                installment_every="P3M",
            )
        ],
    )
    spec = cooperation(
        funding_lines=[{"programme": "pret", "allocation": [{"payee": "asso", "share": "1"}]}]
    )
    shell = _shell(spec, pret)
    with pytest.raises(Conflict, match="lends"):
        shell.do(
            c.Amend.model_validate(
                {"line": "pret", "allocation": [{"payee": "asso", "share": "1"}]}
            ),
            at(2027, 1, 11),
        )


def test_an_allocation_not_summing_to_one_is_refused_at_the_door() -> None:
    with pytest.raises(ValueError, match="add up to 1"):
        c.Amend.model_validate(
            {"line": "prog", "allocation": [{"payee": "habitants", "share": "0.5"}]},
            context=DOOR,
        )


# -- the loan's borrower --------------------------------------------------------------------


def test_a_loan_line_paying_the_host_by_default_is_refused_at_registration() -> None:
    pret = _prog(
        "pret",
        emergence=[
            loan(
                "l",
                "1000.00",
                annual_rate="0.01",
                grace="P1M",
                term="P12M",
                installment_every="P3M",
            )
        ],
    )
    spec = _hosted(funding_lines=["pret"])
    with pytest.raises(InvalidInput) as refused:
        _shell(spec, pret)
    assert refused.value.field == "funding_lines[0].allocation"
    # Under rules 2 the host borrowed, as recorded.
    assert _shell(spec, pret, rules_version=2).state is not None


# -- end of hosting -------------------------------------------------------------------------


def test_the_hosting_cannot_end_while_a_line_pays_the_host() -> None:
    shell = _graduated()
    with pytest.raises(Conflict, match="lines pay the fiscal host 'pole': prog"):
        shell.do(c.EndHosting(), at(2027, 1, 11))


def test_the_hosting_cannot_end_while_every_member_is_informal() -> None:
    shell = _shell(_hosted(funding_lines=[]))
    with pytest.raises(Conflict, match="every member is informal"):
        shell.do(c.EndHosting(), at(2027, 1, 11))


def test_graduation_needs_rules_3() -> None:
    shell = _shell(_hosted(funding_lines=[]), rules_version=2)
    with pytest.raises(Conflict, match="rules 2"):
        shell.do(c.Formalise(member="habitants", legal_form="association"), at(2027, 1, 11))


def test_an_amendment_decided_while_paused_releases_what_it_held_at_the_resume() -> None:
    shell = _graduated()
    shell.do(c.Amend.model_validate(_TO_ASSO), at(2027, 1, 11))
    shell.clock(at(2027, 3, 10))  # t fell due 2027-03-04: held
    shell.do(c.Pause(), at(2027, 3, 11))
    events = shell.do(c.DecideAmendment(line="prog", accept=True), at(2027, 3, 12))
    assert [e.type for e in events] == ["LineAmended"]
    events = shell.do(c.Resume(), at(2027, 4, 1))
    assert [e.type for e in events] == ["Resumed", "TrancheReleased"]
    assert events[1].data["parts"] == [{"payee": "habitants", "amount": "1000.00"}]


def test_a_payee_of_an_open_amendment_cannot_leave() -> None:
    shell = _graduated()
    shell.do(c.Amend.model_validate(_TO_ASSO), at(2027, 1, 11))
    # The association's founders formalised "habitants"; a second member keeps the group.
    shell.do(
        c.MemberJoin.model_validate(
            {"member": {"id": "voisins", "name": "Voisins", "legal_form": "informal"}}
        ),
        at(2027, 1, 12),
    )
    with pytest.raises(Conflict, match="amendment open on line 'prog'"):
        shell.do(c.MemberLeave(member_id="habitants"), at(2027, 1, 13))
