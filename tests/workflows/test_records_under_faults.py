"""The records hold under faults (the event log, the ledger, commitments, notifications and
webhook deliveries: exactly once, sequences gapless), on the real dev server and PostgreSQL:

- an effects activity whose transaction committed but whose completion was lost (the worker
  died in between) runs again: the records are those of a run without the fault;
- the worker SIGKILLed with check-ins in flight: the clients send them again with the same
  request ids, as the API's callers do, and each is recorded once;
- PostgreSQL stopped and restarted in the middle of a burst of check-ins: the cooperation
  goes on answering, its effects wait and land once it is back, and the outbox's loop
  delivers every event to a webhook receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from domain import commands as c
from domain.cooperation import CooperationSpec
from domain.programme import ProgrammeSpec, ProgrammeVersion
from domain.rules import RULES_VERSION
from notify import outbox
from notify.mail import Mailer
from runtime.localstack import EmbeddedPostgres, TemporalDevServer, free_port
from store import delivery
from store.db import create_pool
from store.programmes import put_programme
from tests.conftest import fresh_database
from tests.notify.test_delivery import Receiver, local_policy, new_secret, sealed, serving
from tests.workflows.test_durability import projected, recorded, worker_process
from worker.main import build_worker
from workflows.client import NoAnswer, register, send
from workflows.models import CommandAnswer, CommandRequest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def cofunder_programme(pid: str, funder: str, *more: dict[str, Any]) -> ProgrammeSpec:
    """An entry tranche and one after an accepted check-in; `more` tranches after them."""
    return ProgrammeSpec.model_validate(
        {
            "id": pid,
            "name": f"Programme {pid}",
            "funder": funder,
            "currency": "EUR",
            "budget": "500000.00",
            "phases": {
                "emergence": {
                    "check_in_every": "P1M",
                    "tranches": [
                        {
                            "id": "amorcage",
                            "amount": "8000.00",
                            "purpose": "animation",
                            "when": "entry",
                        },
                        {
                            "id": "suite",
                            "amount": "2500.00",
                            "purpose": "operating",
                            "when": {"accepted_check_ins": 1},
                        },
                        *more,
                    ],
                }
            },
        }
    )


PROGRAMMES = (cofunder_programme("fdt", "fondation"), cofunder_programme("reg", "region"))


async def register_cofunded(client: Client, pool: asyncpg.Pool, task_queue: str) -> tuple[str, Any]:
    """A cooperation co-funded by both programmes, its lines accepted (committed)."""
    async with pool.acquire() as conn:
        for spec in PROGRAMMES:
            if await conn.fetchval("SELECT 1 FROM programmes WHERE id = $1", spec.id) is None:
                await put_programme(conn, spec)
    coop = f"ruche-{uuid.uuid4().hex[:8]}"
    spec = CooperationSpec.model_validate(
        {
            "id": coop,
            "name": "Ruche",
            "kind": "non_modelled",
            "economic_model": "non_market",
            "members": [{"id": "asso", "name": "asso", "legal_form": "association"}],
            "facilitator": "pole-107",
            "funding_lines": [p.id for p in PROGRAMMES],
        }
    )
    await register(
        client,
        c.Register(
            cooperation=spec,
            programmes=[ProgrammeVersion(version=1, spec=p) for p in PROGRAMMES],
            lines_accepted=True,
            rules_version=RULES_VERSION,
        ),
        task_queue=task_queue,
    )
    return coop, client.get_workflow_handle(f"cooperation:{coop}")


# A life with every kind of record: releases and commitments, notifications to the
# facilitator (check-ins) and to every funder (the pivot), moves.
LIFE: tuple[tuple[str, c.Command], ...] = (
    ("ci-1", c.SubmitCheckIn(check_in_id="ci-1", indicators={"ateliers": 2})),
    ("review-1", c.ReviewCheckIn(check_in_id="ci-1", decision="accepted")),
    ("pivot", c.Pivot(objectives="Atelier vélo", reason="Un local se libère")),
    ("pause", c.Pause(reason="Été")),
    ("resume", c.Resume()),
)


async def _live(handle: WorkflowHandle[Any, Any]) -> int:
    last = 0
    for request_id, command in LIFE:
        answer = await send(handle, CommandRequest(command=command, request_id=request_id))
        last = answer.last_seq
    return last


async def _records(pool: asyncpg.Pool, coop: str) -> dict[str, Any]:
    """What the cooperation left in PostgreSQL, without what differs between two runs (ids,
    instants)."""
    async with pool.acquire() as conn:
        return {
            "events": [(e["seq"], e["type"]) for e in await recorded(pool, coop)],
            "ledger": sorted(
                (r["line"], r["tranche"], r["kind"], str(r["amount"]))
                for r in await conn.fetch(
                    "SELECT line, tranche, kind, amount FROM ledger WHERE cooperation_id = $1",
                    coop,
                )
            ),
            "commitments": sorted(
                (r["programme_id"], str(r["amount"]))
                for r in await conn.fetch(
                    "SELECT programme_id, amount FROM commitments WHERE cooperation_id = $1",
                    coop,
                )
            ),
            "notifications": sorted(
                (r["seq"], r["to_role"], r["to_subject"], r["about"])
                for r in await conn.fetch(
                    "SELECT seq, to_role, to_subject, about FROM notifications"
                    " WHERE cooperation_id = $1",
                    coop,
                )
            ),
            "deliveries": sorted(
                (r["seq"], r["event_type"])
                for r in await conn.fetch(
                    "SELECT seq, event_type FROM webhook_deliveries WHERE cooperation_id = $1",
                    coop,
                )
            ),
        }


class LoseFirstCompletions(Interceptor):
    """The worker dying after an effects transaction committed and before Temporal heard of
    it: every batch's first attempt writes, then fails; Temporal runs it again."""

    def __init__(self) -> None:
        self.lost = 0

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Lose(next, self)


