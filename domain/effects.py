"""What the shell must do after a decision: each effect is idempotent by its key."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.money import Amount
from domain.programme import Purpose
from domain.tranche_terms import LoanTerms


class _Effect(BaseModel):
    model_config = ConfigDict(frozen=True)


class Part(_Effect):
    payee: str
    amount: Amount


class Release(_Effect):
    """One release (versement) of a tranche: one ledger posting per part."""

    type: Literal["release"] = "release"
    line: str
    programme: str
    tranche: str
    occurrence: int | None = None
    purpose: Purpose
    kind: Literal["release", "loan"]
    amount: Amount
    currency: str
    parts: list[Part]
    beneficiary: str
    at: datetime
    key: str
    due_by: date | None = None
    """Rule 19 (rules 3): each part is due by this date (the programme's payment_within)."""


class PostRepayment(_Effect):
    """A loan repayment to post in the ledger, to the funder that lent."""

    type: Literal["post_repayment"] = "post_repayment"
    line: str
    programme: str
    tranche: str
    purpose: Purpose
    amount: Amount
    currency: str
    payee: str
    beneficiary: str
    at: datetime
    key: str


class RequestCommitment(_Effect):
    """Commit a line's whole potential against its programme's budget (rule 9); the shell
    answers with a `commitment_committed` or `commitment_refused` command."""

    type: Literal["request_commitment"] = "request_commitment"
    line: str
    programme: str
    version: int
    amount: Amount
    currency: str
    cap: Amount | None
    key: str


class FreeCommitment(_Effect):
    type: Literal["free_commitment"] = "free_commitment"
    line: str
    programme: str
    amount: Amount
    currency: str
    key: str


class Notify(_Effect):
    """Tell a role (and the subject when known) about an event; the shell finds contacts."""

    type: Literal["notify"] = "notify"
    to_role: Literal["facilitator", "funder", "collective"]
    to: str | None
    about: str
    seq: int


class RenderReport(_Effect):
    type: Literal["render_report"] = "render_report"
    line: str
    programme: str
    period: int
    start: datetime = Field(alias="from")
    to: datetime
    final: bool
    seq: int

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)


class StartLoan(_Effect):
    """Start the loan's own clock (a child workflow reached by `key`)."""

    type: Literal["start_loan"] = "start_loan"
    line: str
    tranche: str
    principal: Amount
    terms: LoanTerms
    disbursed: date
    key: str


Effect = Annotated[
    Release
    | PostRepayment
    | RequestCommitment
    | FreeCommitment
    | Notify
    | RenderReport
    | StartLoan,
    Field(discriminator="type"),
]
