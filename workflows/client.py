"""What callers of the cooperation workflow (API, CLI, tests) share: registration by
update-with-start, commands by request id, and the rules' answer once a workflow has ended."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain import commands as c
from domain.errors import DomainError
from domain.lifecycle import decide
from runtime.temporal import cooperation_workflow_id
from workflows.cooperation import CooperationWorkflow
from workflows.models import CommandAnswer, CommandRequest, CooperationInput


class CommandRefused(Exception):
    """The rules (or the budget) refused a command: `kind` is Conflict, Forbidden,
    InvalidInput (HTTP 409, 403, 422) or InternalError (a bug, 500)."""

    def __init__(
        self, kind: str, message: str, field: str | None = None, details: Any = None
    ) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.kind = kind
        self.message = message
        self.field = field
        self.details = details


class UnknownCooperation(Exception):
    pass


class NoAnswer(Exception):
    """The cooperation's workflow did not answer in time (no worker polling, say): the
    command may still be applied; the same request id retried gets its one outcome."""


class NotNow(NoAnswer):
    """The server said "not now" rather than "no" (a workflow task failed, the workflow is
    closing, the server is busy): the same request may be sent again at once."""


# How long a caller waits for a command's answer before saying so (an HTTP client waits).
ANSWER_WITHIN = timedelta(seconds=30)
# How long a look at a workflow (describe, a query of an ended one) may take.
QUERY_WITHIN = timedelta(seconds=5)


PASSING = frozenset(
    {
        RPCStatusCode.FAILED_PRECONDITION,
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.ABORTED,
    }
)
"""Server answers that say "not now" rather than "no": the command may be sent again."""


def request_id() -> str:
    return str(uuid.uuid4())


async def register(
    client: Client,
    command: c.Register,
    *,
    task_queue: str,
    request: str | None = None,
    simulation: bool = False,
    clock_offset_seconds: float = 0.0,
    at: datetime | None = None,
    answer_within: timedelta = ANSWER_WITHIN,
    **options: Any,
) -> CommandAnswer:
    """Start the cooperation's workflow and register it in one step (update-with-start): a
    registration the rules or the budget refuse raises CommandRefused and leaves no
    cooperation behind; the same request id registers once."""
    cooperation_id = command.cooperation.id
    # `options`: the run's tunables (history_budget, effects_attempts, …), small in tests.
    start = CooperationInput(
        cooperation_id=cooperation_id,
        simulation=simulation,
        clock_offset_seconds=clock_offset_seconds,
        **{k: v for k, v in options.items() if v is not None},
    )
    operation = WithStartWorkflowOperation(
        CooperationWorkflow.run,
        start,
        id=cooperation_workflow_id(cooperation_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    update_id = request or request_id()
    return await _answer(
        f"cooperation {cooperation_id!r}",
        answer_within,
        client.execute_update_with_start_workflow(
            "apply",
            CommandRequest(command=command, request_id=update_id, at=at),
            start_workflow_operation=operation,
            id=update_id,
            result_type=CommandAnswer,
            rpc_timeout=answer_within,
        ),
    )


async def _answer(
    who: str, deadline: timedelta | None, call: Awaitable[CommandAnswer]
) -> CommandAnswer:
    """A command's answer, bounded by `deadline`: a refusal raises CommandRefused; no answer
    in time, or a server saying "not now" (e.g. "Workflow Task in failed state": a bug being
    fixed, a server busy), raises NoAnswer, and the caller sends the same request id again
    later to get its one outcome. The SDK's `rpc_timeout` bounds each RPC, but it polls again
    while the update is not yet accepted: with no worker on the task queue it would wait for
    ever, hence `wait_for` around the whole call."""
    try:
        if deadline is None:
            return await call
        return await asyncio.wait_for(call, deadline.total_seconds())
    except WorkflowUpdateFailedError as failure:
        raise _refused(failure) from None
    except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError):
        within = f"within {deadline}" if deadline is not None else "in time"
        raise NoAnswer(f"{who} did not answer {within}") from None
    except RPCError as error:
        if error.status not in PASSING:
            raise
        raise NotNow(f"{who} cannot answer now: {error.message}") from None


async def send(
    handle: WorkflowHandle[Any, Any],
    request: CommandRequest,
    answer_within: timedelta | None = ANSWER_WITHIN,
) -> CommandAnswer:
    """Apply a command; its request id is the update id, so a retry is answered once.

    A cooperation whose workflow has ended is closed with its loans settled: the command
    gets the rules' answer for that state (a conflict), as it would have while running, also
    when it arrived as the workflow was ending (the server then answers it "not now", or
    never). A "not now" is tried again, with the same request id, for NOT_NOW_FOR at most.
    """
    if request.request_id is None:
        request = request.model_copy(update={"request_id": request_id()})
    loop = asyncio.get_running_loop()
    until = None if answer_within is None else loop.time() + answer_within.total_seconds()
    again_until = loop.time() + NOT_NOW_FOR.total_seconds()
    while True:
        try:
            return await _attempt(handle, request, until)
        except NotNow:
            if await _has_ended(handle):
                return await _outcome_once_ended(handle, request)
            pause = NOT_NOW_PAUSE.total_seconds()
            if loop.time() + pause >= min(again_until, until or again_until):
                raise
            await asyncio.sleep(pause)


NOT_NOW_FOR = timedelta(seconds=5)
NOT_NOW_PAUSE = timedelta(milliseconds=200)
ENDED_CHECK_EVERY = timedelta(seconds=1)
"""While a command waits for its answer, how often to look whether the workflow has ended."""


async def _attempt(
    handle: WorkflowHandle[Any, Any], request: CommandRequest, until: float | None
) -> CommandAnswer:
    """One try, until the loop time `until`. An update the server admitted just as the
    workflow ended may never be answered (the SDK would poll until the deadline): while the
    answer is awaited the workflow is looked at every ENDED_CHECK_EVERY, and once it has
    ended the command gets the rules' answer for the ended cooperation."""
    loop = asyncio.get_running_loop()
    left = None if until is None else timedelta(seconds=max(until - loop.time(), 0.0))
    call = asyncio.ensure_future(
        _answer(
            handle.id,
            None,
            handle.execute_update(
                "apply",
                request,
                id=request.request_id,
                result_type=CommandAnswer,
                rpc_timeout=left,
            ),
        )
    )
    try:
        while True:
            wait = ENDED_CHECK_EVERY.total_seconds()
            if until is not None:
                wait = min(wait, until - loop.time())
            done, _ = await asyncio.wait({call}, timeout=max(wait, 0.0))
            if done:
                return call.result()
            if await _has_ended(handle):
                return await _outcome_once_ended(handle, request)
            if until is not None and loop.time() >= until:
                raise NoAnswer(f"{handle.id} did not answer in time")
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        return await _outcome_once_ended(handle, request)
    finally:
        # Answered, or given up: whatever else the call ends with is of no interest.
        call.add_done_callback(lambda f: f.cancelled() or f.exception())
        call.cancel()


