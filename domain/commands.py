"""Commands: what actors (through the API, or a scenario step) ask of a cooperation.

`request_id` is carried for the shell's idempotency; the rules ignore it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from domain.cooperation import Angle, CooperationSpec, LineRequest, MemberSpec
from domain.money import Amount
from domain.programme import Outcome, Phase, ProgrammeVersion, Slug

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Indicators = dict[Annotated[str, Field(min_length=1, max_length=100)], int | float | str]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str | None = None


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["funder", "facilitator", "collective"]
    id: str


class Register(_Command):
    kind: Literal["register"] = "register"
    cooperation: CooperationSpec
    programmes: list[ProgrammeVersion]
    # Scenario lines are taken as accepted: the shell has already committed them (rule 9).
    # API lines are proposals waiting for their funder.
    lines_accepted: bool = False


class ProposeLine(_Command):
    kind: Literal["propose_line"] = "propose_line"
    line: LineRequest
    programme: ProgrammeVersion


class AcceptLine(_Command):
    kind: Literal["accept_line"] = "accept_line"
    line: str


class CommitmentCommitted(_Command):
    kind: Literal["commitment_committed"] = "commitment_committed"
    line: str


class CommitmentRefused(_Command):
    kind: Literal["commitment_refused"] = "commitment_refused"
    line: str
    reason: str = ""


class DeclineLine(_Command):
    kind: Literal["decline_line"] = "decline_line"
    line: str
    note: str | None = None


class Advance(_Command):
    kind: Literal["advance"] = "advance"
    to: Phase | None = None


class Restart(_Command):
    kind: Literal["restart"] = "restart"
    to: Phase | None = None
    reason: Text


class Pivot(_Command):
    kind: Literal["pivot"] = "pivot"
    objectives: Text
    reason: Text


class Pause(_Command):
    kind: Literal["pause"] = "pause"
    reason: str | None = None


class Resume(_Command):
    kind: Literal["resume"] = "resume"


class Close(_Command):
    kind: Literal["close"] = "close"
    outcome: Outcome


class SubmitCheckIn(_Command):
    kind: Literal["submit_check_in"] = "submit_check_in"
    check_in_id: Slug
    period: PositiveInt | None = None
    # Numbers and short texts only: the narrative stays in Postgres, out of history.
    indicators: Indicators = {}


class ReviewCheckIn(_Command):
    kind: Literal["review_check_in"] = "review_check_in"
    check_in_id: str | None = None
    period: PositiveInt | None = None
    decision: Literal["accepted", "changes_requested"]


class ApproveTranche(_Command):
    kind: Literal["approve_tranche"] = "approve_tranche"
    line: str
    tranche: str
    by: Actor


class RecordRepayment(_Command):
    kind: Literal["record_repayment"] = "record_repayment"
    line: str
    tranche: str
    amount: Amount
    installment: PositiveInt | None = None


class RequestTransition(_Command):
    kind: Literal["request_transition"] = "request_transition"
    action: Literal["advance", "restart", "pivot", "pause", "resume", "close"]
    to: Phase | None = None
    reason: Text


class MemberJoin(_Command):
    kind: Literal["member_join"] = "member_join"
    member: MemberSpec


class MemberLeave(_Command):
    kind: Literal["member_leave"] = "member_leave"
    member_id: str


Command = Annotated[
    Register
    | ProposeLine
    | AcceptLine
    | CommitmentCommitted
    | CommitmentRefused
    | DeclineLine
    | Advance
    | Restart
    | Pivot
    | Pause
    | Resume
    | Close
    | SubmitCheckIn
    | ReviewCheckIn
    | ApproveTranche
    | RecordRepayment
    | RequestTransition
    | MemberJoin
    | MemberLeave,
    Field(discriminator="kind"),
]

__all__ = [
    "AcceptLine",
    "Actor",
    "Advance",
    "Angle",
    "ApproveTranche",
    "Close",
    "Command",
    "CommitmentCommitted",
    "CommitmentRefused",
    "DeclineLine",
    "MemberJoin",
    "MemberLeave",
    "Pause",
    "Pivot",
    "ProposeLine",
    "RecordRepayment",
    "Register",
    "RequestTransition",
    "Restart",
    "Resume",
    "ReviewCheckIn",
    "SubmitCheckIn",
]
