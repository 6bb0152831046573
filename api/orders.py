"""Who may send which command to a cooperation, in one table (DESIGN.md, "HTTP API (v1), by
role"; tests/api/test_authorization_matrix.py checks it route by route).

Each row is an `Order` (api/commands.py): the relations allowed (any other in scope is 403),
what the 403 says they may not do, the domain command built at the door, the event that
answers it, and the shared part it acts on when a fiscal host may not even see it (404). An
order sent on a line (`line=`) is also 404 to a funder that does not fund it.
"""

from __future__ import annotations

from api.access import Relation
from api.commands import Order
from domain import commands as c

FACILITATOR: tuple[Relation, ...] = ("facilitator",)
FUNDER: tuple[Relation, ...] = ("funder",)
COLLECTIVE: tuple[Relation, ...] = ("collective",)
THE_FUNDERS = "(the line's funder does)"

# -- funding lines (rules 9, 15, 17, 18, 19, 20) ---------------------------------------------
PROPOSE_LINE = Order(FACILITATOR, "propose a funding line", c.ProposeLine)
ACCEPT_LINE = Order(FUNDER, "decide on a funding line", c.AcceptLine)
DECLINE_LINE = Order(FUNDER, "decide on a funding line", c.DeclineLine)
RECORD_CONVENTION = Order(
    FUNDER, f"record a convention {THE_FUNDERS}", c.RecordConvention, answers="ConventionSigned"
)
RECORD_PAID = Order(
    FUNDER, f"record a versement paid {THE_FUNDERS}", c.RecordPaid, answers="VersementPaid"
)
AMEND = Order(
    FACILITATOR,
    "propose an amendment (the facilitator does)",
    c.Amend,
    answers="LineAmendmentProposed",
)
DECIDE_AMENDMENT = Order(FUNDER, f"decide on an amendment {THE_FUNDERS}", c.DecideAmendment)

# -- moves (rules 2, 5, 6, 7) and the collective's requests (rule 15) -------------------------
Move = c.Advance | c.Restart | c.Pivot | c.Pause | c.Resume | c.Close
MOVES = {
    action: Order(FACILITATOR, "move the cooperation", model) for action, model in c.MOVES.items()
}
REQUEST_TRANSITION = Order(
    COLLECTIVE,
    "request a transition (the collective asks)",
    c.RequestTransition,
    answers="TransitionRequested",
    answers_may_be_gone=True,
    shared="transition requests",
)
DECLINE_REQUEST = Order(
    FACILITATOR,
    "decline a transition request (the facilitator decides)",
    c.DeclineTransitionRequest,
    shared="transition requests",
)

# -- check-ins and reviews (rule 8) ------------------------------------------------------------
SUBMIT_CHECK_IN = Order(
    COLLECTIVE,
    "submit a check-in (the collective does)",
    c.SubmitCheckIn,
    answers="CheckInSubmitted",
    shared="check-ins",
)
REVIEW_CHECK_IN = Order(
    FACILITATOR,
    "review a check-in (the facilitator does)",
    c.ReviewCheckIn,
    answers="CheckInReviewed",
    shared="check-ins",
)

# -- approvals, repayments, write-offs (rules 3, 11) -------------------------------------------
APPROVE = Order(("facilitator", "funder"), "approve a tranche", c.ApproveTranche)
REPAY = Order(
    FUNDER, f"record a repayment {THE_FUNDERS}", c.RecordRepayment, answers="RepaymentRecorded"
)
WRITE_OFF = Order(FUNDER, f"write off a loan {THE_FUNDERS}", c.WriteOff, answers="LoanWrittenOff")

# -- members and hosting (rules 15, 20) --------------------------------------------------------
ADD_MEMBER = Order(FACILITATOR, "add a member", c.MemberJoin)
REMOVE_MEMBER = Order(FACILITATOR, "remove a member", c.MemberLeave)
FORMALISE = Order(FACILITATOR, "record a member's legal form (the facilitator does)", c.Formalise)
END_HOSTING = Order(FACILITATOR, "end the hosting (the facilitator does)", c.EndHosting)
