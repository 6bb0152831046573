"""`coopflow dev` (behind `make run`): the whole stack on one machine, supervised.

Starts PostgreSQL (embedded unless COOPFLOW_DATABASE_URL is set), the Temporal dev server
(SQLite file under the state folder, so a restart finds every workflow again), applies the
migrations, then runs the worker and the API as child processes, restarting them if they
crash. SIGINT/SIGTERM stops every child it started, newest first.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import asyncpg

from cli.database import connected
from runtime.config import Settings
from runtime.connect import StartupError, connect_temporal
from runtime.localstack import (
    EmbeddedPostgres,
    StackError,
    TemporalDevServer,
    port_in_use,
    spawn,
    stop,
)
from runtime.temporal import SEARCH_ATTRIBUTES
from store.db import ensure_database, migrate

# Under `make run`: the worker's Prometheus metrics (COOPFLOW_METRICS_ADDRESS overrides), the
# API's (a process of its own, so a port of its own), the worker's health endpoint.
DEV_METRICS_PORT = 9464
DEV_API_METRICS_PORT = 9465
DEV_HEALTH_PORT = 8081

RESTARTS_PER_MINUTE = 5


class _Stop(Exception):
    pass


def run_dev(settings: Settings) -> int:
    state = settings.state_dir.resolve()
    logs = state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    pg: EmbeddedPostgres | None = None
    temporal: TemporalDevServer | None = None
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        if settings.database_url:
            db_url = settings.database_url
        else:
            pg = EmbeddedPostgres(
                state / "postgres", settings.embedded_postgres_port, log=logs / "postgres.log"
            )
            _say(f"PostgreSQL (embedded) starting, data in {pg.data_dir}")
            db_url = asyncio.run(ensure_database(pg.start(), "coopflow"))
        applied = asyncio.run(migrate_database(db_url))
        _say(f"migrations: {', '.join(applied) if applied else 'up to date'}")
        if stopping:
            raise _Stop

        _host, _, port = settings.temporal_address.rpartition(":")
        temporal = TemporalDevServer(
            db_file=state / "temporal.db",
            port=int(port),
            ui_port=settings.temporal_ui_port,
            search_attributes=SEARCH_ATTRIBUTES,
            log=logs / "temporal.log",
        )
        _say(f"Temporal dev server starting, data in {temporal.db_file}")
        temporal.start()
        asyncio.run(_wait_temporal(settings))
        if stopping:
            raise _Stop

        env = {
            **os.environ,
            "COOPFLOW_DATABASE_URL": db_url,
            "COOPFLOW_TEMPORAL_ADDRESS": settings.temporal_address,
            "COOPFLOW_SECRETS_KEY": _secrets_key(settings, state),
        }
        metrics = settings.metrics_address or _free_local(DEV_METRICS_PORT)
        api_metrics = _free_local(DEV_API_METRICS_PORT)
        health = settings.health_address or _free_local(DEV_HEALTH_PORT)
        web_url = f"http://localhost:{settings.api_port}"
        # No mail server configured: e-mails (notifications, the web's sign-in links) go to a
        # mailbox of this machine's, kept in .state/mail and said in this terminal.
        mail = None if settings.smtp_url else _free_local(settings.dev_mail_port)
        if mail:
            # The mailbox is on this machine and speaks no TLS: clear text, said so.
            env["COOPFLOW_SMTP_URL"] = f"smtp+insecure://{mail}"
        envs = {
            "worker": _with(env, COOPFLOW_METRICS_ADDRESS=metrics, COOPFLOW_HEALTH_ADDRESS=health),
            # Served over plain http here: cookies cannot be Secure for every browser, and the
            # e-mailed links say localhost, where the browser was sent.
            "api": _with(
                env,
                COOPFLOW_METRICS_ADDRESS=api_metrics,
                COOPFLOW_PUBLIC_URL=settings.public_url or web_url,
                COOPFLOW_WEB_SECURE_COOKIES=os.environ.get("COOPFLOW_WEB_SECURE_COOKIES", "false"),
            ),
            "mail": env,
        }
        commands = {
            "worker": [sys.executable, "-m", "worker"],
            "api": [sys.executable, "-m", "api"],
        }
        if mail:
            folder = state / "mail"
            port = mail.rpartition(":")[2]
            commands["mail"] = [
                sys.executable,
                "-m",
                "cli.devmail",
                "--port",
                port,
                "--folder",
                str(folder),
            ]
        restarts: dict[str, list[float]] = {name: [] for name in commands}
        for name, args in commands.items():
            children[name] = spawn(args, env=envs[name])
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        if _wait_http(f"{api_url}/healthz", lambda: stopping or children["api"].poll() is not None):
            if settings.demo:
                _show_demo(api_url, db_url, state)
            _say("ready:")
            _say(f"  web          {web_url}/  (sign in with a demo token or address)")
            _say(f"  API          {api_url}  (docs {api_url}/docs, health {api_url}/healthz)")
            if mail:
                _say(f"  e-mails      {state / 'mail'}  (and here, as [mail] lines)")
            _say(f"  Temporal UI  http://127.0.0.1:{settings.temporal_ui_port}")
            _say(
                f"  Temporal     {settings.temporal_address}"
                f" (namespace {settings.temporal_namespace})"
            )
            if metrics:
                _say(f"  metrics      http://{metrics}/metrics  (worker, Prometheus)")
            if api_metrics:
                _say(f"               http://{api_metrics}/metrics  (API)")
            if health:
                _say(f"  worker       http://{health}/healthz")
            _say(f"  logs         {logs}")
            _say("Ctrl-C stops everything.")

        while not stopping:
            time.sleep(0.3)
            if pg and pg.proc and pg.proc.poll() is not None:
                raise StackError(f"PostgreSQL stopped unexpectedly; see {pg.log}")
            if temporal.proc and temporal.proc.poll() is not None:
                raise StackError(f"Temporal dev server stopped unexpectedly; see {temporal.log}")
            for name, proc in list(children.items()):
                if proc.poll() is None or stopping:
                    continue
                now = time.monotonic()
                recent = [t for t in restarts[name] if now - t < 60]
                if len(recent) >= RESTARTS_PER_MINUTE:
                    raise StackError(
                        f"the {name} keeps crashing (exit {proc.returncode}); see its output above"
                    )
                _say(f"the {name} exited ({proc.returncode}); restarting it")
                restarts[name] = [*recent, now]
                children[name] = spawn(commands[name], env=envs[name])
        return 0
    except _Stop:
        return 0
    except (StackError, StartupError) as exc:
        print(f"coopflow dev: {exc}", file=sys.stderr)
        return 2
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"coopflow dev: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if children or temporal or pg:
            _say("stopping…")
        for proc in reversed(list(children.values())):
            stop(proc, signal.SIGTERM)
        if temporal:
            temporal.stop()
        if pg:
            pg.stop()
        if children or temporal or pg:
            _say("stopped")


async def migrate_database(db_url: str) -> list[str]:
    hint = ": start it, or unset COOPFLOW_DATABASE_URL to use the embedded one"
    async with connected(db_url, hint) as conn:
        return await migrate(conn)


def _show_demo(api_url: str, db_url: str, state: Path) -> None:
    from cli.demo import demo_address, run_demo

    try:
        tokens, done = run_demo(api_url, db_url, state)
    except Exception as exc:  # the stack runs without its demo; say why
        _say(f"demo not seeded: {exc}")
        return
    for what in done:
        _say(f"demo: {what}")
    _say(
        "demo tokens (the same at every start; -H 'Authorization: Bearer <token>', or pasted"
        " in the web's sign-in page) and addresses (for a sign-in link):"
    )
    for (role, subject), token in tokens.items():
        _say(f"  {role:<12} {subject:<24} {token}  {demo_address(subject)}")


async def list_faults(db_url: str) -> list[tuple[str, str, datetime]]:
    """(cooperation, fault, since) of every cooperation the fault watch flagged."""
    async with connected(db_url) as conn:
        rows = await conn.fetch(
            "SELECT id, fault, fault_since FROM cooperations WHERE fault IS NOT NULL"
            " ORDER BY fault_since"
        )
    return [(r["id"], r["fault"], r["fault_since"]) for r in rows]


async def _wait_temporal(settings: Settings) -> None:
    await connect_temporal(settings, wait=30)


def _wait_http(url: str, give_up: object, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(give_up) and give_up():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _say(text: str) -> None:
    print(f"coopflow: {text}", flush=True)


__all__ = ["run_dev"]


def _secrets_key(settings: Settings, state: Path) -> str:
    """The key of webhook secrets: the one set, else one kept in the state folder (made at
    the first start, readable by its owner only), so the worker opens what the API sealed
    across restarts."""
    if settings.secrets_key and settings.secrets_key.get_secret_value().strip():
        return settings.secrets_key.get_secret_value()
    path = state / "secrets.key"
    if not path.exists():
        from notify.sealing import generate_key

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate_key() + "\n")
    return path.read_text().strip()


def _free_local(port: int) -> str | None:
    """127.0.0.1:port when nothing listens there (another stack may be running)."""
    return None if port_in_use("127.0.0.1", port) else f"127.0.0.1:{port}"


def _with(env: dict[str, str], **values: str | None) -> dict[str, str]:
    """`env` with these variables set, or removed where None (a child must not inherit an
    address another child binds)."""
    out = dict(env)
    for name, value in values.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out
