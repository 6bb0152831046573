"""Rule 20 (rules 3): graduation through HTTP. The facilitator records a member's new legal
form, proposes amendments (avenants) to a line's allocation and ends the hosting; the line's
funder accepts or declines an amendment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, Field, field_validator

from api.access import Seen, allow, cooperation_seen
from api.auth import Caller, CallerDep
from api.commands import apply, door
from api.deps import PoolDep, TemporalDep
from api.models import Body, Text
from api.problems import Problem
from api.reading import no
from domain import commands as c
from domain.allocation import Share
from domain.cooperation import check_allocation
from domain.events import Event
from domain.views import CooperationSummary, LineView
from store.people import member_names
from workflows.models import CommandAnswer

router = APIRouter(prefix="/v1/cooperations/{cooperation_id}", tags=["graduation"])


class Formalising(Body):
    """A member's new legal form (rule 20): one of rule 20's forms, not informal."""

    legal_form: Annotated[str, Field(min_length=1, max_length=100)]
    siret: Annotated[str, Field(max_length=100)] | None = None
    """14 digits."""
    rna: Annotated[str, Field(max_length=100)] | None = None
    """W and 9 digits (répertoire national des associations)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"legal_form": "association", "rna": "W123456789"}]},
    )


class AmendmentAsked(Body):
    """A new allocation for the line (avenant): payees are the fiscal host or members that
    are legal entities, shares summing to 1."""

    allocation: list[Share]

    _allocation = field_validator("allocation")(check_allocation)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"allocation": [{"payee": "asso-ruche", "share": "1"}]}]},
    )


class AmendmentDecision(Body):
    accept: bool
    note: Text | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"accept": True}]})


async def _seen(pool: PoolDep, caller: Caller, cooperation_id: str) -> Seen:
    async with pool.acquire() as conn:
        return await cooperation_seen(conn, caller, cooperation_id)


def _recorded(answer: CommandAnswer, kind: str) -> Event:
    found = next((e for e in answer.events if e.type == kind), None)
    if found is None:
        raise Problem(409, f"this request was already taken: it recorded no {kind} now")
    return found


def _line(summary: CooperationSummary, programme: str, cooperation_id: str) -> LineView:
    line = next((x for x in summary.lines if x.line == programme), None)
    if line is None:
        raise no("funding line", programme, cooperation_id)
    return line


@router.post("/members/{member}/formalise")
async def formalise(
    cooperation_id: str,
    member: str,
    body: Formalising,
    request: Request,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> dict[str, Any]:
    """The facilitator records a member's new legal form (`MemberFormalised`): a member that
    is a legal entity may be paid."""
    seen = await _seen(pool, caller, cooperation_id)
    allow(seen, ("facilitator",), "record a member's legal form (the facilitator does)")
    command = door(c.Formalise, {"member": member, **body.model_dump()})
    answer = await apply(request, client, caller, cooperation_id, command)
    found = next((m for m in answer.state.members if m.id == member), None)
    if found is None:
        raise no("member", member, cooperation_id)
    async with pool.acquire() as conn:
        names = await member_names(conn, cooperation_id)
    return {**found.model_dump(), "name": names.get(member)}


@router.post("/funding-lines/{programme}/amendments", status_code=201, response_model=LineView)
async def propose_amendment(
    cooperation_id: str,
    programme: str,
    body: AmendmentAsked,
    request: Request,
    response: Response,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> LineView:
    """The facilitator proposes a new allocation for a line (`LineAmendmentProposed`); the
    line's releases falling due are held until its funder decides."""
    seen = await _seen(pool, caller, cooperation_id)
    if not seen.sees_line(programme):
        raise no("funding line", programme, cooperation_id)
    allow(seen, ("facilitator",), "propose an amendment (the facilitator does)")
    command = door(c.Amend, {"line": programme, "allocation": body.model_dump()["allocation"]})
    answer = await apply(request, client, caller, cooperation_id, command)
    event = _recorded(answer, "LineAmendmentProposed")
    response.headers["Location"] = f"/v1/cooperations/{cooperation_id}/events/{event.seq}"
    return _line(answer.state, programme, cooperation_id)


@router.post("/funding-lines/{programme}/amendments/decision", response_model=LineView)
async def decide_amendment(
    cooperation_id: str,
    programme: str,
    body: AmendmentDecision,
    request: Request,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> LineView:
    """The line's funder accepts (`LineAmended`: the allocation changes) or declines
    (`LineAmendmentDeclined`) the open amendment; what was held is released at once, to the
    allocation then in force."""
    seen = await _seen(pool, caller, cooperation_id)
    if not seen.sees_line(programme):
        raise no("funding line", programme, cooperation_id)
    allow(seen, ("funder",), "decide on an amendment (the line's funder does)")
    command = door(c.DecideAmendment, {"line": programme, "accept": body.accept, "note": body.note})
    answer = await apply(request, client, caller, cooperation_id, command)
    return _line(answer.state, programme, cooperation_id)


@router.post("/hosting/end", response_model=CooperationSummary)
async def end_hosting(
    cooperation_id: str,
    request: Request,
    caller: CallerDep,
    pool: PoolDep,
    client: TemporalDep,
) -> CooperationSummary:
    """The facilitator ends the hosting (`FiscalHostEnded`) once no line and no unsettled loan
    pays the fiscal host (409 saying which otherwise): the former host keeps what it received
    in its funds, and leaves the cooperation's scope."""
    seen = await _seen(pool, caller, cooperation_id)
    allow(seen, ("facilitator",), "end the hosting (the facilitator does)")
    answer = await apply(request, client, caller, cooperation_id, c.EndHosting())
    return answer.state


__all__ = ["router"]
