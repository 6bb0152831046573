"""Answers listing what a caller reads: programmes, reports, open requests, webhooks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.durations import IsoDuration
from domain.money import Amount
from domain.programme import Amounts, GrantBounds, Locale, Phase, PhaseSpec


class ProgrammeShown(BaseModel):
    """A programme's spec with its version. Its budget, cap, grant bounds and tranche amounts
    are shown to its funder only: to others they are left out, not null."""

    version: int
    id: str
    name: str
    funder: str
    currency: str
    budget: Amount | None = None
    locale: Locale
    requires_lead: bool
    cap_per_cooperation: Amount | None = None
    amounts: Amounts | None = None
    grant: GrantBounds | None = None
    convention: Literal["required"] | None = None
    phases: dict[Phase, PhaseSpec]
    payment_within: IsoDuration | None = None


class ReportListed(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    cooperation: str
    line: str
    period: int
    from_: str = Field(alias="from")
    """The period's first instant (ISO 8601)."""
    to: str
    final: bool
    locale: str
    href: str


class Report(ReportListed):
    content: dict[str, Any]
    """The report's content as rule 12 builds it (see DESIGN.md)."""


class QueuedRequest(BaseModel):
    """A collective's transition request, as a facilitator's queue lists it."""

    cooperation: str
    name: str
    """The cooperation's name: pages name it, not its id."""
    seq: int
    action: str
    to: str | None
    reason: str
    status: Literal["open", "answered", "declined"]
    at: str
    decided_at: str | None


class WebhookShown(BaseModel):
    id: str
    url: str
    events: list[str] | None
    """The event types sent; null for all of them."""
    created_at: str


class WebhookDeleted(WebhookShown):
    deleted: Literal[True] = True


class DeliveryTry(BaseModel):
    at: str
    status_code: int | None
    error: str | None
    duration_ms: int | None


class Delivery(BaseModel):
    id: int
    cooperation: str
    seq: int
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    delivered_at: str | None
    tries: list[DeliveryTry]


class Deliveries(BaseModel):
    items: list[Delivery]
    next_after: int
    """Pass it as `after` for the next page."""


class Resent(BaseModel):
    id: int
    status: Literal["pending"] = "pending"


class ContactAddress(BaseModel):
    email: str
    confirmed: bool
    """Whether its owner used the link e-mailed to it: only confirmed addresses are written to."""


class ContactsShown(BaseModel):
    emails: list[str]
    """Every address, confirmed or not (as before confirmation existed)."""
    addresses: list[ContactAddress]
