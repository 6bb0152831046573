"""A facilitator invites a cooperation's collective by e-mail: the address becomes a contact of
the collective, and the one e-mail sent to it carries a link that confirms the address and
signs the collective in (DESIGN.md, "Who may get in")."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from api.access import cooperation_seen
from api.auth import CallerDep
from api.deps import PoolDep, SettingsDep
from api.models import Body
from api.problems import Problem
from api.public import require_public_host
from api.routes.me import EmailAddress
from api.web import mails
from store import contacts, readmodel

router = APIRouter(prefix="/v1/cooperations", tags=["cooperations"])


class Invitation(Body):
    email: EmailAddress


class InvitationSent(BaseModel):
    email: str
    sent: bool
    """False when the collective has too many links waiting already: none was made."""


@router.post(
    "/{cooperation_id}/invitations",
    status_code=202,
    response_model=InvitationSent,
    dependencies=[Depends(require_public_host)],
)
async def invite_collective(
    cooperation_id: str,
    body: Invitation,
    caller: CallerDep,
    pool: PoolDep,
    settings: SettingsDep,
    request: Request,
) -> InvitationSent:
    """One e-mail to `email`, whose link confirms it as a contact of the cooperation's
    collective and signs the collective in. The cooperation's facilitator only."""
    async with pool.acquire() as conn:
        seen = await cooperation_seen(conn, caller, cooperation_id)
        if seen.relation != "facilitator":
            raise Problem(403, "only the cooperation's facilitator invites its collective")
        link = await contacts.invite(
            conn,
            "collective",
            seen.id,
            body.email,
            timedelta(minutes=settings.web_link_minutes),
        )
        name = await readmodel.cooperation_name(conn, seen.id)
    if link is not None:
        await mails.send_contact_link(settings, link, mails.locale_for(request), name)
    return InvitationSent(email=body.email, sent=link is not None)
