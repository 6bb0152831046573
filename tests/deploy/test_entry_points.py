"""The image's three commands as the image runs them (Dockerfile: ENTRYPOINT coopflow):
configured by environment variables alone, from an empty working directory, against a real
PostgreSQL and Temporal dev server. `migrate` twice (the second applies nothing), then
`api` and `worker` serving their health, liveness and metrics, and stopping on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from runtime.localstack import TemporalDevServer, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COOPFLOW = Path(sys.executable).with_name("coopflow")


def _env(database_url: str, server: TemporalDevServer, **more: str) -> dict[str, str]:
    # Only what a container gets: no inherited COOPFLOW_* from the test's own environment.
    base = {k: v for k, v in os.environ.items() if not k.startswith("COOPFLOW_")}
    return base | {
        "COOPFLOW_DATABASE_URL": database_url,
        "COOPFLOW_TEMPORAL_ADDRESS": server.address,
        "COOPFLOW_LOG_FORMAT": "json",
        # Required, as the manifests say (deploy/k8s/secret.yaml).
        "COOPFLOW_SECRETS_KEY": os.environ["COOPFLOW_SECRETS_KEY"],
        **more,
    }


@contextmanager
def _running(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [str(COOPFLOW), *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _until_ok(url: str, proc: subprocess.Popen[str], seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"exited {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}"
            )
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200:
                return answer
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered 200")


def _stopped(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


async def test_migrate_api_and_worker_run_as_the_image_runs_them(
    postgres_server_url: str, temporal_dev_server: TemporalDevServer, tmp_path: Path
) -> None:
    # An empty database: `coopflow migrate` makes everything.
    name = f"image_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    database_url = postgres_server_url.rsplit("/", 1)[0] + f"/{name}"
    env = _env(database_url, temporal_dev_server)
    empty = tmp_path / "app"
    empty.mkdir()

    def migrate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(COOPFLOW), "migrate"], env=env, cwd=empty, capture_output=True, text=True
        )

    first = await asyncio.to_thread(migrate)
    again = await asyncio.to_thread(migrate)
    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    assert tables >= 20

    api_port, api_metrics = free_port(), free_port()
    health, worker_metrics = free_port(), free_port()
    api_env = env | {
        "COOPFLOW_API_HOST": "127.0.0.1",
        "COOPFLOW_API_PORT": str(api_port),
        "COOPFLOW_METRICS_ADDRESS": f"127.0.0.1:{api_metrics}",
        "COOPFLOW_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
    }
    worker_env = env | {
        "COOPFLOW_TASK_QUEUE": f"image-{api_port}",
        "COOPFLOW_HEALTH_ADDRESS": f"127.0.0.1:{health}",
        "COOPFLOW_METRICS_ADDRESS": f"127.0.0.1:{worker_metrics}",
        "COOPFLOW_GRACEFUL_SHUTDOWN": "5",
    }
    with (
        _running(["api"], api_env, empty) as api,
        _running(["worker"], worker_env, empty) as worker,
    ):
        ready = _until_ok(f"http://127.0.0.1:{api_port}/healthz", api)
        assert ready.json() == {"status": "ok", "temporal": "up", "postgres": "up"}
        assert _until_ok(f"http://127.0.0.1:{api_port}/livez", api).json()["status"] == "alive"
        worker_ready = _until_ok(f"http://127.0.0.1:{health}/healthz", worker)
        assert worker_ready.json()["postgres"] == "up"
        assert _until_ok(f"http://127.0.0.1:{health}/livez", worker).status_code == 200
        # Both serve Prometheus; a polling worker has the SDK's series already (coopflow's
        # appear once something is counted).
        assert "temporal_" in _until_ok(f"http://127.0.0.1:{worker_metrics}/metrics", worker).text
        _until_ok(f"http://127.0.0.1:{api_metrics}/metrics", api)
        assert _stopped(worker) == 0
        # uvicorn shuts down, then ends by the signal it was sent (as a container expects).
        assert _stopped(api) in (0, -signal.SIGTERM)
        said = api.stdout.read() if api.stdout else ""
    assert "Finished server process" in said
