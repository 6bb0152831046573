"""Rule 20 (rules 3): graduation through HTTP. The facilitator records a member's new legal
form, proposes amendments (avenants) to a line's allocation and ends the hosting; the line's
funder accepts or declines an amendment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import ConfigDict, Field, field_validator

from api.commands import ActingDep
from api.models import Body, Text
from api.orders import AMEND, DECIDE_AMENDMENT, END_HOSTING, FORMALISE
from api.reading import no
from api.routes.actions import line_of
from api.routes.members import MemberShown, members_shown
from domain.allocation import Share
from domain.cooperation import INFORMAL, check_allocation
from domain.lifecycle.graduation import LEGAL_FORMS
from domain.views import CooperationSummary, LineView

router = APIRouter(prefix="/v1/cooperations/{cooperation_id}", tags=["graduation"])


# What the rules check of a new legal form (domain/lifecycle/graduation.py, `formalise`), said
# in the schema only: the rules keep answering first that the cooperation is closed, say.
ENTITIES = [form for form in LEGAL_FORMS if form != INFORMAL]
SIRET = r"^[0-9]{14}$"
RNA = r"^W[0-9]{9}$"


class Formalising(Body):
    """A member's new legal form (rule 20): one of rule 20's forms, not informal."""

    legal_form: Annotated[
        str, Field(min_length=1, max_length=100, json_schema_extra={"enum": ENTITIES})
    ]
    siret: Annotated[str, Field(max_length=100, json_schema_extra={"pattern": SIRET})] | None = None
    """14 digits."""
    rna: Annotated[str, Field(max_length=100, json_schema_extra={"pattern": RNA})] | None = None
    """W and 9 digits (répertoire national des associations)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"legal_form": "association", "rna": "W123456789"}]},
    )


class AmendmentAsked(Body):
    """A new allocation for the line (avenant): payees are the fiscal host or members that
    are legal entities, shares summing to 1."""

    # At least one payee (check_allocation); that the shares add up to 1 no schema can say.
    allocation: Annotated[list[Share], Field(json_schema_extra={"minItems": 1})]

    _allocation = field_validator("allocation")(check_allocation)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"allocation": [{"payee": "asso-ruche", "share": "1"}]}]},
    )


class AmendmentDecision(Body):
    accept: bool
    note: Text | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"accept": True}]})


@router.post("/members/{member}/formalise", response_model=MemberShown)
async def formalise(member: str, body: Formalising, acting: ActingDep) -> MemberShown:
    """The facilitator records a member's new legal form (`MemberFormalised`): a member that
    is a legal entity may be paid."""
    sent = await FORMALISE(acting, {"member": member, **body.model_dump()})
    found = next((m for m in sent.answer.state.members if m.id == member), None)
    if found is None:
        raise no("member", member, acting.cooperation_id)
    return (await members_shown(acting, [found]))[0]


@router.post("/funding-lines/{programme}/amendments", status_code=201, response_model=LineView)
async def propose_amendment(programme: str, body: AmendmentAsked, acting: ActingDep) -> LineView:
    """The facilitator proposes a new allocation for a line (`LineAmendmentProposed`); the
    line's releases falling due are held until its funder decides."""
    data = {"line": programme, "allocation": body.model_dump()["allocation"]}
    sent = await AMEND(acting, data, programme)
    acting.locate(f"events/{sent.event.seq}")
    return line_of(sent.answer.state, programme, acting.cooperation_id)


@router.post("/funding-lines/{programme}/amendments/decision", response_model=LineView)
async def decide_amendment(programme: str, body: AmendmentDecision, acting: ActingDep) -> LineView:
    """The line's funder accepts (`LineAmended`: the allocation changes) or declines
    (`LineAmendmentDeclined`) the open amendment; what was held is released at once, to the
    allocation then in force."""
    data = {"line": programme, "accept": body.accept, "note": body.note}
    sent = await DECIDE_AMENDMENT(acting, data, programme)
    return line_of(sent.answer.state, programme, acting.cooperation_id)


@router.post("/hosting/end", response_model=CooperationSummary)
async def end_hosting(acting: ActingDep) -> CooperationSummary:
    """The facilitator ends the hosting (`FiscalHostEnded`) once no line and no unsettled loan
    pays the fiscal host (409 saying which otherwise): the former host keeps what it received
    in its funds, and leaves the cooperation's scope."""
    return (await END_HOSTING(acting, {})).answer.state


__all__ = ["router"]
