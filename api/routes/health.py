"""Liveness of the stack: which component is down, if any."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import PoolDep, TemporalDep
from api.models import Alive, Health
from runtime.connect import stack_health

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"description": "A component is down (named)", "model": Health}},
)
async def healthz(pool: PoolDep, client: TemporalDep, response: Response) -> Health:
    healthy, checks = await stack_health(pool, client)
    response.status_code = 200 if healthy else 503
    return Health(status="ok" if healthy else "degraded", **checks)


@router.get("/livez", response_model=Alive)
async def livez() -> Alive:
    """The process answers: what a liveness probe asks (an outage of PostgreSQL or Temporal
    is /healthz's to report; restarting the API would not end it)."""
    return Alive()