class _Lose(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, owner: LoseFirstCompletions) -> None:
        super().__init__(next)
        self.owner = owner

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await super().execute_activity(input)
        info = activity.info()
        if info.activity_type == "apply_effects" and info.attempt == 1:
            self.owner.lost += 1
            raise RuntimeError("the worker died after the transaction committed")
        return result


async def test_effects_written_then_lost_run_again_and_double_nothing(
    temporal_client: Client, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        # A subscriber to everything, so that webhook deliveries are records too.
        await delivery.create_webhook(
            conn, "funder", "fondation", "http://127.0.0.1:9/", sealed("whsec_" + "A" * 32), None
        )
    faulty, plain = f"tq-{uuid.uuid4().hex[:8]}", f"tq-{uuid.uuid4().hex[:8]}"
    losing = LoseFirstCompletions()
    async with (
        build_worker(temporal_client, pool, faulty, interceptors=[losing]),
        build_worker(temporal_client, pool, plain),
    ):
        coop, handle = await register_cofunded(temporal_client, pool, faulty)
        control, control_handle = await register_cofunded(temporal_client, pool, plain)
        last, control_last = await asyncio.gather(_live(handle), _live(control_handle))
        await projected(pool, coop, last)
        await projected(pool, control, control_last)

    assert losing.lost >= 2, "no completion was lost: the test proves nothing"
    records, expected = await _records(pool, coop), await _records(pool, control)
    assert records == expected
    assert [seq for seq, _ in records["events"]] == list(range(1, last + 1))
    # Two lines, each with its entry tranche and the one after an accepted check-in.
    assert Counter(t for _, t in records["events"])["TrancheReleased"] == 4
    assert len(records["ledger"]) == 4 and len(records["commitments"]) == 2
    async with pool.acquire() as conn:
        # Both cooperations' lines, each committed once on its programme.
        committed = await conn.fetch("SELECT id, committed FROM programmes ORDER BY id")
    assert [(r["id"], str(r["committed"])) for r in committed] == [
        ("fdt", "21000.00"),
        ("reg", "21000.00"),
    ]
    assert {n[3] for n in records["notifications"]} == {"CheckInSubmitted", "Pivoted"}
    # The funder's subscription: every event but those about the other funder's line, once.
    events = await recorded(pool, coop)
    assert [seq for seq, _ in records["deliveries"]] == [
        e["seq"] for e in events if e["data"].get("line") != "reg"
    ]


async def sent_until_answered(handle: WorkflowHandle[Any, Any], request: CommandRequest) -> Any:
    """As an API client does: the same request again (same id) until it is answered."""
    for _ in range(30):
        with contextlib.suppress(NoAnswer):
            return await send(handle, request, answer_within=timedelta(seconds=3))
    raise AssertionError(f"{request.request_id} never answered")


async def test_a_worker_killed_with_check_ins_in_flight_records_each_once(
    temporal_client: Client,
    temporal_dev_server: TemporalDevServer,
    pool: asyncpg.Pool,
    database_url: str,
    task_queue: str,
) -> None:
    requests = [
        CommandRequest(command=c.SubmitCheckIn(check_in_id=f"ci-{i}"), request_id=f"ci-{i}")
        for i in range(20)
    ]
    first = worker_process(database_url, temporal_dev_server, task_queue)
    second = None
    try:
        coop, handle = await register_cofunded(temporal_client, pool, task_queue)
        in_flight = [asyncio.create_task(sent_until_answered(handle, r)) for r in requests]
        # Killed once some are answered and others are still on their way.
        for _ in range(6000):
            if sum(t.done() for t in in_flight) >= 3:
                break
            await asyncio.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_with = sum(not t.done() for t in in_flight)
        second = worker_process(database_url, temporal_dev_server, task_queue)
        answers = await asyncio.wait_for(asyncio.gather(*in_flight), timeout=120)
        last = max(a.last_seq for a in answers)
        await projected(pool, coop, last)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)

    assert killed_with > 0, "every check-in was answered before the kill: nothing in flight"
    events = await recorded(pool, coop)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    submitted = Counter(e["data"]["check_in"] for e in events if e["type"] == "CheckInSubmitted")
    assert submitted == {f"ci-{i}": 1 for i in range(20)}
    # Each answer names its own event, once.
    assert sorted(a.first_seq for a in answers) == sorted({a.first_seq for a in answers})
    async with pool.acquire() as conn:
        notified = await conn.fetchval(
            "SELECT count(*) FROM notifications WHERE cooperation_id = $1 AND about = $2",
            coop,
            "CheckInSubmitted",
        )
        ledger = await conn.fetch("SELECT tranche FROM ledger WHERE cooperation_id = $1", coop)
    assert notified == 20
    assert sorted(r["tranche"] for r in ledger) == ["amorcage", "amorcage"]


