"""A funder's inbox: what waits for it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from api.models.base import Action
from domain.money import DecimalText
from domain.programme import Phase


def decimal_text(value: Decimal) -> str:
    return format(value, "f")


class InboxPayee(BaseModel):
    """One payee of a proposed line (rule 10): the fiscal host, or a member that is a legal
    entity."""

    payee: str
    share: DecimalText
    kind: Literal["fiscal_host", "member"]
    name: str | None = None
    """A member's name (an organisation's: money never goes to an informal member) where the
    cooperation gave one; None for the fiscal host, known by its id only, or once erased."""


class InboxGrant(BaseModel):
    """Rule 17: the bounds of the amount a funder grants a line of a granted programme, and
    what accepting commits besides it (the loans' principals)."""

    min: DecimalText | None = None
    max: DecimalText | None = None
    besides: DecimalText


class _OfCooperation(BaseModel):
    """What the funder's inbox says of the cooperation each item is about."""

    cooperation: str
    name: str
    phase: Phase


class ProposedLine(_OfCooperation):
    """A line proposed to the funder: what accepting it commits, and to whom it pays."""

    facilitator: str | None
    version: int
    """The programme version the line would keep."""
    amount: DecimalText | None
    """What accepting commits: the line's whole potential (rule 9); None for a granted
    programme, whose funder gives the amount when accepting (rule 17: see `grant`)."""
    currency: str
    grant: InboxGrant | None = None
    """Rule 17: what the funder may grant, for a line of a granted programme."""
    payees: list[InboxPayee]
    facilitator_is_payee: bool
    """The facilitator proposing the line would itself be paid by it."""


class AwaitedApproval(_OfCooperation):
    tranches: list[str]


class AwaitedConvention(_OfCooperation):
    """A line whose programme requires a convention not yet recorded (rule 18)."""


class InboxRequest(BaseModel):
    cooperation: str
    seq: int
    action: Action
    reason: str
    at: str


class VersementToPay(BaseModel):
    """Rule 19 (rules 3): a versement ordered and not yet recorded paid."""

    cooperation: str
    name: str
    line: str
    tranche: str
    occurrence: int | None = None
    kind: Literal["release", "loan"]
    payee: str
    amount: DecimalText
    currency: str
    ordered_at: dt.datetime
    due_by: dt.date | None = None
    late: bool
    """Its due date has passed."""


class InboxAmendment(_OfCooperation):
    """Rule 20: an amendment (avenant) of one of the funder's lines to confirm: who the line
    pays now, and who it would pay. Its releases falling due are held until the decision."""

    seq: int
    proposed_at: str
    payees: list[InboxPayee]
    current: list[InboxPayee]


class Inbox(BaseModel):
    """What waits for a programme's funder."""

    programme: str
    proposed_lines: list[ProposedLine]
    approvals_awaited: list[AwaitedApproval]
    requests: list[InboxRequest]
    conventions_awaited: list[AwaitedConvention] = []
    """Rule 18: lines whose releases are held until their convention is recorded."""
    versements_to_pay: list[VersementToPay] = []
    """Rule 19: versements of its lines ordered and not yet paid, the soonest due first."""
    amendments: list[InboxAmendment] = []

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "programme": "fondation-territoires-2027",
                    "proposed_lines": [
                        {
                            "cooperation": "ressourcerie-du-bourg",
                            "name": "Ressourcerie du Bourg",
                            "phase": "emergence",
                            "facilitator": "pole-107",
                            "version": 1,
                            "amount": "15000.00",
                            "currency": "EUR",
                            "payees": [
                                {"payee": "pole-107", "share": "0.6", "kind": "fiscal_host"},
                                {
                                    "payee": "atelier-velo",
                                    "share": "0.4",
                                    "kind": "member",
                                    "name": "Atelier vélo (association)",
                                },
                            ],
                            "facilitator_is_payee": True,
                        }
                    ],
                    "approvals_awaited": [],
                    "requests": [],
                }
            ]
        }
    )
