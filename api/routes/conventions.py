"""Rule 18: the line's funder records its convention (DESIGN.md, "Rules 3")."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.commands import ActingDep
from api.models import Body
from api.orders import RECORD_CONVENTION

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


class ConventionSigned(BaseModel):
    """The `ConventionSigned` event's data, with its seq."""

    seq: int
    line: str
    programme: str
    reference: str
    signed_on: dt.date
    ends_on: dt.date | None = None


# What the event holds, no more: a convention without an end has no `ends_on`.
@router.post(
    "/funding-lines/{programme}/convention",
    status_code=201,
    response_model=ConventionSigned,
    response_model_exclude_unset=True,
)
async def record_convention(
    programme: str, body: ConventionRecord, acting: ActingDep
) -> ConventionSigned:
    """The line's funder records its convention, once, after acceptance (rule 18); what a
    required convention held is released at once. 201 with the `ConventionSigned` event."""
    data = body.model_dump(mode="json") | {"line": programme, "by": acting.by}
    event = (await RECORD_CONVENTION(acting, data, programme)).event
    acting.locate(f"events/{event.seq}")
    return ConventionSigned.model_validate({"seq": event.seq, **event.data})


__all__ = ["router"]
