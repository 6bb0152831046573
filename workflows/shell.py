"""The cooperation workflow's limits, names and messages, in one place: what a run may grow
to before it continues as new, how effects are retried, the patch ids of its shapes, the loan
workflow's signals, and how a refusal is said. The parts the workflow is composed of are in
workflows/parts/; the story itself (wait, react, record, continue) in workflows/cooperation.py.

Outside the sandbox (passed through, not re-imported for every workflow).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from activities.models import CommitResult
from domain import commands as c
from domain.errors import DomainError
from workflows.models import CommandRequest

# Updates per run (the server caps a run at 2,000).
UPDATE_BUDGET = 500
# A quiet cooperation (say, closed and waiting for its loan) still starts a fresh run every
# few years: servers may bound a run's duration (the time-skipping one to ten years).
RUN_AGE_LIMIT = timedelta(days=5 * 365)
# Past this many history events a run continues even with effects still failing, carrying
# them (Temporal refuses a history past 51,200 events).
HISTORY_HARD_LIMIT = 20_000
# Request ids remembered for idempotency across continue-as-new: a window, not forever
# (repayments are idempotent for ever by the loan's own record of them).
ANSWER_WINDOW = 200
RECENT_EVENTS = 100
# A registration update that never comes (a client gone between start and update) ends
# the run rather than leaving it open for ever.
REGISTRATION_WAIT = timedelta(hours=1)
# CoopFault is a keyword: every source in fault, kept short.
FAULT_LENGTH = 500

# One batch is one PostgreSQL transaction of milliseconds; a worker killed in the middle of
# one is noticed after this long, and the batch runs again.
EFFECTS_TIMEOUT = timedelta(seconds=20)
EFFECTS_TIMEOUT_SHAPE_1 = timedelta(minutes=2)
# Effects are retried with backoff (CooperationInput.effects_attempts); past that the
# cooperation is flagged (search attribute CoopFault, an error log, a counter) and the
# courier tries again every `fault_retry_seconds` until they succeed: nothing is lost, and
# commands are still answered meanwhile.
EFFECTS_BACKOFF = timedelta(seconds=1)
EFFECTS_BACKOFF_MAX = timedelta(minutes=1)
# Shape 1 retried effects for ever, inside the command.
EFFECTS_RETRY_SHAPE_1 = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5)
)


def loan_workflow_id(cooperation_id: str, line: str, tranche: str) -> str:
    return f"loan:{cooperation_id}:{line}:{tranche}"


SHAPE_2 = "coopflow-shape-2"
"""Registration by update-with-start, commands answered at once, effects carried out by the
courier, a fault flag when they keep failing; no fixed sleep before the end."""

SHAPE_3 = "coopflow-shape-3"
"""The shell as guarded as the validator: a command whose handler meets a bug in the rules is
refused (InternalError) and the cooperation flagged; the courier outlives its own failures
(flagged, backed off, retried); the effects still pending at continue-as-new are carried as
one merged batch."""

# The loan workflow and its signals, by name (its class lives in the sandboxed modules).
LOAN_WORKFLOW = "LoanWorkflow"
REPAYMENT_SIGNAL = "repayment"
SETTLE_SIGNAL = "settle"
WRITTEN_OFF_SIGNAL = "written_off"


class Shape:
    """Which shape the run has, decided at its first step and then fixed: shape 1 without
    any marker, shape 2 with `coopflow-shape-2`, shape 3 with both (docs/versioning.md)."""

    def __init__(self) -> None:
        self._two: bool | None = None
        self._three = False

    def two(self) -> bool:
        """Shape 2 or later. Memoised by the SDK per run: the first call decides the whole
        run's shape."""
        if self._two is None:
            self._two = workflow.patched(SHAPE_2)
            # Decided with shape 2, at the run's first step: a run started before shape 3
            # replays that step without its marker and keeps shape 2 to its end.
            self._three = self._two and workflow.patched(SHAPE_3)
        return self._two

    def three(self) -> bool:
        return self.two() and self._three


def rejection(error: DomainError) -> ApplicationError:
    """A domain rejection as the update's failure: the API maps the type to 409/403/422."""
    return ApplicationError(error.message, error.field, type=error.kind, non_retryable=True)


def budget_refusal(refused: CommitResult) -> ApplicationError:
    """Rule 9's refusal as the update's failure: 409 with what remains and what is needed."""
    return ApplicationError(
        f"the budget cannot cover line {refused.line}: {refused.reason}",
        {"remaining": str(refused.remaining), "needed": str(refused.needed)},
        type="Conflict",
        non_retryable=True,
    )


def carried(request: CommandRequest) -> c.Command:
    """The command with its request's id: the rules key by it what must happen once."""
    if request.request_id and request.command.request_id is None:
        return request.command.model_copy(update={"request_id": request.request_id})
    return request.command
