"""Rule 19 (rules 3): a release is an order to pay. The line's funder records what it paid
(`POST /v1/cooperations/{id}/payments`): each part of that release (or the payee's) becomes
`VersementPaid`, with how many days late it was."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, PositiveInt

from api.access import allow, cooperation_seen
from api.auth import CallerDep
from api.commands import apply, door
from api.deps import PoolDep, TemporalDep
from api.models import Body
from api.problems import Problem
from api.reading import no
from domain import commands as c
from domain.events import Event
from domain.programme import Slug

router = APIRouter(prefix="/v1/cooperations/{cooperation_id}", tags=["cooperations"])


class PaymentRecord(Body):
    line: Slug
    tranche: Slug
    occurrence: PositiveInt | None = None
    """The repeat occurrence (1, 2, …); none for a tranche's first release."""
    payee: Slug | None = None
    """One payee's part; none for every part of that release not yet recorded paid."""
    paid_on: dt.date
    """The day the money was paid: not before the order, not after today."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"line": "coop-2027", "tranche": "amorcage", "paid_on": "2027-05-10"}]
        },
    )


class PaymentsRecorded(BaseModel):
    events: list[Event]
    """One `VersementPaid` per part recorded paid, with `days_late`."""


@router.post("/payments", status_code=201, response_model=PaymentsRecorded)
async def record_paid(
    cooperation_id: str,
    body: PaymentRecord,
    request: Request,
    response: Response,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> PaymentsRecorded:
    """The line's funder records a versement paid (rule 19)."""
    async with pool.acquire() as conn:
        seen = await cooperation_seen(conn, caller, cooperation_id)
    if not seen.sees_line(body.line):
        raise no("funding line", body.line, cooperation_id)
    allow(seen, ("funder",), "record a versement paid (the line's funder does)")
    by = {"role": caller.role, "id": caller.subject}
    command = door(c.RecordPaid, body.model_dump() | {"by": by})
    answer = await apply(request, client, caller, cooperation_id, command)
    paid = [e for e in answer.events if e.type == "VersementPaid"]
    if not paid:
        raise Problem(409, "this request was already taken: it recorded no VersementPaid now")
    response.headers["Location"] = f"/v1/cooperations/{seen.id}/events/{paid[0].seq}"
    return PaymentsRecorded(events=paid)


__all__ = ["router"]
