"""Who the token says the caller is, and where notifications reach it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, Field, field_validator

from api.auth import Caller, CallerDep
from api.deps import PoolDep, SettingsDep
from api.models import Body, ContactAddress, ContactsShown
from api.public import require_public_host
from api.web import mails
from store import contacts
from store.db import Conn

router = APIRouter(prefix="/v1", tags=["me"])

_NEVER_IN_AN_ADDRESS = (",", "<", ">", "\r", "\n", ";")


def one_address(value: str) -> str:
    """One e-mail address, parsed as such (RFC 5321/5322 by `email-validator`, no look-up of
    the domain): a list, a display name or a header smuggled in is not one address."""
    if any(c in value for c in _NEVER_IN_AN_ADDRESS):
        raise ValueError("one e-mail address only: no comma, angle bracket or line break")
    try:
        parsed = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"not an e-mail address: {error}") from None
    return parsed.normalized


EMAIL_FORM = (
    r"^[A-Za-z0-9]{1,16}([._+-][A-Za-z0-9]{1,16}){0,2}"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?\.){1,3}"
    r"(?!(arpa|invalid|local|localhost|onion|test)$)[A-Za-z]{2,20}$"
)
"""The addresses the schema promises `one_address` takes (a plain subset of what it takes:
no quoted or internationalised forms, no special-use domain such as .test or .local)."""

EmailAddress = Annotated[
    str,
    # Stated in the schema only: pydantic's regex engine has no look-ahead.
    Field(max_length=254, json_schema_extra={"pattern": EMAIL_FORM}),
    AfterValidator(one_address),
]


class Contacts(Body):
    """Where notifications about the caller's subject are e-mailed (personal data: kept in
    PostgreSQL only, replaced whole by each PUT). A new address is sent one e-mail whose link
    confirms it; until then it receives nothing (no notification, no sign-in link)."""

    emails: Annotated[
        list[EmailAddress],
        Field(max_length=contacts.MAX_ADDRESSES, json_schema_extra={"uniqueItems": True}),
    ]

    @field_validator("emails")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for i, address in enumerate(value):
            if address.lower() in seen:
                raise ValueError(f"item {i}: {address} is given twice")
            seen.add(address.lower())
        return value


@router.get("/me", response_model=Caller)
async def whoami(caller: CallerDep) -> Caller:
    return caller


@router.put(
    "/me/contacts",
    response_model=ContactsShown,
    dependencies=[Depends(require_public_host)],
)
async def put_contacts(
    body: Contacts, caller: CallerDep, pool: PoolDep, settings: SettingsDep, request: Request
) -> ContactsShown:
    lasting = timedelta(minutes=settings.web_link_minutes)
    async with pool.acquire() as conn:
        links = await contacts.replace_addresses(
            conn, caller.role, caller.subject, body.emails, lasting
        )
        shown = await _shown(conn, caller)
    locale = mails.locale_for(request)
    # At once rather than one after another: each send may take up to the mailer's timeout.
    await asyncio.gather(*(mails.send_contact_link(settings, link, locale) for link in links))
    return shown


@router.get("/me/contacts", response_model=ContactsShown)
async def get_contacts(caller: CallerDep, pool: PoolDep) -> ContactsShown:
    async with pool.acquire() as conn:
        return await _shown(conn, caller)


async def _shown(conn: Conn, caller: Caller) -> ContactsShown:
    addresses = await contacts.addresses_of(conn, caller.role, caller.subject)
    return ContactsShown(
        emails=[a.email for a in addresses],
        addresses=[ContactAddress(email=a.email, confirmed=a.confirmed) for a in addresses],
    )
