"""OpenTelemetry tracing through Temporal's interceptor, on by configuration only: spans for
what the client sends and what the worker runs (in the workflow sandbox too), in one trace."""

from __future__ import annotations

import asyncpg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor

from domain import commands as c
from runtime.config import Settings
from runtime.connect import connect_temporal
from runtime.localstack import TemporalDevServer
from runtime.tracing import WORKER, otlp_traces_url, tracer_provider
from tests.workflows.test_durability import start
from worker.main import build_worker
from workflows.client import send
from workflows.models import CommandRequest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_off_unless_configured() -> None:
    assert tracer_provider(None, WORKER) is None
    assert tracer_provider("", WORKER) is None


def test_a_collector_address_gets_the_traces_path() -> None:
    assert otlp_traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("https://otel.example/v1/traces") == "https://otel.example/v1/traces"


async def test_no_interceptor_without_tracing(temporal_client: Client) -> None:
    interceptors = temporal_client.config()["interceptors"]
    assert not any(isinstance(i, TracingInterceptor) for i in interceptors)


async def test_an_update_is_traced_from_the_client_through_the_workflow_to_its_activity(
    temporal_dev_server: TemporalDevServer, pool: asyncpg.Pool, task_queue: str
) -> None:
    exported = InMemorySpanExporter()
    provider = tracer_provider(None, WORKER, exporter=exported)
    assert provider is not None
    client = await connect_temporal(
        Settings(temporal_address=temporal_dev_server.address), tracing=provider
    )
    assert any(isinstance(i, TracingInterceptor) for i in client.config()["interceptors"])
    # The worker takes the interceptor from its client.
    async with build_worker(client, pool, task_queue):
        _, handle = await start(client, pool, task_queue)
        await send(handle, CommandRequest(command=c.SubmitCheckIn(check_in_id="ci-1")))
        await handle.query("last_seq")
    assert provider.force_flush()
    spans = exported.get_finished_spans()
    names = {span.name for span in spans}
    assert {
        "StartUpdateWithStartWorkflow:CooperationWorkflow",
        "StartWorkflowUpdate:apply",
        "RunWorkflow:CooperationWorkflow",
        "ValidateUpdate:apply",
        "HandleUpdate:apply",
        "StartActivity:apply_effects",
        "RunActivity:apply_effects",
    } <= names, names
    assert {span.resource.attributes["service.name"] for span in spans} == {"coopflow-worker"}
    # The cooperation's run is one trace from the client's start: the workflow, its
    # updates and its activities, whose spans come to the worker through Temporal's headers.
    [started] = [s for s in spans if s.name.startswith("StartUpdateWithStartWorkflow:")]
    assert started.context is not None
    run = [s for s in spans if s.name.split(":")[0] in ("RunWorkflow", "HandleUpdate")]
    assert len(run) == 3
    assert all(s.context and s.context.trace_id == started.context.trace_id for s in run)
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    for activity in (s for s in spans if s.name == "RunActivity:apply_effects"):
        assert activity.parent is not None
        assert by_id[activity.parent.span_id].name == "StartActivity:apply_effects"
    provider.shutdown()
