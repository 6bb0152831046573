"""Domain events (rule 13): every state change, numbered per cooperation from 1.

`data` carries ids, phases, periods, amounts as decimal strings and instants as ISO 8601
UTC strings: never a person's name or contact, so the log can be kept while people are
erased.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, PositiveInt

EventType = Literal[
    "CooperationRegistered",
    "FundingLineProposed",
    "FundingLineAttached",
    "FundingLineDeclined",
    "PhaseEntered",
    "CheckInSubmitted",
    "CheckInReviewed",
    "CheckInReminderSent",
    "CheckInOverdue",
    "TrancheApproved",
    "TrancheReleased",
    "CommitmentReleased",
    "Pivoted",
    "Restarted",
    "Paused",
    "Resumed",
    "PhaseOverran",
    "TransitionRequested",
    "TransitionRequestDeclined",
    "MemberJoined",
    "MemberLeft",
    "ReportIssued",
    "LoanInstallmentReminderSent",
    "LoanInstallmentDue",
    "LoanInstallmentOverdue",
    "RepaymentRecorded",
    "LoanWrittenOff",
    "Closed",
    # Rules 3 (rules 17 to 20 of DESIGN.md): the convention, the money really paid, graduation.
    "ConventionSigned",
    "VersementPaid",
    "VersementLate",
    "MemberFormalised",
    "LineAmendmentProposed",
    "LineAmended",
    "LineAmendmentDeclined",
    "FiscalHostEnded",
]

EVENT_TYPES: tuple[str, ...] = get_args(EventType)


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: PositiveInt
    type: EventType
    at: datetime
    data: dict[str, Any] = {}


def instant(moment: datetime) -> str:
    """An instant as event data shows it: ISO 8601 UTC with a Z."""
    # What strftime("%Y-%m-%dT%H:%M:%SZ") gives (its year unpadded, as glibc's), without it:
    # strftime imports `time` at every call, which in a workflow goes through the sandbox's
    # importer and cost more than the rest of a summary.
    m = moment
    return f"{m.year}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"