async def _outcome_once_ended(
    handle: WorkflowHandle[Any, Any], request: CommandRequest
) -> CommandAnswer:
    """The request's outcome once its workflow has ended. The command may be the one that
    ended it (a last write-off settling the loans), its answer still on its way when the end
    was seen: the server keeps a completed update's outcome with the closed workflow, and
    that is its answer. Only a request the workflow never took gets the rules' answer for the
    ended cooperation."""
    assert request.request_id is not None
    update = handle.get_update_handle(request.request_id, result_type=CommandAnswer)
    try:
        return await asyncio.wait_for(
            update.result(rpc_timeout=QUERY_WITHIN), QUERY_WITHIN.total_seconds()
        )
    except WorkflowUpdateFailedError as failure:
        raise _refused(failure) from None
    except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError):
        pass  # not one of the workflow's updates (or its history is gone)
    raise await answer_of_ended(handle, request.command)


async def _has_ended(handle: WorkflowHandle[Any, Any]) -> bool:
    try:
        status = (await handle.describe(rpc_timeout=QUERY_WITHIN)).status
    except RPCError as error:
        return error.status == RPCStatusCode.NOT_FOUND
    return status is not None and status != WorkflowExecutionStatus.RUNNING


async def answer_of_ended(handle: WorkflowHandle[Any, Any], command: c.Command) -> Exception:
    try:
        status = (await handle.describe()).status
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return UnknownCooperation(handle.id.removeprefix("cooperation:"))
        raise
    if status == WorkflowExecutionStatus.RUNNING:
        return CommandRefused("Conflict", "the cooperation is busy: try again")
    try:
        state = await handle.query(CooperationWorkflow.full_state, rpc_timeout=QUERY_WITHIN)
        decide(state, command, max(state.last_at, datetime.now(UTC)))
    except DomainError as error:
        return refused_by(error)
    except (RPCError, WorkflowQueryFailedError, ApplicationError):
        pass  # its history is gone (retention): what remains true is that it is closed
    return CommandRefused("Conflict", "the cooperation is closed and its loans are settled")


def refused_by(error: DomainError) -> CommandRefused:
    return CommandRefused(error.kind, error.message, error.field)


def _refused(failure: WorkflowUpdateFailedError) -> CommandRefused:
    cause = failure.cause
    if isinstance(cause, ApplicationError):
        details = cause.details
        field = details[0] if details and isinstance(details[0], str) else None
        extra = details[0] if details and isinstance(details[0], dict) else None
        return CommandRefused(cause.type or "Conflict", cause.message, field, extra)
    return CommandRefused("InternalError", str(cause or failure))
