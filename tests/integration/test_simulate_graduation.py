"""Rule 20's worked examples (tests/domain/vectors/graduation*.yaml) through `coopflow
simulate`: the real workflow and activities on the time-skipping server give exactly what the
rules give, and the issue's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.scenario_files import load_scenario_file
from cli.simulate import simulate
from domain.simulation import run_scenario

pytestmark = pytest.mark.integration

VECTORS = Path(__file__).resolve().parents[1] / "domain" / "vectors"


async def test_graduation_through_the_workflow(postgres_server_url: str) -> None:
    scenario = load_scenario_file(VECTORS / "graduation.yaml")
    result = await simulate(scenario, database_server=postgres_server_url)
    assert result.to_json() == run_scenario(scenario).to_json()
    assert [(r.line, r.tranche, r.payee, r.at.date().isoformat()) for r in result.ledger] == [
        ("fonds-a", "amorcage-a", "pole-107", "2027-01-04"),
        ("fonds-b", "amorcage-b", "pole-107", "2027-01-04"),
        # Fell due 2028-01-04 while fonds-b's amendment was open: held, then ordered to the
        # association on the day of acceptance.
        ("fonds-b", "suite-b", "asso-ruche", "2028-01-12"),
        ("fonds-a", "suite-a", "asso-ruche", "2028-03-04"),
    ]
    seqs = [e.seq for e in result.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [e.at.date().isoformat() for e in result.events if e.type == "FiscalHostEnded"] == [
        "2028-01-15"
    ]


async def test_the_patient_loan_to_the_association_through_the_workflow(
    postgres_server_url: str,
) -> None:
    scenario = load_scenario_file(VECTORS / "graduation-loan.yaml")
    result = await simulate(scenario, database_server=postgres_server_url)
    assert result.to_json() == run_scenario(scenario).to_json()
    first = next(e for e in result.events if e.type == "LoanInstallmentDue")
    assert (first.data["due"], first.data["principal"], first.data["interest"]) == (
        "2030-08-15",
        "2000.00",
        "1801.64",
    )
    assert [(r.kind, r.payee) for r in result.ledger] == [("loan", "habitants")]
