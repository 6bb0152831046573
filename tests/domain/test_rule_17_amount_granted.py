"""Rule 17: the amount granted per line. A programme with `amounts: granted` gives its grant
tranches shares (each repeat occurrence counted, summing to exactly 1) and may bound grants;
its funder accepts a line with an amount, which fixes every release's amount at once (share ×
amount rounded down to the cent, the remainder on the last occurrence of the last grant
tranche in spec order); the commitment is that amount plus the loans' principals."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cli.scenario_files import load_scenario_file
from domain import commands as c
from domain.cooperation import LineRequest
from domain.effects import FreeCommitment, RequestCommitment
from domain.errors import Conflict, InvalidInput
from domain.lifecycle.granted import grant_amounts
from domain.limits import at_door
from domain.programme import ProgrammeSpec
from domain.scenario import ScenarioError
from domain.simulation import run_scenario
from domain.views import summary
from tests.domain.helpers import (
    Shell,
    at,
    cooperation,
    loan,
    of_type,
    phase,
    programme,
    releases,
    simulate,
    version,
)

SCENARIO = Path(__file__).resolve().parent / "scenarios" / "granted.yaml"
TERMS = {"annual_rate": "0.01", "grace": "P12M", "term": "P36M", "installment_every": "P6M"}


def share(tid: str, value: str, when: Any = "entry", **extra: Any) -> dict[str, Any]:
    return {"id": tid, "share": value, "purpose": "animation", "when": when, **extra}


def granted(
    tranches: list[dict[str, Any]] | None = None, bounds: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    spec = programme(
        phases={
            "emergence": phase(
                tranches or [share("a", "0.6"), share("b", "0.4", {"elapsed": "P1M"})]
            )
        },
        amounts="granted",
        **extra,
    )
    if bounds is not None:
        spec["grant"] = bounds
    return spec


def refused_at(spec: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as refused:
        at_door(ProgrammeSpec, spec)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in refused.value.errors()]


# ---------------------------------------------------------------------------------------
# The spec


def test_rule_17_a_granted_spec_with_shares_summing_to_one_is_taken() -> None:
    spec = at_door(ProgrammeSpec, granted(bounds={"min": "1000.00", "max": "50000.00"}))
    assert spec.granted and spec.grant is not None
    assert [t.share for _, t in spec.tranches()] == [Decimal("0.6"), Decimal("0.4")]
    # Fixed remains the default: today's specs read as they were.
    assert not at_door(ProgrammeSpec, programme()).granted


def test_rule_17_each_repeat_occurrence_counts_its_share() -> None:
    # 0.2 × (1 + 4 occurrences) = 1.
    repeat = {"every": "P1Y", "times": 4}
    assert at_door(ProgrammeSpec, granted([share("c", "0.2", repeat=repeat)])).granted
    # 0.25 × 5 = 1.25: not 1.
    (fault,) = refused_at(granted([share("c", "0.25", repeat=repeat)]))
    assert fault[0] == "amounts" and "1.25, not 1" in fault[1]


@pytest.mark.parametrize(
    ("spec", "path", "words"),
    [
        (
            granted([share("a", "0.5")]),
            "amounts",
            "add up to 0.5, not 1",
        ),
        (
            granted([share("a", "0.6"), {**share("b", "0.4"), "amount": "10.00"}]),
            "phases.emergence.tranches.1.amount",
            "gives a share",
        ),
        (
            granted([share("a", "1"), {"id": "b", "purpose": "animation", "when": "entry"}]),
            "phases.emergence.tranches.1.share",
            "required with amounts: granted",
        ),
        (
            programme(phases={"emergence": phase([share("a", "1")])}),
            "phases.emergence.tranches.0.share",
            "a share is for a grant tranche",
        ),
        (
            programme(
                phases={"emergence": phase([{"id": "a", "purpose": "animation", "when": "entry"}])}
            ),
            "phases.emergence.tranches.0.amount",
            "Field required",
        ),
        (
            granted([share("a", "1"), {**loan("p", "10.00", **TERMS), "share": "0.1"}]),
            "phases.emergence.tranches.1.share",
            "a share is for a grant tranche",
        ),
        (
            granted([share("a", "0")]),
            "phases.emergence.tranches.0.share",
            "greater than 0",
        ),
        (granted(bounds={"min": "500.00", "max": "100.00"}), "grant.max", "below min"),
        (granted(bounds={"max": "ten"}), "grant.max", "valid decimal"),
        (granted(bounds={"min": 100}), "grant.min", "decimal string"),
        ({**programme(), "grant": {"max": "100.00"}}, "grant", "only with amounts: granted"),
        ({**granted(), "amounts": "decided"}, "amounts", "'fixed' or 'granted'"),
    ],
)
def test_rule_17_a_spec_at_fault_is_refused_naming_the_field(
    spec: dict[str, Any], path: str, words: str
) -> None:
    faults = refused_at(spec)
    assert any(p == path and words in message for p, message in faults), faults


def test_rule_17_a_granted_programme_keeps_its_loans_amounts() -> None:
    spec = at_door(ProgrammeSpec, granted([share("a", "1"), loan("p", "5000.00", **TERMS)]))
    # What a spec alone commits: the loans; the line adds the amount granted.
    assert spec.potential == Decimal("5000.00")


# ---------------------------------------------------------------------------------------
# The arithmetic


def test_rule_17_the_issue_example_releases_exactly() -> None:
    spec = at_door(ProgrammeSpec, granted())
    amounts = [(g.tranche, g.amount) for g in grant_amounts(spec, Decimal("33333.33"))]
    # 33333.33 × 0.6 = 19999.998 → 19999.99; × 0.4 = 13333.332 → 13333.33, + the 0.01 left.
    assert amounts == [("a", Decimal("19999.99")), ("b", Decimal("13333.34"))]


def test_rule_17_the_remainder_goes_to_the_last_occurrence_of_the_last_grant_tranche() -> None:
    # Phases in lifecycle order whatever order the spec writes them in; loans take no part.
    spec = at_door(
        ProgrammeSpec,
        programme(
            phases={
                "experimentation": phase([share("late", "0.3")]),
                "emergence": phase(
                    [
                        share("r", "0.04", repeat={"every": "P1M", "times": 4}),
                        share("z", "0.5"),
                        loan("p", "100.00", **TERMS),
                    ]
                ),
            },
            amounts="granted",
        ),
    )
    got = [(g.tranche, g.occurrence, g.amount) for g in grant_amounts(spec, Decimal("100.01"))]
    # 100.01 × 0.04 = 4.0004 → 4.00 (five times); × 0.5 = 50.005 → 50.00; × 0.3 = 30.003 →
    # 30.00; 100.01 − 20.00 − 50.00 − 30.00 = 0.01 left, on "late" (experimentation comes
    # after emergence).
    assert got == [
        ("r", None, Decimal("4.00")),
        ("r", 1, Decimal("4.00")),
        ("r", 2, Decimal("4.00")),
        ("r", 3, Decimal("4.00")),
        ("r", 4, Decimal("4.00")),
        ("z", None, Decimal("50.00")),
        ("late", None, Decimal("30.01")),
    ]


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2),
    thirds=st.booleans(),
)
def test_rule_17_the_amounts_always_add_up_to_the_grant(amount: Decimal, thirds: bool) -> None:
    tranches = (
        [share("a", "0.3333333333"), share("b", "0.3333333333"), share("c", "0.3333333334")]
        if thirds
        else [share("a", "0.125", repeat={"every": "P1Y", "times": 3}), share("b", "0.5")]
    )
    spec = at_door(ProgrammeSpec, granted(tranches))
    amounts = grant_amounts(spec, amount)
    assert sum(g.amount for g in amounts) == amount
    assert all(g.amount >= 0 and g.amount == g.amount.quantize(Decimal("0.01")) for g in amounts)


# ---------------------------------------------------------------------------------------
# Acceptance


def _proposed(spec: dict[str, Any], rules_version: int = 3) -> Shell:
    return Shell(
        cooperation(funding_lines=["prog"]),
        [version(spec)],
        at(2027, 1, 4),
        accepted=False,
        rules_version=rules_version,
    )


def test_rule_17_accepting_fixes_the_amounts_and_commits_amount_plus_loans() -> None:
    spec = granted(
        [share("a", "0.6"), share("b", "0.4", {"elapsed": "P1M"}), loan("p", "5000.00", **TERMS)],
        bounds={"min": "10000.00", "max": "40000.00"},
    )
    shell = _proposed(spec)
    proposed = summary(shell.state).lines[0]
    # Nothing granted yet: a share has no amount to show.
    assert [(t.tranche, t.amount) for t in proposed.tranches] == [
        ("a", None),
        ("b", None),
        ("p", Decimal("5000.00")),
    ]
    assert shell.do(c.AcceptLine(line="prog", amount=Decimal("33333.33")), at(2027, 1, 5)) == []
    (request,) = [x for x in shell.effects if isinstance(x, RequestCommitment)]
    assert request.amount == Decimal("38333.33")
    events = shell.do(c.CommitmentCommitted(line="prog"), at(2027, 1, 5))
    attached, released = events
    assert (attached.data["amount"], attached.data["granted"]) == ("38333.33", "33333.33")
    assert released.data["amount"] == "19999.99"
    assert [p["amount"] for p in released.data["parts"]] == ["19999.99"]
    line = shell.state.lines[0]
    assert (line.granted, line.committed, line.pending()) == (
        Decimal("33333.33"),
        Decimal("38333.33"),
        Decimal("18333.34"),
    )
    view = summary(shell.state).lines[0]
    assert view.granted == Decimal("33333.33")
    assert [(t.tranche, t.status, t.amount) for t in view.tranches] == [
        ("a", "released", Decimal("19999.99")),
        ("b", "pending", Decimal("13333.34")),
        ("p", "pending", Decimal("5000.00")),
    ]
    shell.clock(at(2027, 2, 5))
    assert releases(shell.events)[-1] == ("prog", "b", "2027-02-05", "13333.34")
    closed = shell.do(c.Close(outcome="completed"), at(2027, 3, 1))
    # The loan was never approved: its principal is what is freed.
    assert [e.data["amount"] for e in of_type(closed, "CommitmentReleased")] == ["5000.00"]
    (free,) = [x for x in shell.effects if isinstance(x, FreeCommitment)]
    assert free.amount == Decimal("5000.00")


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (None, "required"),
        (Decimal("9999.99"), "below the programme's minimum grant (between 10000.00 EUR and"),
        (Decimal("40000.01"), "above the programme's maximum grant"),
        (Decimal("0.00"), "more than 0.00"),
    ],
)
def test_rule_17_acceptance_without_an_amount_in_bounds_is_refused_naming_amount(
    amount: Decimal | None, words: str
) -> None:
    shell = _proposed(granted(bounds={"min": "10000.00", "max": "40000.00"}))
    with pytest.raises(InvalidInput, match=re.escape(words)) as refused:
        shell.do(c.AcceptLine(line="prog", amount=amount), at(2027, 1, 5))
    assert refused.value.field == "amount"
    assert shell.state.lines[0].status == "proposed" and shell.state.lines[0].granted is None


def test_rule_17_the_bounds_are_inclusive() -> None:
    for amount in ("10000.00", "40000.00"):
        shell = _proposed(granted(bounds={"min": "10000.00", "max": "40000.00"}))
        shell.do(c.AcceptLine(line="prog", amount=Decimal(amount)), at(2027, 1, 5))
        assert shell.state.lines[0].granted == Decimal(amount)


def test_rule_17_an_amount_for_a_fixed_programme_is_refused_naming_amount() -> None:
    shell = _proposed(programme())
    with pytest.raises(InvalidInput, match="fixed amounts") as refused:
        shell.do(c.AcceptLine(line="prog", amount=Decimal("10.00")), at(2027, 1, 5))
    assert refused.value.field == "amount"


def test_rule_17_a_refused_commitment_grants_nothing_and_the_funder_may_accept_again() -> None:
    shell = _proposed(granted())
    shell.do(c.AcceptLine(line="prog", amount=Decimal("900.00")), at(2027, 1, 5))
    shell.do(c.CommitmentRefused(line="prog", reason="budget"), at(2027, 1, 5))
    line = shell.state.lines[0]
    assert (line.status, line.granted, line.grants) == ("proposed", None, [])
    shell.do(c.AcceptLine(line="prog", amount=Decimal("500.00")), at(2027, 1, 6))
    (_, released) = shell.do(c.CommitmentCommitted(line="prog"), at(2027, 1, 6))
    assert released.data["amount"] == "300.00"


def test_rule_17_a_proposal_names_no_amount() -> None:
    with pytest.raises(InvalidInput) as refused:
        Shell(
            cooperation(funding_lines=[{"programme": "prog", "amount": "100.00"}]),
            [version(granted())],
            at(2027, 1, 4),
            accepted=False,
        )
    assert refused.value.field == "funding_lines[0].amount"


@pytest.mark.parametrize("rules_version", [1, 2])
def test_rule_17_a_granted_programme_is_for_rules_3(rules_version: int) -> None:
    with pytest.raises(Conflict, match=f"runs under rules {rules_version}"):
        _proposed(granted(), rules_version)
    fixed = _proposed(programme(), rules_version)
    with pytest.raises(Conflict, match="rules 3"):
        fixed.do(
            c.ProposeLine(line=LineRequest(programme="g"), programme=version(granted(pid="g"))),
            at(2027, 1, 5),
        )
    # Accepting is refused as well, whatever brought the line in.
    line = fixed.state.lines[0].model_copy(update={"programme": version(granted())})
    fixed.state.lines = [line]
    with pytest.raises(Conflict, match="rules 3"):
        fixed.do(c.AcceptLine(line="prog", amount=Decimal("10.00")), at(2027, 1, 5))


# ---------------------------------------------------------------------------------------
# Scenarios


def test_rule_17_scenario_file_releases_the_issue_example_exactly() -> None:
    result = run_scenario(load_scenario_file(SCENARIO))
    (attached,) = of_type(result.events, "FundingLineAttached")
    assert (attached.data["amount"], attached.data["granted"]) == ("43333.33", "33333.33")
    assert releases(result.events) == [
        ("granted-2027", "amorcage", "2027-01-04", "19999.99"),
        ("granted-2027", "pret", "2027-02-04", "10000.00"),
        ("granted-2027", "suite", "2027-03-04", "13333.34"),
    ]
    assert [(r.tranche, str(r.amount), r.payee) for r in result.ledger] == [
        ("amorcage", "19999.99", "asso"),
        ("pret", "10000.00", "asso"),
        ("suite", "13333.34", "asso"),
    ]


def test_rule_17_attach_step_takes_the_amount() -> None:
    result = simulate(
        [programme("fixed"), granted(bounds={"max": "2000.00"})],
        [{"at": "2027-01-10", "attach": {"programme": "prog", "amount": "1000.01"}}],
        until="P3M",
        funding_lines=["fixed"],
    )
    assert [r for r in releases(result.events) if r[0] == "prog"] == [
        ("prog", "a", "2027-01-10", "600.00"),
        ("prog", "b", "2027-02-10", "400.01"),
    ]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ({"programme": "prog"}, "funding_lines[0].amount: required"),
        ({"programme": "prog", "amount": "3000.00"}, "above the programme's maximum"),
        ({"programme": "prog", "amount": 1000}, "decimal string"),
    ],
)
def test_rule_17_a_scenario_line_of_a_granted_programme_gives_its_amount(
    line: dict[str, Any], words: str
) -> None:
    with pytest.raises(ScenarioError, match=re.escape(words)):
        simulate([granted(bounds={"max": "2000.00"})], [], funding_lines=[line])


def test_rule_17_a_scenario_beyond_the_budget_says_what_remains_and_what_is_needed() -> None:
    with pytest.raises(ScenarioError, match=r"500\.00 EUR left, 800\.00 needed"):
        simulate(
            [granted(budget="500.00")],
            [],
            funding_lines=[{"programme": "prog", "amount": "800.00"}],
        )


def test_rule_17_a_fixed_spec_dumps_and_hashes_as_before() -> None:
    # store.programmes hashes the dump: an identical spec published again changes nothing.
    dumped = at_door(ProgrammeSpec, programme()).model_dump(mode="json")
    # The keys of a spec dumped before rules 17 to 19: none of theirs unless given.
    assert set(dumped) == {
        "id", "name", "funder", "currency", "budget", "locale", "requires_lead",
        "cap_per_cooperation", "phases",
    }  # fmt: skip
    given = programme() | {"convention": "required", "payment_within": "P60D"}
    assert {"convention": "required", "payment_within": "P60D"}.items() <= at_door(
        ProgrammeSpec, given
    ).model_dump(mode="json").items()
    (tranche,) = dumped["phases"]["emergence"]["tranches"]
    assert "share" not in tranche and tranche["amount"] == "1000.00"
    shown = at_door(ProgrammeSpec, granted()).model_dump(mode="json")
    assert shown["amounts"] == "granted"
    assert [("amount" in t, t["share"]) for t in shown["phases"]["emergence"]["tranches"]] == [
        (False, "0.6"),
        (False, "0.4"),
    ]
    assert ProgrammeSpec.model_validate(shown) == at_door(ProgrammeSpec, granted())
