"""Cooperations: registered by facilitators, each followed by its own workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Response
from pydantic import ValidationError
from temporalio.client import WorkflowQueryRejectedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import DocumentDep, PoolDep, SettingsDep, TemporalDep
from api.problems import Problem, invalid, refusal
from domain.commands import Register
from domain.cooperation import CooperationSpec
from domain.errors import DomainError
from domain.lifecycle import decide
from domain.limits import at_door
from domain.programme import ProgrammeVersion
from domain.rules import RULES_VERSION
from domain.views import CooperationSummary
from runtime.temporal import cooperation_workflow_id
from store.people import keep_names, nameless
from store.programmes import get_programme
from workflows.client import CommandRefused, refused_by, register
from workflows.cooperation import CooperationWorkflow

router = APIRouter(prefix="/v1/cooperations", tags=["cooperations"])


def _unknown_programme(index: int, programme_id: str) -> Problem:
    return Problem(
        422,
        f"funding_lines.{index}: no programme {programme_id!r}",
        errors=[
            {
                "path": f"funding_lines.{index}",
                "pointer": f"/funding_lines/{index}",
                "message": f"no programme {programme_id!r}",
                "type": "unknown_programme",
            }
        ],
    )


@router.post("", status_code=201)
async def register_cooperation(
    body: DocumentDep,
    pool: PoolDep,
    client: TemporalDep,
    settings: SettingsDep,
    response: Response,
) -> CooperationSummary:
    try:
        spec = at_door(CooperationSpec, body)
    except ValidationError as exc:
        raise invalid(exc) from None
    versions: list[ProgrammeVersion] = []
    async with pool.acquire() as conn:
        for i, line in enumerate(spec.funding_lines):
            found = await get_programme(conn, line.programme)
            if found is None:
                raise _unknown_programme(i, line.programme)
            versions.append(found)
        if await conn.fetchval("SELECT 1 FROM cooperations WHERE id = $1", spec.id):
            raise Problem(409, f"cooperation {spec.id!r} is already registered")
    # Lines given at registration through the API are proposals (rule 15). Names stay out
    # of the workflow's history; they are stored once the cooperation exists.
    command = Register(
        cooperation=nameless(spec),
        programmes=versions,
        lines_accepted=False,
        rules_version=RULES_VERSION,
    )
    try:
        # The rules first, here: a registration they refuse starts no workflow at all.
        decide(None, command, datetime.now(UTC))
        answer = await register(client, command, task_queue=settings.task_queue)
    except DomainError as error:
        raise refusal(refused_by(error)) from None
    except CommandRefused as refused:
        raise refusal(refused) from None
    async with pool.acquire() as conn:
        await keep_names(conn, spec)
    response.headers["Location"] = f"/v1/cooperations/{spec.id}"
    return answer.state


@router.get("/{cooperation_id}")
async def read_cooperation(
    cooperation_id: str, client: TemporalDep, pool: PoolDep
) -> CooperationSummary:
    # The live workflow is the source of truth; its Postgres projection answers when the
    # workflow cannot (ended past retention, or no worker polling right now).
    handle = client.get_workflow_handle(cooperation_workflow_id(cooperation_id))
    try:
        return await handle.query(CooperationWorkflow.state, rpc_timeout=timedelta(seconds=5))
    except (RPCError, WorkflowQueryRejectedError) as exc:
        async with pool.acquire() as conn:
            projected = await conn.fetchval(
                "SELECT state FROM cooperations WHERE id = $1", cooperation_id
            )
        if projected is not None:
            return CooperationSummary.model_validate(projected)
        if isinstance(exc, RPCError) and exc.status != RPCStatusCode.NOT_FOUND:
            raise Problem(
                503, f"cooperation {cooperation_id!r} cannot be read now: {exc}"
            ) from None
        raise Problem(404, f"no cooperation {cooperation_id!r}") from None
