"""The local stack as a user meets it: `coopflow dev` (what `make run` wraps), health checks
that say what is down, and one clear line when a component is missing at start."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from api.app import create_app
from runtime.config import Settings
from runtime.connect import connect_temporal
from runtime.localstack import EmbeddedPostgres, TemporalDevServer, free_port
from store.db import create_pool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COOPFLOW = Path(sys.executable).parent / "coopflow"


def _http(
    method: str, url: str, body: dict[str, Any] | None = None, token: str | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def _wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"coopflow dev exited early ({proc.returncode})"
        try:
            if _http("GET", url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not healthy within {timeout}s")


@pytest.fixture
def dev_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "COOPFLOW_STATE_DIR": str(tmp_path / "state"),
        "COOPFLOW_API_PORT": str(free_port()),
        "COOPFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "COOPFLOW_TEMPORAL_UI_PORT": str(free_port()),
        "COOPFLOW_EMBEDDED_POSTGRES_PORT": str(free_port()),
        "COOPFLOW_DEV_MAIL_PORT": str(free_port()),
    }
    env.pop("COOPFLOW_SMTP_URL", None)
    env.pop("COOPFLOW_DATABASE_URL", None)
    yield env


def _start_dev(env: dict[str, str]) -> subprocess.Popen[str]:
    log = Path(env["COOPFLOW_STATE_DIR"]).parent / f"dev-{time.monotonic_ns()}.log"
    proc = subprocess.Popen(
        [str(COOPFLOW), "dev"],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _output(proc: subprocess.Popen[str]) -> str:
    return str(proc.log.read_text())  # type: ignore[attr-defined]


def _wait_printed(proc: subprocess.Popen[str], text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in _output(proc):
        assert time.monotonic() < deadline, _output(proc)
        time.sleep(0.2)


def _stop_dev(proc: subprocess.Popen[str]) -> tuple[int, str]:
    descendants = psutil.Process(proc.pid).children(recursive=True)
    assert len(descendants) >= 4  # postgres, temporal, worker, api (and their own children)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    _, alive = psutil.wait_procs(descendants, timeout=5)
    assert alive == [], f"left running after Ctrl-C: {[p.pid for p in alive]}"
    return proc.returncode, _output(proc)


def _demo_tokens(output: str) -> dict[tuple[str, str], str]:
    found = re.findall(
        r"^coopflow:\s+(funder|facilitator|collective)\s+(\S+)\s+(cf_\S+)\s+\S+@\S+$",
        output,
        re.M,
    )
    return {(role, subject): token for role, subject, token in found}


def test_coopflow_dev_serves_the_stack_and_leaves_nothing_behind(
    dev_env: dict[str, str],
) -> None:
    api = f"http://127.0.0.1:{dev_env['COOPFLOW_API_PORT']}"
    proc = _start_dev(dev_env)
    try:
        _wait_ready(f"{api}/healthz", proc)
        _wait_printed(proc, "Ctrl-C stops everything")
        ui = urllib.request.urlopen(f"http://127.0.0.1:{dev_env['COOPFLOW_TEMPORAL_UI_PORT']}/")
        assert ui.status == 200
        tokens = _demo_tokens(_output(proc))
        funder = tokens["funder", "fondation-territoires"]
        facilitator = tokens["facilitator", "pole-107"]
        # The demo is there at the first start: a co-funded collective, a tiers-lieu's loan.
        status, demo = _http(
            "GET", f"{api}/v1/cooperations/ressourcerie-du-bourg", token=facilitator
        )
        assert status == 200, demo
        assert [line["status"] for line in demo["lines"]] == ["active", "active"]
        status, _ = _http(
            "POST",
            f"{api}/v1/programmes",
            {
                "id": "prog",
                "name": "P",
                "funder": "fondation-territoires",
                "currency": "EUR",
                "budget": "100.00",
                "phases": {"emergence": {"check_in_every": "P1M", "tranches": []}},
            },
            token=funder,
        )
        assert status == 201
        assert _http("GET", f"{api}/v1/programmes/prog")[0] == 401
        status, _ = _http(
            "POST",
            f"{api}/v1/cooperations",
            {
                "id": "ruche",
                "name": "R",
                "kind": "systemic",
                "economic_model": "non_market",
                "members": [{"id": "asso", "name": "Asso", "legal_form": "association"}],
                "funding_lines": ["prog"],
            },
            token=facilitator,
        )
        assert status == 201
        _sign_in_to_the_web_by_e_mailed_link(dev_env, proc)
    finally:
        code, output = _stop_dev(proc)
    assert code == 0, output
    assert "Temporal UI" in output and "/healthz" in output

    # A second start finds every workflow and row again, and gives the same demo tokens.
    proc = _start_dev(dev_env)
    try:
        _wait_ready(f"{api}/healthz", proc)
        _wait_printed(proc, "Ctrl-C stops everything")
        assert _demo_tokens(_output(proc)) == tokens
        status, state = _http("GET", f"{api}/v1/cooperations/ruche", token=facilitator)
        assert status == 200, state
        assert state["phase"] == "emergence" and state["lines"][0]["status"] == "proposed"
        assert _http("GET", f"{api}/v1/programmes/prog", token=funder)[0] == 200
        status, listed = _http("GET", f"{api}/v1/cooperations", token=facilitator)
        assert sorted(c["id"] for c in listed["items"]) == [
            "ressourcerie-du-bourg",
            "ruche",
            "tiers-lieu-des-forges",
        ]
    finally:
        code, output = _stop_dev(proc)
    assert code == 0, output
    assert "demo: cooperation" not in output  # seeded once


def _sign_in_to_the_web_by_e_mailed_link(env: dict[str, str], proc: subprocess.Popen[str]) -> None:
    """The demo collective asks for a link at its demo address; the dev stack's mailbox keeps
    it and says it in the terminal; the link opens the collective's page."""
    web = f"http://localhost:{env['COOPFLOW_API_PORT']}"
    with httpx.Client(base_url=web) as browser:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/signin").text)
        assert csrf is not None
        address = "ressourcerie-du-bourg@demo.coopflow.example"
        sent = browser.post("/signin", data={"csrf": csrf.group(1), "email": address})
        assert sent.status_code == 200, sent.text
        _wait_printed(proc, f"[mail]   {web}/signin/")
        link = re.findall(rf"\[mail\]\s+{re.escape(web)}(/signin/\S+)", _output(proc))[-1]
        assert list((Path(env["COOPFLOW_STATE_DIR"]) / "mail").glob("*.eml"))
        shown = browser.get(link)
        csrf = re.search(r'name="csrf" value="([^"]+)"', shown.text)
        assert csrf is not None, shown.text
        assert browser.post(link, data={"csrf": csrf.group(1)}).status_code == 303
        home = browser.get("/", follow_redirects=True)
        assert home.status_code == 200 and "Ressourcerie du Bourg" in home.text


