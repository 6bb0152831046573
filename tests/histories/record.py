"""Record the histories of each workflow shape we release, for the replay tests.

    .venv/bin/python -m tests.histories.record v2

writes tests/histories/<version>/*.json: every run of a cooperation (first, second and last
of a continue-as-new chain) and its loans' workflows, for

- scenarios run by `coopflow simulate` (commands dated at their step): years of a
  cooperation, the same continued as new under a tiny budget, a loan repaid after closing;
- the production path on the time-skipping server (commands dated by the workflow's own
  clock, request ids as update ids, a repeated request, a commitment, a loan repaid in part
  after closing then written off);
- the production path on the dev server, with check-ins in flight across continue-as-new
  and requests repeated in a later run.

Record a new version whenever a release changes what a workflow does; keep the old ones:
live cooperations still replay them (tests/histories/test_replay.py).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle

from cli.simulate import simulation, start_time_skipping, temporary_database
from domain import commands as c
from domain.allocation import Share
from domain.cooperation import CooperationSpec, LineRequest
from domain.programme import ProgrammeSpec, ProgrammeVersion
from domain.rules import RULES_VERSION
from domain.scenario import parse_scenario
from examples import sample_phase, sample_programme, sample_tranche
from runtime.localstack import EmbeddedPostgres, TemporalDevServer, free_port
from runtime.temporal import SEARCH_ATTRIBUTES, cooperation_workflow_id
from store.db import create_pool
from store.programmes import put_programme
from tests.workflows.scenarios import loan, multi_year
from worker.main import build_worker
from workflows.client import CommandRefused, register, send
from workflows.models import CommandRequest

HERE = Path(__file__).resolve().parent

SCENARIOS: list[tuple[str, dict[str, Any], int | None]] = [
    ("simulate-multi-year", multi_year(), None),
    ("simulate-continued", multi_year(), 60),
    ("simulate-loan", loan(), None),
]

GRANTS = ProgrammeSpec.model_validate(
    sample_programme(
        drop={"locale", "requires_lead"},
        name="Coopérations 2027",
        phases={
            "emergence": sample_phase(
                "emergence",
                drop={"check_in_grace", "reminder_before", "max_duration"},
                tranches=[
                    sample_tranche("amorcage"),
                    sample_tranche("emergence-2", when={"accepted_check_ins": 2}),
                ],
            )
        },
    )
)
# Another funder's programme of one loan: not the sample's.
PATIENT = ProgrammeSpec.model_validate(
    {
        "id": "patient",
        "name": "Capital patient",
        "funder": "fonds-patient",
        "currency": "EUR",
        "budget": "100000.00",
        "locale": "en",
        "phases": {
            "emergence": {
                "check_in_every": "P2M",
                "tranches": [
                    {
                        "id": "pret",
                        "amount": "12000.00",
                        "purpose": "investment",
                        "when": "approval",
                        "instrument": {
                            "loan": {
                                "annual_rate": "0.01",
                                "grace": "P3M",
                                "term": "P12M",
                                "installment_every": "P3M",
                            }
                        },
                    }
                ],
            }
        },
    }
)
COOPERATION = {
    "name": "Tiers-lieu des Forges",
    "kind": "modelled",
    "model": "tiers-lieu",
    "economic_model": "hybrid",
    "members": [
        {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
        {"id": "scic-forges", "name": "SCIC des Forges", "legal_form": "scic"},
    ],
    "facilitator": "pole-107",
    "funding_lines": ["coop-2027"],
}


def _cooperation(coop_id: str) -> CooperationSpec:
    return CooperationSpec.model_validate({**COOPERATION, "id": coop_id})


def _register(coop_id: str) -> c.Register:
    return c.Register(
        cooperation=_cooperation(coop_id),
        programmes=[ProgrammeVersion(version=1, spec=GRANTS)],
        lines_accepted=False,
        rules_version=RULES_VERSION,
    )


async def _save_chain(
    client: Client, workflow_id: str, first_run: str | None, folder: Path, name: str
) -> None:
    """The first, second and last runs of a workflow's continue-as-new chain, then the
    histories of the loans it started."""
    run_id = first_run
    histories = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else None
        )
    numbered = list(enumerate(histories, start=1))
    for number, history in numbered[:2] + numbered[2:][-1:]:
        path = folder / f"{name}-run{number}.json"
        path.write_text(history.to_json(), encoding="utf-8")
        print(f"{path.relative_to(HERE.parent.parent)}: {len(history.events)} events")
    children = {
        event.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for history in histories
        for event in history.events
        if event.HasField("start_child_workflow_execution_initiated_event_attributes")
    }
    for number, child in enumerate(sorted(children), start=1):
        history = await client.get_workflow_handle(child).fetch_history()
        suffix = "" if len(children) == 1 else f"-{number}"
        path = folder / f"{name}-loan{suffix}.json"
        path.write_text(history.to_json(), encoding="utf-8")
        print(f"{path.relative_to(HERE.parent.parent)}: {len(history.events)} events")


async def record_scenarios(folder: Path) -> None:
    for name, raw, budget in SCENARIOS:
        scenario = parse_scenario(raw)
        async with simulation(scenario, history_budget=budget) as sim:
            await sim.run()
            await _save_chain(sim.env.client, sim.handle.id, sim.first_run_id, folder, name)


async def _command(
    handle: WorkflowHandle[Any, Any], command: c.Command, request: str | None = None
) -> None:
    await send(handle, CommandRequest(command=command, request_id=request or str(uuid.uuid4())))


async def record_production_time_skipping(folder: Path) -> None:
    """A year and more of a cooperation through the production path, time skipped."""
    async with temporary_database(None) as url:
        pool = await create_pool(url, max_size=4)
        env = await start_time_skipping()
        try:
            async with pool.acquire() as conn:
                for spec in (GRANTS, PATIENT):
                    await put_programme(conn, spec)
            task_queue = f"record-{uuid.uuid4().hex[:8]}"
            async with build_worker(env.client, pool, task_queue):
                client = env.client
                await register(client, _register("forges"), task_queue=task_queue, request="r-1")
                handle = client.get_workflow_handle(cooperation_workflow_id("forges"))
                first_run = (await handle.describe()).run_id
                funder = c.Actor(role="funder", id="fonds-patient")
                script: list[tuple[timedelta, c.Command, str | None]] = [
                    (timedelta(0), c.AcceptLine(line="coop-2027"), "r-2"),
                    (
                        timedelta(days=2),
                        c.ProposeLine(
                            line=LineRequest(
                                programme="patient",
                                allocation=[Share(payee="scic-forges", share=Decimal(1))],
                            ),
                            programme=ProgrammeVersion(version=1, spec=PATIENT),
                        ),
                        "r-3",
                    ),
                    (timedelta(days=1), c.AcceptLine(line="patient"), "r-4"),
                    (timedelta(days=20), c.SubmitCheckIn(check_in_id="ci-1"), "r-5"),
                    (timedelta(0), c.SubmitCheckIn(check_in_id="ci-1"), "r-5"),  # repeated
                    (
                        timedelta(days=3),
                        c.ReviewCheckIn(check_in_id="ci-1", decision="accepted"),
                        "r-6",
                    ),
                    (
                        timedelta(days=2),
                        c.ApproveTranche(line="patient", tranche="pret", by=funder),
                        "r-7",
                    ),
                    (timedelta(days=60), c.SubmitCheckIn(check_in_id="ci-2"), None),
                    (
                        timedelta(days=2),
                        c.ReviewCheckIn(check_in_id="ci-2", decision="accepted"),
                        None,
                    ),
                    (timedelta(days=10), c.Pause(reason="hiver"), None),
                    (timedelta(days=45), c.Resume(), None),
                    (
                        timedelta(days=30),
                        c.Pivot(objectives="atelier vélo", reason="nouveau lieu"),
                        None,
                    ),
                    (
                        timedelta(days=40),
                        c.RequestTransition(action="close", reason="fin du projet"),
                        None,
                    ),
                    # Refused from rules 3 on (one open request per action), kept before.
                    (
                        timedelta(days=1),
                        c.RequestTransition(action="close", reason="vraiment la fin"),
                        None,
                    ),
                    (timedelta(days=5), c.Close(outcome="completed"), None),
                    (
                        timedelta(days=120),
                        c.RecordRepayment(line="patient", tranche="pret", amount="3000.00"),
                        "r-8",
                    ),
                    (
                        timedelta(days=1),
                        c.RecordRepayment(line="patient", tranche="pret", amount="3000.00"),
                        "r-8",
                    ),  # repeated
                    (
                        timedelta(days=90),
                        c.WriteOff(line="patient", tranche="pret", reason="cessation", by=funder),
                        None,
                    ),
                ]
                for wait, command, request in script:
                    if wait:
                        await env.sleep(wait)
                    try:
                        await _command(handle, command, request)
                    except CommandRefused:
                        if RULES_VERSION < 3 or not isinstance(command, c.RequestTransition):
                            raise
                await handle.result()
                await _save_chain(client, handle.id, first_run, folder, "production")
        finally:
            await env.shutdown()
            await pool.close()


async def record_production_dev_server(folder: Path) -> None:
    """Check-ins in flight while the run continues as new, then repeated in a later run."""
    with tempfile.TemporaryDirectory(prefix="coopflow-record-") as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "pg", free_port())
        server = TemporalDevServer(
            db_file=None,
            port=free_port(),
            ui_port=None,
            search_attributes=SEARCH_ATTRIBUTES,
            dynamic_config={"limit.historyCount.suggestContinueAsNew": "50"},
        )
        server_url = await asyncio.to_thread(postgres.start)
        server.start()
        try:
            from runtime.config import Settings
            from runtime.connect import connect_temporal

            client = await connect_temporal(Settings(temporal_address=server.address), wait=30)
            async with temporary_database(server_url) as url:
                pool = await create_pool(url, max_size=4)
                try:
                    async with pool.acquire() as conn:
                        await put_programme(conn, GRANTS)
                    task_queue = f"record-{uuid.uuid4().hex[:8]}"
                    async with build_worker(client, pool, task_queue):
                        await register(
                            client,
                            _register("ruche"),
                            task_queue=task_queue,
                            request="r-0",
                            history_budget=40,
                        )
                        handle = client.get_workflow_handle(cooperation_workflow_id("ruche"))
                        first_run = (await handle.describe()).run_id
                        await _command(handle, c.AcceptLine(line="coop-2027"), "r-accept")
                        requests = [
                            (c.SubmitCheckIn(check_in_id=f"ci-{i}"), f"r-ci-{i}") for i in range(18)
                        ]
                        for batch in range(0, len(requests), 6):
                            await asyncio.gather(
                                *(_command(handle, cmd, r) for cmd, r in requests[batch:][:6])
                            )
                        await _continued(handle, first_run)
                        await asyncio.gather(*(_command(handle, cmd, r) for cmd, r in requests[:4]))
                        await _command(handle, c.Close(outcome="abandoned"))
                        await handle.result()
                        await _save_chain(client, handle.id, first_run, folder, "continued")
                finally:
                    await pool.close()
        finally:
            server.stop()
            postgres.stop()


async def _continued(handle: WorkflowHandle[Any, Any], first_run: str | None) -> None:
    for _ in range(300):
        if (await handle.describe()).run_id != first_run:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the run did not continue as new")


async def record(version: str) -> None:
    folder = HERE / version
    folder.mkdir(parents=True, exist_ok=True)
    await record_scenarios(folder)
    await record_production_time_skipping(folder)
    await record_production_dev_server(folder)


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v2"))
