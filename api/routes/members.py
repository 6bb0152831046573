"""A cooperation's members (rule 15): the facilitator adds and removes them; everyone in scope
reads them. A member's name stays out of the workflow: PostgreSQL keeps it."""

from __future__ import annotations

from fastapi import APIRouter

from api.commands import Acting, ActingDep
from api.models import MemberJoining
from api.orders import ADD_MEMBER, REMOVE_MEMBER
from api.reading import current_summary, no
from domain.cooperation import Member
from domain.views import CooperationSummary
from store.people import keep_member, member_names

router = APIRouter(prefix="/v1/cooperations/{cooperation_id}", tags=["cooperations"])


class MemberShown(Member):
    """A member, with its name when PostgreSQL still keeps it (none once erased)."""

    name: str | None


@router.post("/members", status_code=201, response_model=MemberShown)
async def add_member(body: MemberJoining, acting: ActingDep) -> MemberShown:
    await ADD_MEMBER.may(acting)
    # The name stays out of the workflow: stored here once the member has joined.
    spec = body.model_dump()
    command = ADD_MEMBER.door({"member": spec | {"name": spec["id"]}})
    await ADD_MEMBER.send(acting, command)
    async with acting.pool.acquire() as conn:
        await keep_member(conn, acting.cooperation_id, body.id, body.name)
    acting.locate(f"members/{body.id}")
    return MemberShown(**Member.of(command.member).model_dump(), name=body.name)


@router.get("/members", response_model=list[MemberShown])
async def list_members(acting: ActingDep) -> list[MemberShown]:
    return await members_shown(acting)


@router.get("/members/{member}", response_model=MemberShown)
async def read_member(member: str, acting: ActingDep) -> MemberShown:
    found = [m for m in await members_shown(acting) if m.id == member]
    if not found:
        raise no("member", member, acting.cooperation_id)
    return found[0]


@router.delete("/members/{member}", response_model=CooperationSummary)
async def remove_member(member: str, acting: ActingDep) -> CooperationSummary:
    # Its name is erased as its departure is projected (store.people.forget_departed), not
    # here: an answer lost on its way back must leave no name behind.
    sent = await REMOVE_MEMBER(acting, {"member_id": member})
    return sent.answer.state


async def members_shown(acting: Acting, members: list[Member] | None = None) -> list[MemberShown]:
    """The cooperation's members (or `members` of it) with their names."""
    if members is None:
        members = (await current_summary(acting.client, acting.pool, await acting.seen())).members
    async with acting.pool.acquire() as conn:
        names = await member_names(conn, acting.cooperation_id)
    return [MemberShown(**m.model_dump(), name=names.get(m.id)) for m in members]


__all__ = ["router"]
