"""The `coopflow` command."""

from __future__ import annotations

import asyncio
import sys

import typer

from runtime.config import get_settings
from runtime.logging import configure_logging

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="coopflow: funding lifecycles of territorial cooperations",
)


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


@app.command()
def migrate() -> None:
    """Apply the database migrations to COOPFLOW_DATABASE_URL."""
    from cli.dev import migrate_database
    from runtime.connect import StartupError

    settings = get_settings()
    if not settings.database_url:
        print("coopflow migrate: set COOPFLOW_DATABASE_URL", file=sys.stderr)
        raise typer.Exit(2)
    try:
        applied = asyncio.run(migrate_database(settings.database_url))
    except StartupError as exc:
        print(f"coopflow migrate: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
