"""Rules 9 and 15: funding lines proposed by the facilitator and accepted or declined by the
funder; an acceptance commits the line's whole potential, refused when the budget or the cap
cannot cover it; the close frees what was not released; transition requests and members."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import commands as c
from domain.commitments import version_budget_refusal, versioned_budget
from domain.effects import FreeCommitment, Notify, RequestCommitment
from domain.errors import Conflict, InvalidInput
from domain.lifecycle.lines import answered_by
from domain.rules import upgrade
from domain.scenario import ScenarioError
from tests.domain.helpers import (
    GRANT,
    Shell,
    at,
    cooperation,
    grant,
    loan,
    of_type,
    phase,
    phases,
    programme,
    releases,
    simulate,
    timeline,
    types_at,
    version,
)

# ---------------------------------------------------------------------------------------
# Rule 9: commitments


def test_rule_9_commitment_on_acceptance_and_freeing_at_close() -> None:
    loan = {
        "id": "pret",
        "amount": "5000.00",
        "purpose": "investment",
        "when": "approval",
        "instrument": {
            "loan": {
                "annual_rate": "0.01",
                "grace": "P6M",
                "term": "P12M",
                "installment_every": "P6M",
            }
        },
    }
    spec = programme(
        phases=phases(
            emergence=[
                grant("e", "entry"),
                grant("r", {"elapsed": "P1M"}, repeat={"every": "P1M", "times": 2}),
                loan,
            ]
        ),
        cap_per_cooperation="9000.00",
    )
    shell = Shell(cooperation(), [version(spec)], at(2027, 1, 4), accepted=False)
    assert [e.type for e in shell.events] == [
        "CooperationRegistered",
        "FundingLineProposed",
        "PhaseEntered",
    ]
    assert shell.do(c.AcceptLine(line="prog"), at(2027, 1, 5)) == []
    (request,) = [x for x in shell.effects if isinstance(x, RequestCommitment)]
    # 1000 + 3 × 1000 + 5000: every tranche, each repeat occurrence and the loan principal.
    assert (request.amount, request.cap) == (Decimal("9000.00"), Decimal("9000.00"))
    with pytest.raises(Conflict, match="being made"):
        shell.do(c.AcceptLine(line="prog"), at(2027, 1, 5))
    assert shell.do(c.CommitmentRefused(line="prog", reason="budget"), at(2027, 1, 5)) == []
    assert shell.state.lines[0].status == "proposed"
    shell.do(c.AcceptLine(line="prog"), at(2027, 1, 6))
    events = shell.do(c.CommitmentCommitted(line="prog"), at(2027, 1, 6))
    assert [e.type for e in events] == ["FundingLineAttached", "TrancheReleased"]
    assert shell.state.lines[0].committed == Decimal("9000.00")
    events = shell.do(c.Close(outcome="completed"), at(2027, 2, 10))
    # Released: e (01-06) and r (02-06): 9000 − 2000 left.
    assert [(e.type, e.data.get("amount")) for e in events] == [
        ("CommitmentReleased", "7000.00"),
        ("ReportIssued", None),
        ("Closed", None),
    ]
    (free,) = [x for x in shell.effects if isinstance(x, FreeCommitment)]
    assert free.amount == Decimal("7000.00")


def test_rule_9_commits_whole_potential_and_frees_per_line_at_close() -> None:
    a = programme(
        "a",
        phases={
            "emergence": phase(
                [
                    grant("a-entry", "entry"),
                    grant("a-rep", "entry", "200.00", repeat={"every": "P1Y", "times": 2}),
                ]
            ),
            "experimentation": phase(
                [
                    loan(
                        "a-loan",
                        "5000.00",
                        annual_rate="0.01",
                        grace="P6M",
                        term="P12M",
                        installment_every="P6M",
                    )
                ]
            ),
        },
    )
    b = programme("b", phases={"emergence": phase([grant("b-entry", "entry", "300.00")])})
    result = simulate(
        [a, b],
        [{"at": "2027-03-01", "close": {"outcome": "completed"}}],
        funding_lines=["a", "b"],
    )
    # a: 1000 + 200 × (1 + 2 repeats) + 5000 loan principal = 6600; b: 300.
    attached = of_type(result.events, "FundingLineAttached")
    assert [(e.data["line"], e.data["amount"]) for e in attached] == [
        ("a", "6600.00"),
        ("b", "300.00"),
    ]
    # Released a: 1000 + 200 (01-04), so 5400 left; b: nothing left, no CommitmentReleased.
    # close → CommitmentReleased (per line with something left), ReportIssued, Closed.
    closing = [e for e in result.events if e.at.date().isoformat() == "2027-03-01"]
    assert [(e.type, e.data.get("line"), e.data.get("amount")) for e in closing] == [
        ("CommitmentReleased", "a", "5400.00"),
        ("ReportIssued", "a", None),
        ("ReportIssued", "b", None),
        ("Closed", None, None),
    ]
    # The budget must cover the whole potential, or the scenario is refused.
    with pytest.raises(ScenarioError, match="6600"):
        simulate([{**a, "budget": "6599.99"}, b], [], funding_lines=["a", "b"])


def test_rule_9_budget_refuses_then_raised() -> None:
    small = programme("small", budget="500.00")
    with pytest.raises(ScenarioError, match=r"500\.00 EUR left, 1000\.00 needed"):
        simulate([small], [], funding_lines=["small"])
    other = programme("other", budget="1500.00")
    attach: dict[str, Any] = {"at": "P1D", "attach": {"programme": "small"}}
    with pytest.raises(ScenarioError, match=r"500\.00 EUR left") as refused:
        simulate([small, other], [attach], funding_lines=["other"])
    assert refused.value.step_index == 0
    raise_budget = {"at": "P1D", "raise_budget": {"programme": "small", "amount": "500.00"}}
    raised = simulate([small, other], [raise_budget, attach], funding_lines=["other"])
    assert releases(raised.events) == [
        ("other", "entry", "2027-01-04", GRANT),
        ("small", "entry", "2027-01-05", GRANT),
    ]
    with pytest.raises(ScenarioError, match="already has"):
        simulate(
            [other], [{"at": "P1D", "attach": {"programme": "other"}}], funding_lines=["other"]
        )


# ---------------------------------------------------------------------------------------
# Rule 15: power is shared


def test_rule_15_proposals_requests_members_and_declines_are_recorded_without_names() -> None:
    spec = cooperation()
    shell = Shell(spec, [version(programme())], at(2027, 1, 4), accepted=False)
    proposed = [x for x in shell.effects if isinstance(x, Notify)]
    assert [(n.to_role, n.to, n.about) for n in proposed] == [
        ("funder", "fondation", "FundingLineProposed")
    ]
    events = shell.do(c.RequestTransition(action="advance", reason="prêts"), at(2027, 1, 5))
    assert events[0].data == {"action": "advance", "reason": "prêts", "phase": "emergence"}
    assert shell.effects[-1] == Notify(
        to_role="facilitator", to="tiers", about="TransitionRequested", seq=events[0].seq
    )
    joined = shell.do(
        c.MemberJoin(
            member={"id": "mairie", "name": "Mairie de Lilas", "legal_form": "local_authority"}
        ),
        at(2027, 1, 6),
    )
    assert joined[0].data == {"id": "mairie", "legal_form": "local_authority", "informal": False}
    left = shell.do(c.MemberLeave(member_id="habitants"), at(2027, 1, 7))
    assert left[0].data == {"member": "habitants"}
    with pytest.raises(Conflict, match="payee"):
        shell.do(c.MemberLeave(member_id="asso"), at(2027, 1, 8))
    # No names in the state or the events.
    dumped = shell.state.model_dump_json() + "".join(e.model_dump_json() for e in shell.events)
    assert "Mairie de Lilas" not in dumped and "Habitants" not in dumped
    shell.do(c.DeclineLine(line="prog", note="hors cible"), at(2027, 1, 9))
    assert shell.events[-1].type == "FundingLineDeclined"


def test_rule_15_attach_records_proposed_then_attached_and_twice_is_refused() -> None:
    a = programme("a", phases={"emergence": phase([])})
    b = programme("b", phases={"emergence": phase([grant("b-entry", "entry")])})
    result = simulate([a, b], [{"at": "P1D", "attach": {"programme": "b"}}], funding_lines=["a"])
    assert types_at(result, "2027-01-05") == [
        "FundingLineProposed",
        "FundingLineAttached",
        "TrancheReleased",
    ]
    with pytest.raises(ScenarioError, match="already has"):
        simulate(
            [a, b],
            [
                {"at": "P1D", "attach": {"programme": "b"}},
                {"at": "P2D", "attach": {"programme": "b"}},
            ],
            funding_lines=["a"],
        )


def test_rule_15_request_join_and_leave_are_recorded_when_made() -> None:
    a = programme("a", phases={"emergence": phase([])})
    b = programme("b", phases={"emergence": phase([], report_every="P2M")})
    result = simulate(
        [a, b],
        [
            {"at": "2027-01-10", "request": {"action": "advance", "reason": "prêts"}},
            {
                "at": "2027-01-11",
                "join": {"id": "voisins", "name": "Voisins", "legal_form": "informal"},
            },
            {"at": "2027-01-12", "leave": {"member": "habitants"}},
            {"at": "2027-01-31", "attach": {"programme": "b"}},
        ],
        funding_lines=["a"],
        until="2027-07-31",
    )
    assert timeline(result, "TransitionRequested", "MemberJoined", "MemberLeft") == [
        ("TransitionRequested", "2027-01-10"),
        ("MemberJoined", "2027-01-11"),
        ("MemberLeft", "2027-01-12"),
    ]


def test_rule_15_the_facilitator_answers_a_request_by_acting_or_declines_it() -> None:
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 4))
    (paused,) = shell.do(c.RequestTransition(action="pause", reason="été"), at(2027, 2, 1))
    (closing,) = shell.do(c.RequestTransition(action="close", reason="fin"), at(2027, 2, 2))
    # The facilitator pauses: the open pause request is answered and leaves the state (the
    # read model dates it at the pause), the close one stays open.
    pause_events = shell.do(c.Pause(), at(2027, 2, 3))
    assert [r.seq for r in shell.state.requests] == [closing.seq]
    assert [(e.type, action) for e, action in answered_by(pause_events)] == [("Paused", "pause")]
    (declined,) = shell.do(
        c.DeclineTransitionRequest(request=closing.seq, reason="pas encore"), at(2027, 2, 4)
    )
    assert declined.type == "TransitionRequestDeclined"
    assert declined.data == {"request": closing.seq, "action": "close", "reason": "pas encore"}
    assert shell.state.requests == []
    told = [(n.to_role, n.to) for n in shell.effects if isinstance(n, Notify)]
    assert ("collective", "ruche") in told
    # Declined or answered, a request is no longer open: refused as before.
    for seq in (closing.seq, paused.seq):
        with pytest.raises(Conflict, match=f"transition request {seq} is not open") as refused:
            shell.do(c.DeclineTransitionRequest(request=seq, reason="x"), at(2027, 2, 5))
        assert refused.value.field == "request"
    with pytest.raises(InvalidInput) as unknown:
        shell.do(c.DeclineTransitionRequest(request=999, reason="x"), at(2027, 2, 5))
    assert unknown.value.field == "request"


@pytest.mark.parametrize("rules", [1, 2])
def test_rule_15_before_rules_3_several_requests_of_one_action_stay_open(rules: int) -> None:
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 4), rules_version=rules)
    asked = [
        shell.do(c.RequestTransition(action="pause", reason=f"été {n}"), at(2027, 2, n))[0]
        for n in (1, 2, 3)
    ]
    assert [r.seq for r in shell.state.requests] == [e.seq for e in asked]
    shell.do(c.Pause(), at(2027, 2, 4))
    assert shell.state.requests == []


def test_rule_15_rules_3_one_open_request_per_action_another_names_the_open_one() -> None:
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 4), rules_version=3)
    (first,) = shell.do(c.RequestTransition(action="pause", reason="été"), at(2027, 2, 1))
    with pytest.raises(Conflict, match=f"transition request {first.seq}") as refused:
        shell.do(c.RequestTransition(action="pause", reason="encore"), at(2027, 2, 2))
    assert refused.value.field == "action"
    # Another action is another request.
    (closing,) = shell.do(c.RequestTransition(action="close", reason="fin"), at(2027, 2, 2))
    assert [r.seq for r in shell.state.requests] == [first.seq, closing.seq]
    # Once answered (or declined) the action may be asked again.
    shell.do(c.Pause(), at(2027, 2, 3))
    shell.do(c.Resume(), at(2027, 2, 4))
    (again,) = shell.do(c.RequestTransition(action="pause", reason="hiver"), at(2027, 2, 5))
    shell.do(c.DeclineTransitionRequest(request=again.seq, reason="non"), at(2027, 2, 6))
    (third,) = shell.do(c.RequestTransition(action="pause", reason="printemps"), at(2027, 2, 7))
    assert [r.seq for r in shell.state.requests] == [closing.seq, third.seq]


def test_rule_15_the_state_keeps_no_reason_nor_objectives() -> None:
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 4))
    shell.do(c.RequestTransition(action="pivot", reason="RAISON-SECRETE"), at(2027, 2, 1))
    (pivoted, *_) = shell.do(
        c.Pivot(objectives="OBJECTIFS-SECRETS", reason="MOTIF-SECRET"), at(2027, 2, 2)
    )
    # The events carry them (PostgreSQL); the state, carried for years, does not.
    assert pivoted.data["objectives"] == "OBJECTIFS-SECRETS"
    dumped = shell.state.model_dump_json()
    for text in ("RAISON-SECRETE", "OBJECTIFS-SECRETS", "MOTIF-SECRET"):
        assert text not in dumped
    assert shell.state.requests == []


def test_rule_15_an_advance_is_told_from_the_phase_a_restart_or_registration_enters() -> None:
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 4))
    assert answered_by(shell.events) == []
    restarted = shell.do(c.Restart(reason="départ"), at(2027, 2, 1))
    assert [a for _, a in answered_by(restarted)] == ["restart"]
    advanced = shell.do(c.Advance(), at(2027, 3, 1))
    assert [(e.type, a) for e, a in answered_by(advanced)] == [("PhaseEntered", "advance")]


def test_rule_15_a_state_recorded_by_older_code_loads_without_what_left_it() -> None:
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 4), rules_version=2)
    (open_,) = shell.do(c.RequestTransition(action="close", reason="fin"), at(2027, 2, 1))
    legacy = shell.state.model_dump(mode="json")
    legacy["objectives"] = "ancien cap"
    legacy["requests"] = [
        {
            "seq": 2,
            "action": "pause",
            "reason": "été",
            "at": "2027-01-10T00:00:00Z",
            "status": "answered",
            "decided_at": "2027-01-11T00:00:00Z",
        },
        {**legacy["requests"][0], "reason": "fin", "status": "open", "decided_at": None},
    ]
    kept = legacy["check_ins"]
    legacy["check_ins"] = [
        {
            "id": "old",
            "stint": 1,
            "period": 1,
            "submitted_at": "2027-01-20T00:00:00Z",
            "status": "submitted",
            "reviewed_at": None,
            "replaced_by": "new",
        },
        *kept,
    ]
    loaded = type(shell.state).model_validate(legacy)
    assert [r.seq for r in loaded.requests] == [open_.seq]
    assert all(ci.id != "old" for ci in loaded.check_ins)
    assert "ancien cap" not in loaded.model_dump_json()
    assert type(shell.state).model_validate_json(loaded.model_dump_json()) == loaded


def test_rule_15_moving_to_rules_3_keeps_every_open_request_and_refuses_a_new_one() -> None:
    shell = Shell(cooperation(), [version(programme())], at(2027, 1, 4), rules_version=2)
    first, second = (
        shell.do(c.RequestTransition(action="close", reason=f"fin {n}"), at(2027, 2, n))[0]
        for n in (1, 2)
    )
    shell.state = upgrade(shell.state, 3, at(2027, 2, 3))
    assert shell.state.rules_version == 3
    assert [r.seq for r in shell.state.requests] == [first.seq, second.seq]
    with pytest.raises(Conflict, match=f"transition request {first.seq}"):
        shell.do(c.RequestTransition(action="close", reason="encore"), at(2027, 2, 4))
    shell.do(c.DeclineTransitionRequest(request=first.seq, reason="non"), at(2027, 2, 5))
    with pytest.raises(Conflict, match=f"transition request {second.seq}"):
        shell.do(c.RequestTransition(action="close", reason="encore"), at(2027, 2, 6))
    shell.do(c.DeclineTransitionRequest(request=second.seq, reason="non"), at(2027, 2, 7))
    (third,) = shell.do(c.RequestTransition(action="close", reason="enfin"), at(2027, 2, 8))
    assert [r.seq for r in shell.state.requests] == [third.seq]


def test_rule_15_a_lines_angle_stays_in_the_state_only_while_the_line_is_proposed() -> None:
    angle = {"summary": "RESUME-POUR-LE-FINANCEUR", "indicators": ["participants"]}
    spec = cooperation(funding_lines=[{"programme": "prog", "angle": angle}])
    shell = Shell(spec, [version(programme())], at(2027, 1, 4), accepted=False)
    (line,) = shell.state.lines
    assert line.status == "proposed" and line.angle is not None
    shell.do(c.AcceptLine(line="prog"), at(2027, 1, 5))
    (attached,) = shell.do(c.CommitmentCommitted(line="prog"), at(2027, 1, 5))[:1]
    # The event keeps it for the reports; the state no longer does.
    assert attached.type == "FundingLineAttached"
    assert attached.data["angle"]["summary"] == "RESUME-POUR-LE-FINANCEUR"
    assert "RESUME-POUR-LE-FINANCEUR" not in shell.state.model_dump_json()
    # Taken as accepted at registration: never kept.
    taken = Shell(spec, [version(programme())], at(2027, 1, 4))
    assert "RESUME-POUR-LE-FINANCEUR" not in taken.state.model_dump_json()
    assert any(
        e.data.get("angle", {}) and e.data["angle"]["summary"] == "RESUME-POUR-LE-FINANCEUR"
        for e in taken.events
    )


# ---------------------------------------------------------------------------------------
# Rule 9: the budget across a programme's versions

_CENTS = st.integers(min_value=0, max_value=10**12).map(lambda n: Decimal(n) / 100)


@given(
    first=_CENTS,
    raises=st.lists(_CENTS, max_size=4),
    specs=st.lists(_CENTS, min_size=1, max_size=5),
)
def test_rule_9_the_budget_is_the_last_specs_figure_plus_every_raise(
    first: Decimal, raises: list[Decimal], specs: list[Decimal]
) -> None:
    budget = first + sum(raises, Decimal(0))
    previous = first
    for spec in specs:
        budget = versioned_budget(budget, previous, spec)
        previous = spec
    assert budget == specs[-1] + sum(raises, Decimal(0))


def test_rule_9_a_version_keeps_every_raise_and_never_goes_below_what_is_committed() -> None:
    # Created at 100000, raised by 10000: a version leaving the figure as it was keeps 110000.
    assert versioned_budget(Decimal("110000.00"), Decimal("100000.00"), Decimal("100000.00")) == (
        Decimal("110000.00")
    )
    lowered = versioned_budget(Decimal("110000.00"), Decimal("100000.00"), Decimal("30000.00"))
    assert lowered == Decimal("40000.00")
    assert version_budget_refusal(lowered, Decimal("46000.00")) == "committed"
    assert version_budget_refusal(Decimal("46000.00"), Decimal("46000.00")) is None
    assert version_budget_refusal(Decimal("10000000000000.00"), Decimal(0)) == "max"
