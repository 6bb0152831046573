"""`coopflow api`: serve the HTTP API with uvicorn."""

from __future__ import annotations

import asyncio

import uvicorn

from runtime.config import Settings, get_settings
from runtime.logging import configure_logging


async def preflight(settings: Settings) -> None:
    """Fail with one clear line before serving, rather than a lifespan traceback."""
    from runtime.connect import connect_postgres, connect_temporal

    pool = await connect_postgres(settings)
    await pool.close()
    await connect_temporal(settings)


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    from api.app import create_app
    from runtime.connect import StartupError, exit_on_startup_error

    try:
        asyncio.run(preflight(settings))
        uvicorn.run(
            create_app(settings),
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
        )
    except StartupError as exc:
        exit_on_startup_error("coopflow api", exc)


if __name__ == "__main__":
    main()
