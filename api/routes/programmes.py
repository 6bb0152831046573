"""Programmes: specs configured by funders, versioned."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import ValidationError

from api.deps import DocumentDep, PoolDep
from api.problems import Problem, invalid
from domain.limits import at_door
from domain.programme import ProgrammeSpec, ProgrammeVersion
from store.programmes import ProgrammeConflict, get_programme, list_versions, put_programme

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


def _spec(body: Any) -> ProgrammeSpec:
    try:
        return at_door(ProgrammeSpec, body)
    except ValidationError as exc:
        raise invalid(exc) from None


def _shown(version: ProgrammeVersion) -> dict[str, Any]:
    return {"version": version.version, **version.spec.model_dump(mode="json")}


@router.post("", status_code=201, openapi_extra=_SPEC_BODY)
async def create_programme(body: DocumentDep, pool: PoolDep, response: Response) -> dict[str, Any]:
    spec = _spec(body)
    async with pool.acquire() as conn:
        try:
            stored = await put_programme(conn, spec, new_version=False)
        except ProgrammeConflict as exc:
            raise Problem(409, str(exc)) from None
    response.headers["Location"] = f"/v1/programmes/{spec.id}"
    if stored.outcome == "unchanged":
        response.status_code = 200
    return _shown(stored.version)


@router.put("/{programme_id}", openapi_extra=_SPEC_BODY)
async def publish_version(
    programme_id: str, body: DocumentDep, pool: PoolDep, response: Response
) -> dict[str, Any]:
    """A new version of the programme; funding lines keep the version they were attached
    with. An identical spec changes nothing."""
    spec = _spec(body)
    if spec.id != programme_id:
        raise Problem(
            422,
            f"id: the spec is {spec.id!r}, the path {programme_id!r}",
            errors=[
                {"path": "id", "pointer": "/id", "message": "must match the path", "type": "id"}
            ],
        )
    async with pool.acquire() as conn:
        try:
            stored = await put_programme(conn, spec)
        except ProgrammeConflict as exc:
            raise Problem(409, str(exc)) from None
    if stored.outcome == "created":
        response.status_code = 201
        response.headers["Location"] = f"/v1/programmes/{spec.id}"
    return _shown(stored.version)


@router.get("/{programme_id}")
async def read_programme(programme_id: str, pool: PoolDep) -> dict[str, Any]:
    async with pool.acquire() as conn:
        found = await get_programme(conn, programme_id)
    if found is None:
        raise Problem(404, f"no programme {programme_id!r}")
    return _shown(found)


@router.get("/{programme_id}/versions")
async def read_versions(programme_id: str, pool: PoolDep) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        versions = await list_versions(conn, programme_id)
    if not versions:
        raise Problem(404, f"no programme {programme_id!r}")
    return [_shown(v) for v in versions]
