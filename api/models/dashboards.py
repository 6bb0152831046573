"""A funder's dashboard and a fiscal host's funds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.money import DecimalText
from domain.programme import Outcome, Phase, Purpose


class MonthlyRelease(BaseModel):
    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
    """YYYY-MM, in UTC."""
    purpose: Purpose
    amount: DecimalText


class DashboardLoans(BaseModel):
    """The programme's loans: those still running (`open`, what they still expect, those with
    an installment in arrears), and those written off (settled by their funder: how many,
    and what the schedules still expected when they were)."""

    open: int
    outstanding: DecimalText
    in_arrears: int
    outstanding_in_arrears: DecimalText
    written_off: DecimalText
    written_off_count: int


class ReleasedByPurposeAndPhase(BaseModel):
    purpose: Purpose
    phase: Phase
    kind: Literal["release", "loan"]
    amount: DecimalText


class Dashboard(BaseModel):
    """A programme as its funder follows it; amounts in the programme's currency."""

    programme: str
    version: int
    currency: str
    budget: DecimalText
    committed: DecimalText
    remaining: DecimalText
    released: DecimalText
    freed: DecimalText
    released_by_purpose: dict[str, DecimalText]
    animation: DecimalText
    released_by_purpose_and_phase: list[ReleasedByPurposeAndPhase]
    releases_over_time: list[MonthlyRelease]
    """Released per month (UTC) and purpose, by month then purpose: a month or a purpose with
    nothing released is left out."""
    lines: dict[str, int]
    """Lines by status (proposed, active, declined)."""
    cooperations_per_phase: dict[str, int]
    """Cooperations with an active line, by phase (by outcome once closed)."""
    overdue_check_ins: int
    loans: DashboardLoans
    versements_late: int = 0
    """Rule 19: versements of its lines past their due date and not yet paid."""
    versements_late_amount: DecimalText = Decimal("0.00")


class HostedLine(BaseModel):
    line: str
    released: DecimalText
    loans: DecimalText
    repaid: DecimalText
    unpaid: DecimalText = Decimal("0.00")
    """Rule 19: of `released` and `loans`, what is ordered and not yet paid."""


class HostedVersement(BaseModel):
    """Rule 19 (rules 3): one versement to the host, ordered or paid, with its dates."""

    line: str
    tranche: str
    occurrence: int | None = None
    kind: Literal["release", "loan"]
    amount: DecimalText
    ordered_at: dt.datetime
    due_by: dt.date | None = None
    paid_on: dt.date | None = None
    status: Literal["ordered", "paid"]


class CarriedMember(BaseModel):
    member: str
    name: str | None = None
    """None once erased."""


class HostedFunds(BaseModel):
    """What a fiscal host received for one cooperation it carries, in one currency."""

    cooperation: str
    name: str
    phase: Phase
    outcome: Outcome | None = None
    currency: str | None
    """None for a cooperation with no funding line yet (nothing received)."""
    received: DecimalText
    """Grants released plus loans disbursed to the host, less what is ordered and not yet
    paid (rule 19): what it was paid."""
    released: DecimalText
    loans: DecimalText
    repaid: DecimalText
    """Repayments recorded on the loans the host received (all of each repayment, also when
    the loan was split with another payee)."""
    unpaid: DecimalText = Decimal("0.00")
    """Rule 19 (rules 3): ordered to the host and not yet paid, never counted as received."""
    by_line: list[HostedLine]
    versements: list[HostedVersement] = []
    """Rule 19 (rules 3): each versement to the host, ordered or paid, oldest first."""
    informal_members: list[CarriedMember]
    """The members the host receives for: the ledger credits the cooperation as a whole
    (rule 10), never one member, so amounts are not split between them."""
    hosting_ended_at: str | None = None
    """Rule 20: when its hosting ended (the collective graduated); None while it hosts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cooperation": "ressourcerie-du-bourg",
                    "name": "Ressourcerie du Bourg",
                    "phase": "emergence",
                    "outcome": None,
                    "currency": "EUR",
                    "received": "28000.00",
                    "released": "8000.00",
                    "loans": "20000.00",
                    "repaid": "100.00",
                    "by_line": [
                        {
                            "line": "fondation-territoires-2027",
                            "released": "8000.00",
                            "loans": "0.00",
                            "repaid": "0.00",
                        },
                        {
                            "line": "capital-patient",
                            "released": "0.00",
                            "loans": "20000.00",
                            "repaid": "100.00",
                        },
                    ],
                    "informal_members": [
                        {"member": "habitants-bourg", "name": "Collectif des habitants"}
                    ],
                }
            ]
        }
    )