def test_missing_postgres_is_one_clear_line(dev_env: dict[str, str]) -> None:
    env = {**dev_env, "COOPFLOW_DATABASE_URL": f"postgresql://u@127.0.0.1:{free_port()}/db"}
    result = subprocess.run(
        [str(COOPFLOW), "dev"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "PostgreSQL is unreachable" in lines[0] and "COOPFLOW_DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_temporal_is_one_clear_line(database_url: str, dev_env: dict[str, str]) -> None:
    env = {
        **dev_env,
        "COOPFLOW_DATABASE_URL": database_url,
        "COOPFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    result = subprocess.run(
        [str(COOPFLOW), "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if "coopflow" in line]
    assert len(lines) == 1, result.stderr
    assert "Temporal is unreachable" in lines[0] and "COOPFLOW_TEMPORAL_ADDRESS" in lines[0]
    assert "Traceback" not in result.stderr


async def test_healthz_says_which_component_is_down(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg", free_port())
    temporal = TemporalDevServer(db_file=None, port=free_port(), ui_port=None, search_attributes={})
    url = pg.start()
    temporal.start()
    pool = await create_pool(url)
    client = await connect_temporal(Settings(temporal_address=temporal.address), wait=30)
    app = create_app(Settings(public_url="http://t"), pool=pool, client=client)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as http,
        ):
            assert (await http.get("/healthz")).status_code == 200
            pg.stop()
            down = await http.get("/healthz")
            assert down.status_code == 503
            assert down.json()["temporal"] == "up"
            assert down.json()["postgres"].startswith("down")
            temporal.stop()
            both = await http.get("/healthz")
            assert both.status_code == 503
            assert both.json()["temporal"].startswith("down")
    finally:
        temporal.stop()
        pg.stop()
        pool.terminate()
