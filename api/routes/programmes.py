"""Programmes: specs configured by funders, versioned; read by everyone (budgets and amounts
by their funder only); each funder's inbox and dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError

from api.auth import Caller, CallerDep
from api.deps import DocumentDep, PoolDep, document_openapi
from api.models import (
    BudgetRaise,
    Page,
    ProgrammeShown,
    Remaining,
)
from api.problems import Problem, field_error, invalid
from domain.limits import at_door
from domain.programme import ProgrammeSpec, ProgrammeVersion
from examples import sample_programme
from store import money
from store.db import Conn
from store.programmes import (
    BudgetBelowCommitted,
    ProgrammeConflict,
    VersionBudgetTooLarge,
    budget_of,
    get_programme,
    list_programmes,
    list_versions,
    put_programme,
)

router = APIRouter(prefix="/v1/programmes", tags=["programmes"])

_SPEC_BODY = document_openapi(
    "ProgrammeSpec", "the sample programme (DESIGN.md)", sample_programme()
)


def _spec(body: Any, caller: Caller) -> ProgrammeSpec:
    if caller.role != "funder":
        raise Problem(403, f"a {caller.role} may not configure programmes (funders do)")
    try:
        spec = at_door(ProgrammeSpec, body)
    except ValidationError as exc:
        raise invalid(exc) from None
    if not _is_funder_of(spec, caller):
        raise Problem(
            403,
            f"funder: you are funder {caller.subject!r}, not {spec.funder!r}",
            errors=[field_error("funder", "must be the caller", "forbidden")],
        )
    return spec


def _is_funder_of(spec: ProgrammeSpec, caller: Caller) -> bool:
    """Whether the caller is the programme's funder: a funder token of that id. A subject is
    read with its role (DESIGN.md, "Roles are namespaces"): a facilitator or a collective
    whose id equals the funder's is not that funder."""
    return caller.role == "funder" and spec.funder == caller.subject


def _shown(version: ProgrammeVersion, caller: Caller) -> ProgrammeShown:
    """The spec with its version; budgets and amounts for its funder only."""
    spec = version.spec.model_dump(mode="json")
    if not _is_funder_of(version.spec, caller):
        spec.pop("budget", None)
        spec.pop("cap_per_cooperation", None)
        spec.pop("grant", None)
        for phase in spec.get("phases", {}).values():
            for tranche in phase.get("tranches", []):
                tranche.pop("amount", None)
    # Validated from what is shown, so what is left out stays out (exclude_unset).
    return ProgrammeShown.model_validate({"version": version.version, **spec})


async def owned_programme(
    conn: Conn, programme_id: str, caller: Caller, what: str
) -> ProgrammeVersion:
    found = await get_programme(conn, programme_id)
    if found is None:
        raise Problem(404, f"no programme {programme_id!r}")
    if not _is_funder_of(found.spec, caller):
        raise Problem(403, f"only the programme's funder may {what}")
    return found


@router.post(
    "",
    status_code=201,
    response_model=ProgrammeShown,
    response_model_exclude_unset=True,
    openapi_extra=_SPEC_BODY,
)
async def create_programme(
    body: DocumentDep, caller: CallerDep, pool: PoolDep, response: Response
) -> ProgrammeShown:
    """A funder's new programme (`funder` must be the caller); the identical spec again
    answers 200."""
    spec = _spec(body, caller)
    async with pool.acquire() as conn:
        try:
            stored = await put_programme(conn, spec, new_version=False)
        except ProgrammeConflict as exc:
            raise Problem(409, str(exc)) from None
    response.headers["Location"] = f"/v1/programmes/{spec.id}"
    if stored.outcome == "unchanged":
        response.status_code = 200
    return _shown(stored.version, caller)


