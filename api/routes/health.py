"""Liveness of the stack: which component is down, if any."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import PoolDep, TemporalDep
from runtime.connect import stack_health

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "A component is down (named)"}})
async def healthz(pool: PoolDep, client: TemporalDep) -> JSONResponse:
    healthy, checks = await stack_health(pool, client)
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", **checks},
        status_code=200 if healthy else 503,
    )


@router.get("/livez")
async def livez() -> dict[str, str]:
    """The process answers: what a liveness probe asks (an outage of PostgreSQL or Temporal
    is /healthz's to report; restarting the API would not end it)."""
    return {"status": "alive"}
