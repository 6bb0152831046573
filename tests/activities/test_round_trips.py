"""What one plain check-in's effects cost PostgreSQL, in round trips: each statement the
effects activity sends (its transaction's BEGIN and COMMIT, and what the pool sends when the
connection goes back), counted on the real stack, so that the count cannot silently grow
back (bench.server measures what they cost)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from temporalio.client import Client

from domain import commands as c
from runtime.config import Settings
from tests.workflows.test_durability import projected, start
from worker.main import build_worker, worker_pool
from workflows.client import send
from workflows.models import CommandAnswer, CommandRequest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLAIN_CHECK_IN = 4
"""BEGIN; the event written, with what was there read back, the cooperation's last seq and
whole state, the command's answer, and what the outbox will send (the webhooks' deliveries,
the facilitator's e-mail, the NOTIFY that wakes it); the check-in's period; COMMIT. No
savepoint, and no reset query when the connection goes back to the pool (15 before)."""

SUMMARY_CHANGED = PLAIN_CHECK_IN + 1
"""A check-in that changes the summary (here the first): its row, lines and loans, with the
whole state, in one more statement."""


class Statements:
    """The statements sent on the pool's one connection while `recording`."""

    def __init__(self) -> None:
        self.recording = False
        self.sent: list[str] = []

    def __call__(self, record: asyncpg.connection.LoggedQuery) -> None:
        if self.recording:
            self.sent.append(" ".join(record.query.split())[:90])


async def test_a_plain_check_in_costs_its_effects_a_fixed_number_of_round_trips(
    temporal_client: Client, database_url: str, task_queue: str
) -> None:
    statements = Statements()
    pool = await worker_pool(Settings(database_url=database_url), max_size=1)
    # The effects' one connection is watched: what waits for them reads on another pool.
    watcher = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        async with build_worker(temporal_client, pool, task_queue):
            coop, handle = await start(temporal_client, pool, task_queue)
            async with pool.acquire() as conn:
                conn.add_query_logger(statements)

            async def check_in(n: int) -> tuple[CommandAnswer, list[str]]:
                statements.sent = []
                statements.recording = True
                answer = await send(
                    handle,
                    CommandRequest(
                        command=c.SubmitCheckIn(check_in_id=f"ci-{n}"), request_id=f"point-{n}"
                    ),
                )
                await projected(watcher, coop, answer.events[-1].seq)
                # The connection goes back to the pool after the commit that made it visible.
                await asyncio.sleep(0.5)
                statements.recording = False
                return answer, statements.sent

            first, sent = await check_in(1)
            again, sent_again = await check_in(2)
            projected_rows = await watcher.fetch(
                "SELECT c.last_seq, k.id, k.status FROM cooperations c"
                " JOIN check_ins k ON k.cooperation_id = c.id WHERE c.id = $1 ORDER BY k.id",
                coop,
            )
    finally:
        await watcher.close()
        await pool.close()
    assert [e.type for e in first.events] == ["CheckInSubmitted"]
    assert [e.type for e in again.events] == ["CheckInSubmitted"]
    # The effects were carried out all the same.
    assert [(r["id"], r["status"]) for r in projected_rows] == [
        ("ci-1", "replaced"),
        ("ci-2", "submitted"),
    ]
    assert projected_rows[0]["last_seq"] == again.events[0].seq
    assert len(sent) == SUMMARY_CHANGED, sent
    assert len(sent_again) == PLAIN_CHECK_IN, sent_again
