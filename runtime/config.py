"""Settings from the environment (prefix COOPFLOW_), one place for every entry point."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LogFormat(StrEnum):
    console = "console"
    json = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COOPFLOW_", env_file=".env", extra="ignore")

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "coopflow"
    # None: `coopflow dev` runs an embedded PostgreSQL under state_dir and points here at it.
    database_url: str | None = None
    embedded_postgres_port: int = 54329
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_ui_port: int = 8233
    log_format: LogFormat = LogFormat.console
    log_level: str = "INFO"
    state_dir: Path = Path(".state")
    # Prometheus metrics of the worker (SDK metrics, coopflow's fault counters); unset: none.
    metrics_address: str | None = None
    # How often the worker looks for cooperations in fault (seconds).
    fault_watch_every: float = 30.0
    # `make run` seeds a demo (programmes, cooperations, a token per role) at its first start.
    demo: bool = True
    # E-mail: `smtp://[user:password@]host[:port]` (STARTTLS required), `smtps://…` (implicit
    # TLS) or `smtp+insecure://…` (clear text, a local mailbox); unset: logged, not sent.
    smtp_url: str | None = None
    mail_from: str = "coopflow <notifications@coopflow.invalid>"
    # A webhook delivery or an e-mail is tried for this long (seconds), then given up.
    delivery_give_up_after: float = 24 * 3600
    # Secured Temporal clusters: TLS (the server's certificate checked against `temporal_tls_ca`,
    # else the system's roots), mTLS with a client certificate and key (PEM files), or a
    # Temporal Cloud API key (TLS implied). A certificate or CA file given implies TLS.
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_api_key: SecretStr | None = None
    # On SIGTERM the worker stops polling and lets running activities finish for this long
    # (seconds), then cancels them: Temporal hands them to another worker.
    graceful_shutdown: float = 30.0
    # The worker's sticky cache (workflows kept in memory between tasks); unset: the SDK's.
    max_cached_workflows: int | None = None
    # `host:port` where the worker answers GET /healthz; unset: no health endpoint.
    health_address: str | None = None
    # OTLP/HTTP collector (`http://collector:4318`) for OpenTelemetry traces; unset: no tracing.
    otel_endpoint: str | None = None
    # The web interface: the address people reach it at, the only base of e-mailed links (the
    # API refuses to start without it; `make run` sets its own; a request naming another Host
    # is refused where it may send a mail); how long a session and a sign-in link last;
    # cookies marked Secure (browsers keep them on https and on http://localhost only).
    public_url: str | None = None
    web_session_hours: float = 12.0
    web_link_minutes: float = 20.0
    web_secure_cookies: bool = True
    # `coopflow dev`'s own mailbox (when no SMTP server is set).
    dev_mail_port: int = 1025
    # Webhooks (security): the networks a webhook may reach beyond the public Internet
    # (CIDRs, comma-separated; empty: loopback, private, link-local... all refused), and the
    # Fernet key(s) encrypting their secrets at rest (comma-separated: the first seals, all
    # open). `coopflow api` and `coopflow worker` refuse to start without a key; `coopflow
    # dev` keeps one under state_dir.
    webhook_allow_networks: str = ""
    secrets_key: SecretStr | None = None
    # Commands' answers (exactly once): how long the API waits for a cooperation's workflow
    # to answer a command (seconds) before answering 503 (the same Idempotency-Key sent again
    # learns the outcome), and how long a repeated command waits for its events to reach the
    # event log when the workflow no longer holds them.
    command_answer_seconds: float = 30.0
    answer_events_wait_seconds: float = 5.0

    @field_validator(
        "temporal_tls_cert",
        "temporal_tls_key",
        "temporal_tls_ca",
        "temporal_api_key",
        "max_cached_workflows",
        "health_address",
        "otel_endpoint",
        "public_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Manifests often carry every variable, the unused ones empty.
        return None if value == "" else value


def database_url_or_local(settings: Settings) -> str:
    """The configured database, else the one `make run` serves on this machine."""
    return (
        settings.database_url
        or f"postgresql://postgres@127.0.0.1:{settings.embedded_postgres_port}/coopflow"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
