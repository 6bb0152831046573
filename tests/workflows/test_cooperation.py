"""The cooperation workflow over years, on the time-skipping server with the real activities
and PostgreSQL: it must record exactly what the reducer decides, on the rules' dates."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus

from cli.simulate import simulation
from domain.events import Event
from domain.scenario import parse_scenario
from domain.simulation import SimulationResult, run_scenario
from tests.workflows.scenarios import loan, multi_year
from workflows.loan import LoanWorkflow
from workflows.shell import loan_workflow_id

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def days(events: list[Event], event_type: str) -> list[date]:
    return [e.at.date() for e in events if e.type == event_type]


async def run(
    raw: dict[str, Any], server: str, **options: Any
) -> tuple[SimulationResult, dict[str, Any]]:
    scenario = parse_scenario(raw)
    async with simulation(scenario, database_server=server, **options) as sim:
        result = await sim.run()
        description = await sim.handle.describe()
        facts: dict[str, Any] = {
            "status": description.status,
            "first_run": sim.first_run_id,
            "run_id": description.run_id,
        }
        async with sim.pool.acquire() as conn:
            facts["notifications"] = [
                dict(r)
                for r in await conn.fetch(
                    "SELECT to_role, to_subject, about, seq FROM notifications ORDER BY seq"
                )
            ]
            facts["reports"] = await conn.fetchval("SELECT count(*) FROM reports")
        for line in result.events:
            if line.type == "TrancheReleased" and line.data.get("kind") == "loan":
                handle = sim.env.client.get_workflow_handle(
                    loan_workflow_id(
                        scenario.cooperation.id, line.data["line"], line.data["tranche"]
                    )
                )
                facts["loan"] = await handle.query(LoanWorkflow.status)
                facts["loan_status"] = (await handle.describe()).status
    return result, facts


async def test_years_of_a_cooperation_match_the_reducer(postgres_server_url: str) -> None:
    raw = multi_year()
    result, facts = await run(raw, postgres_server_url)
    assert result.to_json() == run_scenario(parse_scenario(raw)).to_json()

    events = result.events
    # Elapsed time skips the pause: 01-31 + P6M = 07-31, + 61 days paused (05-10 → 07-10).
    six_months = [e for e in events if e.data.get("tranche") == "six-mois"]
    assert [e.at.date() for e in six_months] == [date(2027, 9, 30)]
    # Restart then re-advance: experimentation's entry tranche is paid once, ever.
    entry = [e for e in events if e.data.get("tranche") == "experimentation-1"]
    assert [e.at.date() for e in entry] == [date(2028, 3, 31)]
    assert days(events, "PhaseEntered")[-1] == date(2029, 1, 31)
    # The pivot of 2027-10-31 re-anchors the check-ins: next due 11-30, reminder 7 days before.
    reminders = days(events, "CheckInReminderSent")
    assert date(2027, 11, 23) in reminders and date(2027, 11, 24) not in reminders
    # The repeat tranche: a year after its first release, in another stint.
    coordination = [e for e in events if e.data.get("tranche") == "coordination"]
    assert [(e.at.date(), e.data.get("occurrence")) for e in coordination] == [
        (date(2028, 6, 30), None),
        (date(2029, 6, 30), 1),
    ]
    # Overdue check-ins escalate to the facilitator; funders hear of the pivot and restart.
    notified = {(n["to_role"], n["about"]) for n in facts["notifications"]}
    assert ("facilitator", "CheckInOverdue") in notified
    assert ("funder", "Pivoted") in notified and ("funder", "Restarted") in notified
    assert facts["reports"] == len([e for e in events if e.type == "ReportIssued"])
    assert facts["status"] == WorkflowExecutionStatus.RUNNING


async def test_continue_as_new_under_a_tiny_budget_loses_and_doubles_nothing(
    postgres_server_url: str,
) -> None:
    raw = multi_year()
    result, facts = await run(raw, postgres_server_url, history_budget=60)
    assert facts["run_id"] != facts["first_run"]
    assert result.to_json() == run_scenario(parse_scenario(raw)).to_json()
    seqs = [e.seq for e in result.events]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_closing_with_a_live_loan_keeps_the_loan_running(postgres_server_url: str) -> None:
    raw = loan()
    result, facts = await run(raw, postgres_server_url)
    assert result.to_json() == run_scenario(parse_scenario(raw)).to_json()
    events = result.events
    closed = next(e for e in events if e.type == "Closed")
    after = [e.type for e in events if e.seq > closed.seq]
    assert after.count("LoanInstallmentDue") == 9
    assert days(events, "LoanInstallmentDue")[-1] == date(2030, 6, 15)
    # Installments 2 to 9 were not repaid at due + P30D; the 10th was, 5 days after its due.
    overdue = [e.data["installment"] for e in events if e.type == "LoanInstallmentOverdue"]
    assert overdue == list(range(2, 10))
    final = [e for e in events if e.type == "RepaymentRecorded"][-1]
    assert final.data["settled"] is True and final.data["outstanding"] == "0.00"
    # The cooperation stayed open in its terminal state until its loan was settled, then
    # ended, and so did the loan's own workflow.
    assert facts["status"] == WorkflowExecutionStatus.COMPLETED
    assert facts["loan_status"] == WorkflowExecutionStatus.COMPLETED
    assert facts["loan"]["installments"][0]["paid"] == "2670.25"
    assert all(row["repaid"] for row in facts["loan"]["installments"])
    assert facts["loan"]["settled"] is True
    assert [row.kind for row in result.ledger] == ["loan", "repayment", "repayment"]
