"""Exactly once at the workflow's edges (issue 17), on the real dev server: a repayment taken
once per request id however late it is repeated (rules 3), keyed by it in the ledger; the
answers of commands kept in PostgreSQL with their events; commands that race the end of the
workflow get the rules' answer, never "no answer"."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client, WorkflowHandle

import workflows.client
import workflows.parts.answers
from domain import commands as c
from domain.cooperation import CooperationSpec
from domain.programme import ProgrammeSpec, ProgrammeVersion
from domain.rules import RULES_VERSION
from store.answers import answered
from store.programmes import put_programme
from tests.workflows.test_durability import recorded
from worker.main import build_worker
from workflows.client import CommandRefused, NoAnswer, register, send
from workflows.models import CommandRequest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOAN = ProgrammeSpec.model_validate(
    {
        "id": "pret",
        "name": "Capital patient",
        "funder": "fonds-patient",
        "currency": "EUR",
        "budget": "100000.00",
        "phases": {
            "emergence": {
                "check_in_every": "P1M",
                "tranches": [
                    {
                        "id": "pret",
                        "amount": "12000.00",
                        "purpose": "investment",
                        "when": "entry",
                        "instrument": {
                            "loan": {
                                "annual_rate": "0.01",
                                "grace": "P24M",
                                "term": "P84M",
                                "installment_every": "P3M",
                            }
                        },
                    }
                ],
            }
        },
    }
)
FUNDER = c.Actor(role="funder", id="fonds-patient")


async def _borrower(
    client: Client, pool: asyncpg.Pool, task_queue: str, **options: Any
) -> tuple[str, WorkflowHandle[Any, Any]]:
    """A cooperation whose one member, an association, borrowed 12000.00 at registration."""
    async with pool.acquire() as conn:
        await put_programme(conn, LOAN)
    coop = f"forges-{uuid.uuid4().hex[:8]}"
    spec = CooperationSpec.model_validate(
        {
            "id": coop,
            "name": "Forges",
            "kind": "non_modelled",
            "economic_model": "hybrid",
            "members": [{"id": "asso", "name": "asso", "legal_form": "association"}],
            "facilitator": "pole-107",
            "funding_lines": ["pret"],
        }
    )
    await register(
        client,
        c.Register(
            cooperation=spec,
            programmes=[ProgrammeVersion(version=1, spec=LOAN)],
            lines_accepted=True,
            rules_version=RULES_VERSION,
        ),
        task_queue=task_queue,
        request=f"inscription-{coop}",
        **options,
    )
    return coop, client.get_workflow_handle(f"cooperation:{coop}")


def _repay(amount: str, request_id: str) -> CommandRequest:
    return CommandRequest(
        command=c.RecordRepayment(line="pret", tranche="pret", amount=amount),
        request_id=request_id,
    )


async def test_a_repayment_is_taken_once_per_request_id_beyond_what_the_workflow_remembers(
    temporal_client: Client,
    pool: asyncpg.Pool,
    task_queue: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The workflow remembers the last two request ids only: the third command pushes the
    # first repayment's out of its memory (as 200 commands would in production).
    monkeypatch.setattr(workflows.parts.answers, "ANSWER_WINDOW", 2)
    async with build_worker(temporal_client, pool, task_queue):
        coop, handle = await _borrower(temporal_client, pool, task_queue, history_budget=40)
        first = await send(handle, _repay("100.00", "virement-1"))
        # The same amount under another request id is another repayment.
        second = await send(handle, _repay("100.00", "virement-2"))
        # Check-ins until the workflow has continued as new (else the server itself would
        # answer the same update id again), and the window has moved on.
        run = (await handle.describe()).run_id
        sent = 0
        while sent < 2 or (await handle.describe()).run_id == run:
            assert sent < 30, "the workflow never continued as new"
            await send(
                handle,
                CommandRequest(
                    command=c.SubmitCheckIn(check_in_id=f"ci-{sent}"), request_id=f"point-{sent}"
                ),
            )
            sent += 1
            await _settled(pool, coop, "CheckInSubmitted", sent)
        again = await send(handle, _repay("100.00", "virement-1"))
        twice = await send(handle, _repay("100.00", "virement-2"))
        await send(handle, CommandRequest(command=c.Pause(), request_id="pause"))
        events = await _settled(pool, coop, "Paused")
    assert [e.type for e in first.events] == ["RepaymentRecorded"]
    assert [e.type for e in second.events] == ["RepaymentRecorded"]
    assert first.events[0].seq != second.events[0].seq
    # Forgotten by the workflow, the request ids are still the rules': nothing taken twice.
    assert again.events == [] and twice.events == []
    repaid = [e for e in events if e["type"] == "RepaymentRecorded"]
    assert [r["data"]["amount"] for r in repaid] == ["100.00", "100.00"]
    async with pool.acquire() as conn:
        keys = [
            r["idempotency_key"]
            for r in await conn.fetch(
                "SELECT idempotency_key FROM ledger WHERE cooperation_id = $1"
                " AND kind = 'repayment' ORDER BY idempotency_key",
                coop,
            )
        ]
        kept = await answered(conn, coop, "virement-1")
    assert keys == [f"{coop}:pret:pret:repayment:virement-{n}" for n in (1, 2)]
    # Its answer is kept with its events, for the API to give again at any distance.
    assert kept == (first.first_seq, first.last_seq) == (first.events[0].seq,) * 2


async def test_every_answer_is_kept_with_the_range_of_its_events(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str
) -> None:
    async with build_worker(temporal_client, pool, task_queue):
        coop, handle = await _borrower(temporal_client, pool, task_queue)
        close = await send(
            handle, CommandRequest(command=c.Close(outcome="completed"), request_id="fin")
        )
        await _settled(pool, coop, "Closed")
        async with pool.acquire() as conn:
            registration = await answered(conn, coop, f"inscription-{coop}")
            closing = await answered(conn, coop, "fin")
            unknown = await answered(conn, coop, "jamais")
    # The registration's events (CooperationRegistered, FundingLineAttached, PhaseEntered,
    # the loan's release) and the close's (CommitmentReleased?, ReportIssued, Closed).
    assert registration is not None and registration[0] == 1 and registration[1] >= 3
    assert closing == (close.events[0].seq, close.events[-1].seq)
    assert [e.type for e in close.events][-1] == "Closed"
    assert unknown is None


async def test_commands_racing_the_end_of_the_workflow_get_the_rules_answer(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str
) -> None:
    # A write-off settles the closed cooperation's loan: its workflow ends. Other write-offs
    # sent meanwhile, some arriving as it ends (the server answers those "not now", or never),
    # each get the rules' answer (409: settled); none is left without an answer.
    outcomes: Counter[str] = Counter()
    late = 0
    async with build_worker(temporal_client, pool, task_queue):
        for _ in range(3):
            _, handle = await _borrower(temporal_client, pool, task_queue)
            await send(handle, CommandRequest(command=c.Close(outcome="completed")))
            ended = asyncio.Event()
            write_off = c.WriteOff(line="pret", tranche="pret", reason="cessation", by=FUNDER)

            async def racing(
                handle: WorkflowHandle[Any, Any] = handle,
                ended: asyncio.Event = ended,
                write_off: c.WriteOff = write_off,
            ) -> None:
                nonlocal late
                loop = asyncio.get_running_loop()
                while not ended.is_set():
                    began = loop.time()
                    try:
                        await send(
                            handle,
                            CommandRequest(command=write_off),
                            answer_within=timedelta(seconds=10),
                        )
                        outcomes["written off"] += 1
                    except CommandRefused as refused:
                        outcomes[
                            f"{refused.kind}: settled"
                            if "settled" in refused.message
                            else refused.message
                        ] += 1
                    except NoAnswer:
                        outcomes["no answer"] += 1
                    # Within the deadline, and not at it: the end is noticed, not waited out.
                    late += loop.time() - began >= 10

            async def end(
                handle: WorkflowHandle[Any, Any] = handle, ended: asyncio.Event = ended
            ) -> None:
                await handle.result()
                await asyncio.sleep(0.2)
                ended.set()

            await asyncio.gather(*(racing() for _ in range(20)), end())
    assert outcomes["written off"] == 3
    assert set(outcomes) == {"written off", "Conflict: settled"}, outcomes
    assert late == 0


async def test_the_command_that_ended_the_workflow_keeps_its_answer_once_ended(
    temporal_client: Client, pool: asyncpg.Pool, task_queue: str
) -> None:
    # Its answer may still be on its way when the end is seen (or the caller retries after
    # the end): the same request id gets the write-off's own answer, not the rules' 409 on
    # the ended cooperation that any other write-off gets.
    write_off = c.WriteOff(line="pret", tranche="pret", reason="cessation", by=FUNDER)
    async with build_worker(temporal_client, pool, task_queue):
        _, handle = await _borrower(temporal_client, pool, task_queue)
        await send(handle, CommandRequest(command=c.Close(outcome="completed")))
        applied = handle.execute_update

        async def slow_answer(*args: Any, **kwargs: Any) -> Any:
            # The answer reaches the caller after the end is seen (a slow network, say).
            answer = await applied(*args, **kwargs)
            await asyncio.sleep(3 * workflows.client.ENDED_CHECK_EVERY.total_seconds())
            return answer

        handle.execute_update = slow_answer  # type: ignore[method-assign]
        first = await send(handle, CommandRequest(command=write_off, request_id="radiation"))
        handle.execute_update = applied  # type: ignore[method-assign]
        await handle.result()
        again = await send(handle, CommandRequest(command=write_off, request_id="radiation"))
        with pytest.raises(CommandRefused) as other:
            await send(handle, CommandRequest(command=write_off, request_id="autre"))
    assert "LoanWrittenOff" in [e.type for e in first.events]
    assert again == first
    assert other.value.kind == "Conflict" and "settled" in other.value.message


async def _settled(
    pool: asyncpg.Pool, coop: str, last: str, count: int = 1
) -> list[dict[str, Any]]:
    """The cooperation's log once it holds `count` `last` events (effects follow answers)."""
    for _ in range(200):
        events = [dict(r) for r in await recorded(pool, coop)]
        if sum(e["type"] == last for e in events) >= count:
            return events
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {last} in the log of {coop}")