async def test_postgres_stopped_and_restarted_during_a_burst_of_check_ins(
    temporal_client: Client, task_queue: str, tmp_path: Path
) -> None:
    # A PostgreSQL of its own, to stop without disturbing the other tests.
    server = EmbeddedPostgres(tmp_path / "data", free_port())
    url = await fresh_database(server.start())
    pool = await create_pool(url, max_size=5)
    secret = new_secret()
    receiver = Receiver({"/": secret})
    receiver.up = True
    mailer = Mailer(None, "coopflow <noreply@example.org>")
    outbox_loop = None
    try:
        async with pool.acquire() as conn:
            await delivery.create_webhook(
                conn,
                "facilitator",
                "pole-107",
                receiver.url("/"),
                sealed(secret),
                None,
            )
        async with serving(receiver), build_worker(temporal_client, pool, task_queue):
            outbox_loop = asyncio.create_task(
                outbox.run(
                    pool,
                    url,
                    mailer,
                    timedelta(minutes=10),
                    poll_every=0.2,
                    webhook_policy=local_policy(),
                )
            )
            coop, handle = await register_cofunded(temporal_client, pool, task_queue)
            requests = [
                CommandRequest(command=c.SubmitCheckIn(check_in_id=f"ci-{i}"), request_id=f"ci-{i}")
                for i in range(30)
            ]
            answers: list[CommandAnswer] = []
            for i, request in enumerate(requests):
                if i == 10:
                    await asyncio.to_thread(server.stop)
                answers.append(await send(handle, request, answer_within=timedelta(seconds=20)))
                await asyncio.sleep(0.05)  # 20 check-ins a second
            # The cooperation answered every check-in with PostgreSQL down; nothing is lost.
            await asyncio.sleep(2)
            await asyncio.to_thread(server.start)
            last = answers[-1].last_seq
            await projected(pool, coop, last)
            for _ in range(600):
                if set(_seqs(receiver)) >= set(range(1, last + 1)):
                    break
                await asyncio.sleep(0.05)
    finally:
        if outbox_loop is not None:
            outbox_loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outbox_loop
        await pool.close()
        server.stop()

    assert [a.last_seq for a in answers] == sorted({a.last_seq for a in answers})
    # Written while PostgreSQL was away, recorded once it came back, each once.
    events = await _records_after_restart(url, server, coop)
    assert [seq for seq, _ in events] == list(range(1, last + 1))
    assert Counter(t for _, t in events)["CheckInSubmitted"] == 30
    # Every event reached the receiver; a repeat (a send whose record was lost with
    # PostgreSQL) carries the same webhook-id, so that the receiver keeps it once.
    assert set(_seqs(receiver)) == set(range(1, last + 1))
    assert len(set(receiver.ids["/"])) == last


def _seqs(receiver: Receiver) -> list[int]:
    return [payload["data"]["seq"] for payload in receiver.received["/"]]


async def _records_after_restart(
    url: str, server: EmbeddedPostgres, coop: str
) -> list[tuple[int, str]]:
    server.start()
    try:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT seq, type FROM events WHERE cooperation_id = $1 ORDER BY seq", coop
            )
        finally:
            await conn.close()
    finally:
        server.stop()
    return [(r["seq"], r["type"]) for r in rows]
