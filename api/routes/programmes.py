"""Programmes: specs configured by funders, versioned."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import ValidationError

from api.deps import DocumentDep, PoolDep
from api.problems import Problem, invalid
from domain.programme import ProgrammeSpec
from store.programmes import ProgrammeConflict, get_programme, put_programme

router = APIRouter(prefix="/v1/programmes", tags=["programmes"])

_SPEC_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ProgrammeSpec"}},
            "application/yaml": {"schema": {"$ref": "#/components/schemas/ProgrammeSpec"}},
        },
    }
}


@router.post("", status_code=201, openapi_extra=_SPEC_BODY)
async def create_programme(body: DocumentDep, pool: PoolDep, response: Response) -> dict[str, Any]:
    try:
        spec = ProgrammeSpec.model_validate(body)
    except ValidationError as exc:
        raise invalid(exc) from None
    async with pool.acquire() as conn:
        try:
            stored = await put_programme(conn, spec)
        except ProgrammeConflict as exc:
            raise Problem(409, str(exc)) from None
    response.headers["Location"] = f"/v1/programmes/{spec.id}"
    if not stored.created:
        response.status_code = 200
    return {"version": stored.version.version, **stored.version.spec.model_dump(mode="json")}


@router.get("/{programme_id}")
async def read_programme(programme_id: str, pool: PoolDep) -> dict[str, Any]:
    async with pool.acquire() as conn:
        found = await get_programme(conn, programme_id)
    if found is None:
        raise Problem(404, f"no programme {programme_id!r}")
    return {"version": found.version, **found.spec.model_dump(mode="json")}
