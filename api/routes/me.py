"""Who the token says the caller is."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import Caller, CallerDep

router = APIRouter(prefix="/v1", tags=["me"])


@router.get("/me", response_model=Caller)
async def whoami(caller: CallerDep) -> Caller:
    return caller
