"""What callers of the cooperation workflow (API, CLI, tests) share."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from workflows.cooperation import CooperationWorkflow


class RegistrationRefused(Exception):
    """The registration failed (e.g. a scenario line the budget cannot cover)."""


async def wait_registered(handle: WorkflowHandle[Any, Any], within: float = 60) -> dict[str, Any]:
    """The cooperation's state once its registration is decided and recorded."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        description = await handle.describe()
        if description.status == WorkflowExecutionStatus.FAILED:
            try:
                await handle.result()
            except WorkflowFailureError as failure:
                cause = failure.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(cause)
                raise RegistrationRefused(f"registration refused: {message}") from None
        with contextlib.suppress(RPCError, WorkflowQueryFailedError):
            state: dict[str, Any] = await handle.query(CooperationWorkflow.state)
            return state
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{handle.id} was not registered within {within}s")
