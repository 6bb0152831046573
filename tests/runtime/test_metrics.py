"""Prometheus at /metrics on both processes, on the real dev server and PostgreSQL: the API
counts the commands it sends (applied, refused by kind), the worker the releases it posts
(count and amount by purpose, once each), effects carried out again, and deliveries that
fail or are given up, beside the SDK's own metrics."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.models import ApplyEffects
from activities.projection import EffectActivities
from api.app import create_app
from domain import commands as c
from domain.effects import Part, Release
from domain.programme import Purpose
from notify import outbox, webhooks
from notify.mail import Mailer
from runtime.config import Settings
from runtime.connect import connect_temporal
from runtime.localstack import TemporalDevServer, free_port
from runtime.metrics import DeliveryMetrics
from runtime.temporal import sdk_runtime
from store import delivery, mails
from tests.notify.test_delivery import local_policy, sealed
from tests.runtime.prometheus import eventually, scrape, value
from tests.workflows.test_durability import start
from worker.main import build_worker
from workflows.client import CommandRefused, send
from workflows.cooperation import CooperationWorkflow
from workflows.models import CommandRequest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def address() -> str:
    return f"127.0.0.1:{free_port()}"


async def test_commands_releases_and_sdk_metrics_on_each_process(
    temporal_dev_server: TemporalDevServer, pool: asyncpg.Pool, task_queue: str
) -> None:
    worker_metrics, api_metrics = address(), address()
    worker_client = await connect_temporal(
        Settings(temporal_address=temporal_dev_server.address), metrics_address=worker_metrics
    )
    # The API connects its own client, as `coopflow api` does, with its own address.
    settings = Settings(
        temporal_address=temporal_dev_server.address,
        task_queue=task_queue,
        metrics_address=api_metrics,
        public_url="http://t",
    )
    app = create_app(settings, pool=pool)
    async with build_worker(worker_client, pool, task_queue), app.router.lifespan_context(app):
        api_client: Client = app.state.temporal
        # Registered with its line accepted: the entry tranche (8,000.00, animation) is
        # released to the cooperation.
        _, handle = await start(api_client, pool, task_queue)
        with pytest.raises(CommandRefused) as refused:
            await send(handle, CommandRequest(command=c.Resume()))
        assert refused.value.kind == "Conflict"
        await send(handle, CommandRequest(command=c.SubmitCheckIn(check_in_id="ci-1")))
        # The same request again gets its first answer: counted as answered again (the
        # counters count the answers the API got, retries included).
        request = CommandRequest(command=c.SubmitCheckIn(check_in_id="ci-2"), request_id="r-2")
        await send(handle, request)
        await send(handle, request)
        await handle.query(CooperationWorkflow.last_seq)

        api = await scrape(api_metrics)
        assert value(api, "coopflow_commands_applied", command="register") == 1
        assert value(api, "coopflow_commands_applied", command="submit_check_in") == 3
        assert value(api, "coopflow_commands_applied", command="resume") == 0
        assert value(api, "coopflow_commands_refused", command="resume", refusal="Conflict") == 1
        assert value(api, "coopflow_commands_refused") == 1
        # The SDK's client metrics are served by the API too.
        assert value(api, "temporal_long_request", operation="UpdateWorkflowExecution") == 4
        assert value(api, "coopflow_releases") == 0

        worker = await eventually(worker_metrics, "coopflow_releases", 1, purpose="animation")
        assert value(worker, "coopflow_released_cents", purpose="animation", currency="EUR") == (
            800_000
        )
        assert value(worker, "coopflow_releases", kind="release", task_queue=task_queue) == 1
        assert value(worker, "coopflow_commands_applied") == 0
        assert value(worker, "coopflow_effect_retries") == 0
        assert value(worker, "temporal_activity_execution_latency_count") >= 1
    assert value(await scrape(worker_metrics), "coopflow_releases") == 1


async def test_effects_carried_out_again_are_counted(
    temporal_dev_server: TemporalDevServer, pool: asyncpg.Pool, task_queue: str
) -> None:
    metrics = address()
    client = await connect_temporal(
        Settings(temporal_address=temporal_dev_server.address), metrics_address=metrics
    )
    async with build_worker(client, pool, task_queue):
        coop, handle = await start(
            client, pool, task_queue, effects_attempts=3, fault_retry_seconds=600
        )
        last = await handle.query(CooperationWorkflow.last_seq)
        # The next event is already written with other content: every attempt fails.
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO events (cooperation_id, seq, type, at, data)"
                " VALUES ($1, $2, 'Paused', now(), '{}')",
                coop,
                last + 1,
            )
        await send(handle, CommandRequest(command=c.SubmitCheckIn(check_in_id="a")))
        # Three attempts: the second and the third are retries.
        await eventually(metrics, "coopflow_effect_retries", 2, activity_type="apply_effects")
        await eventually(metrics, "coopflow_effects_faults", 1)


async def test_delivery_failures_and_give_ups(pool: asyncpg.Pool) -> None:
    metrics = address()
    counted = DeliveryMetrics(sdk_runtime(metrics).metric_meter)
    async with pool.acquire() as conn:
        # Nobody listens on port 9 (discard): every attempt fails.
        hook = await delivery.create_webhook(
            conn, "funder", "fondation", "http://127.0.0.1:9/", sealed("whsec_" + "A" * 32), None
        )
        for seq in (1, 2):
            await conn.execute(
                "INSERT INTO webhook_deliveries"
                " (webhook_id, cooperation_id, seq, event_type, payload)"
                " VALUES ($1, $2, $3, 'Paused', '{}')",
                hook.id,
                f"ruche-{uuid.uuid4().hex[:6]}",
                seq,
            )
    async with webhooks.Sender(local_policy()) as http:
        # Within their time: failed, to be tried again.
        assert await outbox.deliver_webhooks(pool, http, timedelta(hours=1), counted) == 2
        text = await scrape(metrics)
        assert value(text, "coopflow_delivery_failures", channel="webhook") == 2
        assert value(text, "coopflow_delivery_given_up", channel="webhook") == 0
        async with pool.acquire() as conn:
            await conn.execute(
                "UPDATE webhook_deliveries SET next_attempt_at = now(), lease_until = NULL"
            )
        # Past their time: failed again and given up.
        assert await outbox.deliver_webhooks(pool, http, timedelta(seconds=0), counted) == 2
    text = await scrape(metrics)
    assert value(text, "coopflow_delivery_failures", channel="webhook") == 4
    assert value(text, "coopflow_delivery_given_up", channel="webhook") == 2
    assert value(text, "coopflow_delivery_failures", channel="email") == 0


async def test_email_failures_and_give_ups(pool: asyncpg.Pool) -> None:
    metrics = address()
    counted = DeliveryMetrics(sdk_runtime(metrics).metric_meter)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO events (cooperation_id, seq, type, at, data)"
            " VALUES ('ruche', 1, 'Paused', now(), '{\"phase\": \"emergence\"}')"
        )
        await conn.execute(
            "INSERT INTO notifications (key, cooperation_id, to_role, to_subject, about, seq)"
            " VALUES ('ruche:1:facilitator:pole-107', 'ruche', 'facilitator', 'pole-107',"
            " 'Paused', 1)"
        )
        await mails.put_contacts(conn, "facilitator", "pole-107", ["suivi@pole107.example"])
    # An SMTP server that is down: nothing listens there.
    mailer = Mailer(f"smtp+insecure://127.0.0.1:{free_port()}", "coopflow <n@coopflow.invalid>")
    assert await outbox.deliver_emails(pool, mailer, timedelta(hours=1), counted) == 1
    text = await scrape(metrics)
    assert value(text, "coopflow_delivery_failures", channel="email") == 1
    assert value(text, "coopflow_delivery_given_up", channel="email") == 0
    async with pool.acquire() as conn:
        await conn.execute("UPDATE notifications SET next_attempt_at = now(), lease_until = NULL")
    assert await outbox.deliver_emails(pool, mailer, timedelta(seconds=0), counted) == 1
    text = await scrape(metrics)
    assert value(text, "coopflow_delivery_failures", channel="email") == 2
    assert value(text, "coopflow_delivery_given_up", channel="email") == 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM notifications") == "failed"


async def test_an_address_in_use_leaves_the_process_running_without_metrics(
    temporal_dev_server: TemporalDevServer,
) -> None:
    taken = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    try:
        port = taken.sockets[0].getsockname()[1]
        client = await connect_temporal(
            Settings(temporal_address=temporal_dev_server.address),
            metrics_address=f"127.0.0.1:{port}",
        )
        assert await client.service_client.check_health()
        assert sdk_runtime(f"127.0.0.1:{port}") is sdk_runtime(None)
    finally:
        taken.close()
        await taken.wait_closed()


async def test_a_release_is_counted_once_however_often_it_is_carried_out(
    pool: asyncpg.Pool,
) -> None:
    metrics = address()
    env = ActivityEnvironment()
    env.metric_meter = sdk_runtime(metrics).metric_meter
    release = Release(
        line="fdt",
        programme="fdt-2027",
        tranche="amorcage",
        purpose=Purpose.investment,
        kind="release",
        amount=Decimal("1234.56"),
        currency="EUR",
        parts=[
            Part(payee="asso", amount=Decimal("1000.00")),
            Part(payee="pole-107", amount=Decimal("234.56")),
        ],
        beneficiary="ruche",
        at=datetime(2027, 1, 4, tzinfo=UTC),
        key="ruche:fdt:amorcage",
    )
    request = ApplyEffects(cooperation_id="ruche", events=[], effects=[release])
    effects = EffectActivities(pool)
    await env.run(effects.apply_effects, request)
    # Carried out again (an answer lost, say): the ledger keeps one release, and so do the
    # counters; a later attempt counts as a retry.
    await env.run(effects.apply_effects, request)
    env.info = dataclasses.replace(env.info, attempt=2)
    await env.run(effects.apply_effects, request)
    async with pool.acquire() as conn:
        rows = await conn.fetchval("SELECT count(*) FROM ledger WHERE cooperation_id = 'ruche'")
    assert rows == 2
    text = await scrape(metrics)
    assert value(text, "coopflow_releases", purpose="investment", currency="EUR") == 1
    assert value(text, "coopflow_released_cents", purpose="investment") == 123_456
    assert value(text, "coopflow_effect_retries") == 1
