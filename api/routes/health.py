"""Liveness of the stack: which component is down, if any."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import PoolDep, TemporalDep

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "A component is down (named)"}})
async def healthz(pool: PoolDep, client: TemporalDep) -> JSONResponse:
    async def postgres() -> str:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
        return "up"

    async def temporal() -> str:
        ok = await client.service_client.check_health(timeout=timedelta(seconds=2))
        return "up" if ok else "down"

    checks: dict[str, str] = {}
    for name, probe in (("temporal", temporal), ("postgres", postgres)):
        try:
            checks[name] = await asyncio.wait_for(probe(), timeout=3)
        except Exception as exc:  # any failure means down; the reason helps the operator
            checks[name] = f"down: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    healthy = all(v == "up" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", **checks},
        status_code=200 if healthy else 503,
    )
