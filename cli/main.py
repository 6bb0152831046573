"""The `coopflow` command."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import typer

from runtime.config import get_settings
from runtime.logging import configure_logging

T = TypeVar("T")


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="coopflow: funding lifecycles of territorial cooperations",
)


def _tokens() -> typer.Typer:
    from cli.tokens import app as tokens

    return tokens


app.add_typer(_tokens(), name="token")


@app.command()
def dev() -> None:
    """Run the whole stack locally (PostgreSQL, Temporal, worker, API) until Ctrl-C."""
    from cli.dev import run_dev

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    raise typer.Exit(run_dev(settings))


@app.command()
def worker() -> None:
    """Run a worker (cooperation workflows and activities)."""
    from worker.main import main as worker_main

    worker_main()


@app.command()
def api() -> None:
    """Serve the HTTP API."""
    from api.main import main as api_main

    api_main()


def _on_database(command: str, work: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    """`work` on COOPFLOW_DATABASE_URL's database (these commands touch no embedded one);
    unset or unreachable, one line and exit status 2."""
    from runtime.connect import StartupError

    settings = get_settings()
    if not settings.database_url:
        print(f"coopflow {command}: set COOPFLOW_DATABASE_URL", file=sys.stderr)
        raise typer.Exit(2)
    try:
        return asyncio.run(work(settings.database_url))
    except StartupError as exc:
        print(f"coopflow {command}: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Apply the database migrations to COOPFLOW_DATABASE_URL."""
    from cli.dev import migrate_database

    applied = _on_database("migrate", migrate_database)
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


@app.command()
def faults() -> None:
    """List the cooperations in fault (effects or workflow tasks that keep failing)."""
    from cli.dev import list_faults

    rows = _on_database("faults", list_faults)
    for cooperation_id, fault, since in rows:
        print(f"{cooperation_id}\t{since:%Y-%m-%dT%H:%M:%SZ}\t{fault}")
    if not rows:
        print("no cooperation in fault", file=sys.stderr)


@app.command()
def erase(
    member: str | None = typer.Option(
        None, help="COOPERATION/MEMBER: a member's name and contacts"
    ),
    cooperation: str | None = typer.Option(
        None, help="a cooperation id: its members' names and contacts, and its free texts"
    ),
) -> None:
    """Erase personal data on request: a member's name and contacts (--member), or a whole
    cooperation's with its free texts (--cooperation). Ids, dates, amounts and the sequence
    of events stay; the erasure is recorded with the events."""
    from cli.erase import run

    run(member, cooperation)


@app.command()
def simulate(
    scenario: Path = typer.Argument(..., help="the scenario file (YAML or JSON)"),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
    database_server: str | None = typer.Option(
        None,
        "--database-server",
        envvar="COOPFLOW_SIMULATE_DATABASE_SERVER",
        help="a PostgreSQL server URL for the temporary database (default: an embedded one)",
    ),
) -> None:
    """Run one cooperation's scenario through the real workflow on a time-skipping server."""
    from cli.scenario_files import load_scenario_file
    from cli.simulate import render_table
    from cli.simulate import simulate as run
    from domain.simulation import ScenarioError

    settings = get_settings()
    # stdout carries the result alone; the SDK's chatter about the test server stays quiet.
    configure_logging(settings.log_format, "ERROR")
    try:
        result = asyncio.run(run(load_scenario_file(scenario), database_server=database_server))
    except ScenarioError as exc:
        print(f"coopflow simulate: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    if output == OutputFormat.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render_table(result), end="")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
