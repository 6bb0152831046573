"""The worker: runs cooperation workflows and their activities."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.projection import EffectActivities
from notify import outbox
from notify.mail import Mailer
from notify.webhooks import Policy
from runtime.config import Settings, database_url_or_local, get_settings
from runtime.connect import (
    StartupError,
    connect_postgres,
    connect_temporal,
    exit_on_startup_error,
)
from runtime.logging import configure_logging, get_logger
from runtime.metrics import DeliveryMetrics
from runtime.temporal import sdk_runtime
from runtime.tracing import WORKER, tracer_provider
from worker import health
from worker.faults import watch
from workflows.cooperation import CooperationWorkflow
from workflows.loan import LoanWorkflow

WORKFLOWS = [CooperationWorkflow, LoanWorkflow]

# Deterministic, side-effect-free code shared with workflows is passed through the sandbox:
# one copy of each pydantic model class, so values cross between workflow and converter.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "domain",
        "activities.models",
        "workflows.models",
        "workflows.shell",
        "workflows.shape_one",
        "workflows.parts",
        # The workflows' own modules too: they keep nothing at module level, and a module
        # re-imported for every cached workflow cost about 57 KiB each (bench.memory).
        "workflows.cooperation",
        "workflows.loan",
        "runtime.temporal",
        "pydantic",
        # Temporal's tracing interceptor runs in the workflow; one copy of OpenTelemetry's
        # context and tracer, outside, carries a span from the client to the workflow.
        "opentelemetry",
    )
)


def worker_options(settings: Settings) -> dict[str, Any]:
    """The Worker's tunables from the settings."""
    options: dict[str, Any] = {
        # Stop polling at once, let running activities finish this long, then cancel them:
        # Temporal retries what was cancelled on another worker.
        "graceful_shutdown_timeout": timedelta(seconds=settings.graceful_shutdown),
    }
    if settings.max_cached_workflows is not None:
        options["max_cached_workflows"] = settings.max_cached_workflows
    return options


async def worker_pool(settings: Settings, *, max_size: int = 10) -> asyncpg.Pool:
    """The worker's PostgreSQL pool. Its connections go back without asyncpg's reset query
    (one round trip per effects activity, `store.db.create_pool`): what uses it leaves no
    session state behind. The effects activity, the fault watch and the outbox take their
    locks for a transaction (`subject_alone`), SET nothing, open no cursor outside a
    transaction, and the outbox listens on a connection of its own."""
    return await connect_postgres(settings, reset_session=False, max_size=max_size)


def build_worker(client: Client, pool: asyncpg.Pool, task_queue: str, **options: object) -> Worker:
    effects = EffectActivities(pool)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[effects.apply_effects],
        workflow_runner=SANDBOX,
        **options,  # type: ignore[arg-type]
    )


async def run(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Until SIGINT or SIGTERM (or `stop`, for tests): then polling stops, running activities
    get `graceful_shutdown` seconds, and the loops beside the worker end."""
    log = get_logger("coopflow.worker")
    # Said before anything is connected to: a missing key or a bad network.
    webhook_policy = Policy.of(settings)
    tracing = tracer_provider(settings.otel_endpoint, WORKER)
    client = await connect_temporal(
        settings, metrics_address=settings.metrics_address, tracing=tracing
    )
    pool = await worker_pool(settings)
    try:
        worker = build_worker(client, pool, settings.task_queue, **worker_options(settings))
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        meter = sdk_runtime(settings.metrics_address).metric_meter
        beside = [
            asyncio.create_task(watch(client, pool, settings.fault_watch_every, meter)),
            asyncio.create_task(
                outbox.run(
                    pool,
                    database_url_or_local(settings),
                    Mailer(settings.smtp_url, settings.mail_from),
                    timedelta(seconds=settings.delivery_give_up_after),
                    metrics=DeliveryMetrics(meter),
                    webhook_policy=webhook_policy,
                )
            ),
        ]
        try:
            async with AsyncExitStack() as running:
                if settings.health_address:
                    await running.enter_async_context(
                        health.serving(settings.health_address, pool, client)
                    )
                await running.enter_async_context(worker)
                log.info(
                    "worker started",
                    task_queue=settings.task_queue,
                    temporal=settings.temporal_address,
                    metrics=settings.metrics_address,
                    health=settings.health_address,
                    tracing=settings.otel_endpoint,
                )
                await stop.wait()
                log.info("worker stopping", graceful_shutdown=settings.graceful_shutdown)
        finally:
            for task in beside:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    finally:
        await pool.close()
        if tracing is not None:
            tracing.shutdown()  # the last spans, flushed
    log.info("worker stopped")


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        asyncio.run(run(settings))
    except StartupError as exc:
        exit_on_startup_error("coopflow worker", exc)


if __name__ == "__main__":
    main()
