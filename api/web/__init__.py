"""The web interface for people who don't curl, served by the API process (pages.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.logging import get_logger

STATIC = Path(__file__).parent / "static"
API_PATHS = ("/v1/", "/healthz", "/livez", "/docs", "/openapi", "/redoc", "/static/")

log = get_logger("coopflow.web")


def is_page(path: str) -> bool:
    """A page of the web interface, rather than the API (or its documentation, or a file)."""
    return not path.startswith(API_PATHS)


def install(app: FastAPI) -> None:
    """The pages and their files; errors on a page answered as a page (the API's handlers,
    installed first, keep answering problem+json everywhere else)."""
    from api.web.client import ApiProblem
    from api.web.pages import SignInNeeded, router
    from api.web.render import page

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/signin?" + urlencode({"next": request.url.path}), status_code=303)

    def error_page(request: Request, problem: ApiProblem) -> Response:
        return page(request, None, "error.html", status=problem.status, problem=problem)

    api_handlers = dict(app.exception_handlers)

    def for_people(kind: type[Exception]) -> None:
        api_handler = api_handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            if not is_page(request.url.path):
                return await api_handler(request, exc)  # type: ignore[no-any-return]
            if isinstance(exc, StarletteHTTPException):
                problem = ApiProblem(exc.status_code, str(exc.detail))
            elif isinstance(exc, RequestValidationError):
                problem = ApiProblem(404, "no such page")
            else:
                log.exception("unhandled error", path=request.url.path, method=request.method)
                problem = ApiProblem(500, f"internal error: {type(exc).__name__}")
            return error_page(request, problem)

        app.add_exception_handler(kind, handler)

    for kind in (StarletteHTTPException, RequestValidationError, Exception):
        for_people(kind)

    async def refused(request: Request, exc: Exception) -> Response:
        # A form refused before any page was built (its CSRF token): said as a page.
        assert isinstance(exc, ApiProblem)
        return error_page(request, exc)

    app.add_exception_handler(SignInNeeded, sign_in_first)
    app.add_exception_handler(ApiProblem, refused)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router)
    from api.web.graduation import router as graduation

    app.include_router(graduation)
    from api.web.schedule import router as schedule

    app.include_router(schedule)
