"""Rule 19 (rules 3): a release is an order to pay. The line's funder records what it paid
(`POST /v1/cooperations/{id}/payments`): each part of that release (or the payee's) becomes
`VersementPaid`, with how many days late it was."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, PositiveInt

from api.commands import ActingDep
from api.models import Body
from api.orders import RECORD_PAID
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
async def record_paid(body: PaymentRecord, acting: ActingDep) -> PaymentsRecorded:
    """The line's funder records a versement paid (rule 19)."""
    sent = await RECORD_PAID(acting, body.model_dump() | {"by": acting.by}, body.line)
    acting.locate(f"events/{sent.event.seq}")
    return PaymentsRecorded(events=list(sent.answering))


__all__ = ["router"]
