"""Rule 18: the line's funder records its convention (DESIGN.md, "Rules 3")."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, Field

from api.access import allow, cooperation_seen
from api.auth import CallerDep
from api.commands import apply, door
from api.deps import PoolDep, TemporalDep
from api.models import Body
from api.problems import Problem
from api.reading import no
from domain import commands as c

router = APIRouter(prefix="/v1/cooperations/{cooperation_id}", tags=["cooperations"])


class ConventionRecord(Body):
    """A line's convention: its reference, the day it was signed, the day it ends if any."""

    reference: Annotated[str, Field(min_length=1, max_length=100)]
    signed_on: dt.date
    ends_on: dt.date | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"reference": "CONV-2027-014", "signed_on": "2027-02-12", "ends_on": "2028-02-11"}
            ]
        },
    )


@router.post("/funding-lines/{programme}/convention", status_code=201)
async def record_convention(
    cooperation_id: str,
    programme: str,
    body: ConventionRecord,
    request: Request,
    response: Response,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> dict[str, Any]:
    """The line's funder records its convention, once, after acceptance (rule 18); what a
    required convention held is released at once. 201 with the `ConventionSigned` event."""
    async with pool.acquire() as conn:
        seen = await cooperation_seen(conn, caller, cooperation_id)
    if not seen.sees_line(programme):
        raise no("funding line", programme, cooperation_id)
    allow(seen, ("funder",), "record a convention (the line's funder does)")
    command = door(
        c.RecordConvention,
        body.model_dump(mode="json")
        | {"line": programme, "by": {"role": caller.role, "id": caller.subject}},
    )
    answer = await apply(request, client, caller, cooperation_id, command)
    event = next((e for e in answer.events if e.type == "ConventionSigned"), None)
    if event is None:
        raise Problem(409, "this request was already taken: it recorded no ConventionSigned now")
    response.headers["Location"] = f"/v1/cooperations/{seen.id}/events/{event.seq}"
    return {"seq": event.seq, **event.data}


__all__ = ["router"]
