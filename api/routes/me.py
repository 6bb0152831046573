"""Who the token says the caller is, and where notifications reach it."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field, field_validator

from api.auth import Caller, CallerDep
from api.deps import PoolDep
from api.models import Body
from store import delivery

router = APIRouter(prefix="/v1", tags=["me"])

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")


class Contacts(Body):
    """Where notifications about the caller's subject are e-mailed (personal data: kept in
    PostgreSQL only, replaced whole by each PUT)."""

    emails: Annotated[list[str], Field(max_length=20)]

    @field_validator("emails")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for i, address in enumerate(value):
            if not _EMAIL.match(address):
                raise ValueError(f"item {i}: not an e-mail address")
        return value


@router.get("/me", response_model=Caller)
async def whoami(caller: CallerDep) -> Caller:
    return caller


@router.put("/me/contacts", response_model=Contacts)
async def put_contacts(body: Contacts, caller: CallerDep, pool: PoolDep) -> Contacts:
    async with pool.acquire() as conn:
        await delivery.put_contacts(conn, caller.role, caller.subject, body.emails)
    return body


@router.get("/me/contacts", response_model=Contacts)
async def get_contacts(caller: CallerDep, pool: PoolDep) -> Contacts:
    async with pool.acquire() as conn:
        return Contacts(emails=await delivery.contacts_of(conn, caller.role, caller.subject))
