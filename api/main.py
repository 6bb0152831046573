"""`coopflow api`: serve the HTTP API with uvicorn."""

from __future__ import annotations

import asyncio
import gc

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
    from api.public import public_base
    from notify.webhooks import Policy
    from runtime.connect import StartupError, exit_on_startup_error

    try:
        # Before anything is reached: links are built on this site only (api/public.py), and
        # a missing secrets key is said before anything is connected to.
        public_base(settings)
        Policy.of(settings)
        asyncio.run(preflight(settings))
        app = create_app(settings)
        # What the imports and the app hold lives as long as the process: frozen, the
        # collector's full passes no longer walk it. Without this they walked ~100,000
        # objects (60 ms, collecting nothing) every few listing requests, whose parsed
        # pages survive long enough to count towards the next full pass.
        gc.freeze()
        uvicorn.run(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
            # uvloop and httptools (dependencies) where installed, else asyncio and h11: they
            # take about 15 % off the API's CPU per check-in (python -m bench.http_checkins).
            loop="auto",
            http="auto",
        )
    except StartupError as exc:
        exit_on_startup_error("coopflow api", exc)


if __name__ == "__main__":
    main()
