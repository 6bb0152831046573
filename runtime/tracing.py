"""OpenTelemetry tracing, on by configuration (`COOPFLOW_OTEL_ENDPOINT`): Temporal's tracing
interceptor on the client makes spans for what the client sends (StartWorkflow,
StartWorkflowUpdate…) and, on workers made from that client, for what they run (RunWorkflow,
HandleUpdate, RunActivity…), joined into one trace across processes by Temporal's headers."""

from __future__ import annotations

from urllib.parse import urlsplit

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio.contrib.opentelemetry import TracingInterceptor

WORKER = "coopflow-worker"
API = "coopflow-api"


def otlp_traces_url(endpoint: str) -> str:
    """The collector's traces URL: a bare `http://collector:4318` gets OTLP's `/v1/traces`, as
    OTEL_EXPORTER_OTLP_ENDPOINT would; a URL with a path is taken as it is."""
    if urlsplit(endpoint).path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


def tracer_provider(
    endpoint: str | None, service: str, *, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """A provider exporting spans in batches to the OTLP/HTTP collector at `endpoint` (or to
    `exporter`, for tests); None when tracing is off. Its own provider rather than
    OpenTelemetry's global one, which can be set only once per process."""
    if exporter is None:
        if not endpoint:
            return None
        exporter = OTLPSpanExporter(endpoint=otlp_traces_url(endpoint))
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def tracing_interceptor(provider: TracerProvider) -> TracingInterceptor:
    return TracingInterceptor(provider.get_tracer("coopflow"))
