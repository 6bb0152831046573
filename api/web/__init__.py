"""The web interface for people who don't curl, served by the API process (pages.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from api.web.pages import SignInNeeded, router

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/signin?" + urlencode({"next": request.url.path}), status_code=303)

    app.add_exception_handler(SignInNeeded, sign_in_first)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
