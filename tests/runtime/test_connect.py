"""Secured Temporal clusters: the settings become `Client.connect`'s TLS and API key, and a
file that cannot be read stops the start with one line naming its setting."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from runtime.config import Settings
from runtime.connect import (
    StartupError,
    TemporalSecurity,
    connect_temporal,
    temporal_security,
)
from runtime.localstack import TemporalDevServer


def test_plain_by_default() -> None:
    security = temporal_security(Settings())
    assert security.tls is False
    assert security.api_key is None


def test_tls_alone_checks_the_server_against_the_system_roots() -> None:
    assert temporal_security(Settings(temporal_tls=True)).tls is True


def test_an_api_key_goes_over_tls() -> None:
    security = temporal_security(Settings(temporal_api_key="key-123"))
    assert security.tls is True
    assert security.api_key == "key-123"


def test_mtls_reads_the_certificate_key_and_ca(tmp_path: Path) -> None:
    for name in ("client.pem", "client.key", "ca.pem"):
        (tmp_path / name).write_bytes(f"-----{name}-----".encode())
    security = temporal_security(
        Settings(
            temporal_tls_cert=tmp_path / "client.pem",
            temporal_tls_key=tmp_path / "client.key",
            temporal_tls_ca=tmp_path / "ca.pem",
        )
    )
    assert security.tls == TLSConfig(
        client_cert=b"-----client.pem-----",
        client_private_key=b"-----client.key-----",
        server_root_ca_cert=b"-----ca.pem-----",
    )
    assert security.api_key is None


def test_a_ca_alone_with_an_api_key(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(b"ca")
    security = temporal_security(
        Settings(temporal_tls_ca=tmp_path / "ca.pem", temporal_api_key="k")
    )
    assert security.tls == TLSConfig(server_root_ca_cert=b"ca")
    assert security.api_key == "k"


def test_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ca.pem").write_bytes(b"ca")
    monkeypatch.setenv("COOPFLOW_TEMPORAL_TLS", "true")
    monkeypatch.setenv("COOPFLOW_TEMPORAL_TLS_CA", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("COOPFLOW_TEMPORAL_API_KEY", "from-env")
    security = temporal_security(Settings())
    assert security.tls == TLSConfig(server_root_ca_cert=b"ca")
    assert security.api_key == "from-env"
    # The key is a secret: never shown with the settings.
    assert "from-env" not in repr(Settings())


def test_a_missing_file_names_its_setting(tmp_path: Path) -> None:
    (tmp_path / "client.pem").write_bytes(b"cert")
    with pytest.raises(StartupError) as caught:
        temporal_security(
            Settings(temporal_tls_cert=tmp_path / "client.pem", temporal_tls_key=tmp_path / "nope")
        )
    message = str(caught.value)
    assert message.startswith("COOPFLOW_TEMPORAL_TLS_KEY: cannot read ")
    assert str(tmp_path / "nope") in message and "\n" not in message


def test_an_unreadable_file_names_its_setting(tmp_path: Path) -> None:
    # A directory where a file is expected: unreadable even for root.
    with pytest.raises(StartupError, match=r"^COOPFLOW_TEMPORAL_TLS_CA: cannot read "):
        temporal_security(Settings(temporal_tls_ca=tmp_path))


def test_half_a_client_pair_is_refused(tmp_path: Path) -> None:
    (tmp_path / "client.pem").write_bytes(b"cert")
    with pytest.raises(StartupError, match="TLS_CERT is set without COOPFLOW_TEMPORAL_TLS_KEY"):
        temporal_security(Settings(temporal_tls_cert=tmp_path / "client.pem"))
    with pytest.raises(StartupError, match="TLS_KEY is set without COOPFLOW_TEMPORAL_TLS_CERT"):
        temporal_security(Settings(temporal_tls_key=tmp_path / "client.pem"))


async def test_connecting_says_so_at_once_rather_than_retrying(tmp_path: Path) -> None:
    began = time.monotonic()
    with pytest.raises(StartupError, match=r"^COOPFLOW_TEMPORAL_TLS_CA"):
        await connect_temporal(Settings(temporal_tls_ca=tmp_path / "absent.pem"), wait=30)
    assert time.monotonic() - began < 5


async def test_the_settings_reach_the_connection(temporal_dev_server: TemporalDevServer) -> None:
    # The dev server speaks plain gRPC: the same address with TLS on cannot connect, which
    # shows the setting is used; without it, it connects.
    plain = Settings(temporal_address=temporal_dev_server.address)
    client = await connect_temporal(plain, wait=10)
    assert await client.service_client.check_health()
    with pytest.raises(StartupError, match=r"^Temporal is unreachable"):
        await connect_temporal(plain.model_copy(update={"temporal_tls": True}), wait=1)


def test_empty_variables_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TLS_CERT", "TLS_KEY", "TLS_CA", "API_KEY"):
        monkeypatch.setenv(f"COOPFLOW_TEMPORAL_{name}", "")
    for name in ("MAX_CACHED_WORKFLOWS", "HEALTH_ADDRESS", "OTEL_ENDPOINT"):
        monkeypatch.setenv(f"COOPFLOW_{name}", "")
    settings = Settings()
    assert settings.temporal_tls_cert is None and settings.temporal_api_key is None
    assert temporal_security(settings) == TemporalSecurity(tls=False, api_key=None)
    assert settings.max_cached_workflows is None
    assert settings.health_address is None and settings.otel_endpoint is None
