"""Cooperations: registered by facilitators, each followed by its own workflow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, ValidationError
from temporalio.client import WorkflowQueryRejectedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import DocumentDep, PoolDep, SettingsDep, TemporalDep
from api.problems import Problem, invalid
from domain.programme import Phase, Slug
from runtime.temporal import cooperation_workflow_id
from store.programmes import get_programme
from workflows.cooperation import CooperationWorkflow
from workflows.models import CooperationStart, CooperationView

router = APIRouter(prefix="/v1/cooperations", tags=["cooperations"])


class LineProposal(BaseModel):
    model_config = ConfigDict(extra="allow")
    programme: Slug


class CooperationIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: Slug
    name: str
    facilitator: Slug | None = None
    start_phase: Phase = Phase.emergence
    funding_lines: list[Slug | LineProposal] = []


@router.post("", status_code=201)
async def register_cooperation(
    body: DocumentDep,
    pool: PoolDep,
    client: TemporalDep,
    settings: SettingsDep,
    response: Response,
) -> dict[str, Any]:
    try:
        spec = CooperationIn.model_validate(body)
    except ValidationError as exc:
        raise invalid(exc) from None
    programmes = [p if isinstance(p, str) else p.programme for p in spec.funding_lines]
    async with pool.acquire() as conn:
        for i, programme_id in enumerate(programmes):
            if await get_programme(conn, programme_id) is None:
                raise Problem(
                    422,
                    f"funding_lines.{i}: no programme {programme_id!r}",
                    errors=[
                        {
                            "path": f"funding_lines.{i}",
                            "pointer": f"/funding_lines/{i}",
                            "message": f"no programme {programme_id!r}",
                            "type": "unknown_programme",
                        }
                    ],
                )
    start = CooperationStart(
        cooperation_id=spec.id,
        name=spec.name,
        facilitator=spec.facilitator,
        programmes=programmes,
        start_phase=spec.start_phase.value,
    )
    try:
        await client.start_workflow(
            CooperationWorkflow.run,
            start,
            id=cooperation_workflow_id(spec.id),
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        raise Problem(409, f"cooperation {spec.id!r} is already registered") from None
    response.headers["Location"] = f"/v1/cooperations/{spec.id}"
    return CooperationView(
        id=spec.id,
        name=spec.name,
        phase=start.start_phase,
        facilitator=spec.facilitator,
        programmes=programmes,
    ).model_dump(mode="json")


@router.get("/{cooperation_id}")
async def read_cooperation(
    cooperation_id: str, client: TemporalDep, pool: PoolDep
) -> dict[str, Any]:
    # The live workflow is the source of truth; its Postgres projection answers when the
    # workflow cannot (ended past retention, or no worker polling right now).
    handle = client.get_workflow_handle(cooperation_workflow_id(cooperation_id))
    try:
        view: CooperationView = await handle.query(
            CooperationWorkflow.state, rpc_timeout=timedelta(seconds=5)
        )
        return view.model_dump(mode="json")
    except (RPCError, WorkflowQueryRejectedError) as exc:
        async with pool.acquire() as conn:
            projected = await conn.fetchval(
                "SELECT state FROM cooperations WHERE id = $1", cooperation_id
            )
        if projected is not None:
            return dict(projected)
        if isinstance(exc, RPCError) and exc.status != RPCStatusCode.NOT_FOUND:
            raise Problem(
                503, f"cooperation {cooperation_id!r} cannot be read now: {exc}"
            ) from None
        raise Problem(404, f"no cooperation {cooperation_id!r}") from None