@router.get("", response_model=Page[ProgrammeShown], response_model_exclude_unset=True)
async def list_all(
    caller: CallerDep,
    pool: PoolDep,
    funder: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ProgrammeShown]:
    """Every programme (its current version), by id."""
    async with pool.acquire() as conn:
        found = await list_programmes(conn, funder=funder, after=cursor, limit=limit + 1)
    items = [_shown(v, caller) for v in found[:limit]]
    more = len(found) > limit
    # next_cursor given even when None: set, so the answer keeps it (exclude_unset).
    return Page(items=items, next_cursor=found[limit - 1].spec.id if more else None)


@router.put(
    "/{programme_id}",
    response_model=ProgrammeShown,
    response_model_exclude_unset=True,
    openapi_extra=_SPEC_BODY,
)
async def publish_version(
    programme_id: str, body: DocumentDep, caller: CallerDep, pool: PoolDep, response: Response
) -> ProgrammeShown:
    """A new version of the programme; funding lines keep the version they were attached
    with. An identical spec changes nothing. The budget keeps every raise and moves by the
    change of the spec's `budget` from the version before: 409 when that would leave it below
    what is committed (the answer says both)."""
    spec = _spec(body, caller)
    if spec.id != programme_id:
        raise Problem(
            422,
            f"id: the spec is {spec.id!r}, the path {programme_id!r}",
            errors=[field_error("id", "must match the path", "id")],
        )
    async with pool.acquire() as conn:
        existing = await get_programme(conn, programme_id)
        if existing is not None and not _is_funder_of(existing.spec, caller):
            # Programmes are read by everyone: another funder's is visible, so forbidden.
            raise Problem(403, "only the programme's funder may publish a version of it")
        try:
            stored = await put_programme(conn, spec)
        except BudgetBelowCommitted as exc:
            raise Problem(
                409,
                str(exc),
                errors=[field_error("budget", "below what is committed", "committed")],
                extra={"committed": str(exc.committed), "budget": str(exc.budget)},
            ) from None
        except ProgrammeConflict as exc:
            raise Problem(409, str(exc)) from None
        except VersionBudgetTooLarge as exc:
            raise Problem(422, str(exc), errors=[field_error("budget", str(exc), "max")]) from None
    if stored.outcome == "created":
        response.status_code = 201
        response.headers["Location"] = f"/v1/programmes/{spec.id}"
    return _shown(stored.version, caller)


@router.get("/{programme_id}", response_model=ProgrammeShown, response_model_exclude_unset=True)
async def read_programme(programme_id: str, caller: CallerDep, pool: PoolDep) -> ProgrammeShown:
    async with pool.acquire() as conn:
        found = await get_programme(conn, programme_id)
    if found is None:
        raise Problem(404, f"no programme {programme_id!r}")
    return _shown(found, caller)


@router.get(
    "/{programme_id}/versions",
    response_model=list[ProgrammeShown],
    response_model_exclude_unset=True,
)
async def read_versions(
    programme_id: str, caller: CallerDep, pool: PoolDep
) -> list[ProgrammeShown]:
    async with pool.acquire() as conn:
        await owned_programme(conn, programme_id, caller, "read its versions")
        versions = await list_versions(conn, programme_id)
    return [_shown(v, caller) for v in versions]


@router.post("/{programme_id}/budget", response_model=Remaining)
async def raise_budget(
    programme_id: str, body: BudgetRaise, caller: CallerDep, pool: PoolDep
) -> Remaining:
    """Raise the budget by `amount`: later acceptances can commit more (rule 9)."""
    async with pool.acquire() as conn:
        version = await owned_programme(conn, programme_id, caller, "raise its budget")
        try:
            await money.raise_budget(conn, programme_id, body.amount)
        except money.BudgetTooLarge as error:
            raise Problem(
                422,
                f"amount: {error}",
                errors=[field_error("amount", str(error), "max")],
            ) from None
        budget = await budget_of(conn, programme_id)
    assert budget is not None
    return Remaining(
        programme=programme_id,
        budget=budget.budget,
        committed=budget.committed,
        remaining=budget.budget - budget.committed,
        currency=version.spec.currency,
    )
