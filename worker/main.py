"""The worker: runs cooperation workflows and their activities."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.projection import EffectActivities
from notify import outbox
from notify.mail import Mailer
from runtime.config import Settings, database_url_or_local, get_settings
from runtime.connect import (
    StartupError,
    connect_postgres,
    connect_temporal,
    exit_on_startup_error,
)
from runtime.logging import configure_logging, get_logger
from runtime.temporal import sdk_runtime
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
        "runtime.temporal",
        "pydantic",
    )
)


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


async def run(settings: Settings) -> None:
    log = get_logger("coopflow.worker")
    client = await connect_temporal(settings, metrics_address=settings.metrics_address)
    pool = await connect_postgres(settings)
    try:
        worker = build_worker(client, pool, settings.task_queue)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "worker started",
            task_queue=settings.task_queue,
            temporal=settings.temporal_address,
            metrics=settings.metrics_address,
        )
        meter = sdk_runtime(settings.metrics_address).metric_meter
        beside = [
            asyncio.create_task(watch(client, pool, settings.fault_watch_every, meter)),
            asyncio.create_task(
                outbox.run(
                    pool,
                    database_url_or_local(settings),
                    Mailer(settings.smtp_url, settings.mail_from),
                    timedelta(seconds=settings.delivery_give_up_after),
                )
            ),
        ]
        try:
            async with worker:
                await stop.wait()
        finally:
            for task in beside:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        await pool.close()
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
