"""The cooperation's state and the rules that decide on it: the version the run may use
(each a patch marker), the move to newer rules, a decision guarded against a bug in the
rules (shape 3), and the summary readers see."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError, TemporalError

from domain import commands as c
from domain.errors import DomainError
from domain.lifecycle import Decision, decide
from domain.lifecycle.context import share_field_sets
from domain.programme import ProgrammeVersion
from domain.rules import RULES_VERSION, upgrade
from domain.state import CooperationState
from domain.views import CooperationSummary, keep_summary, summary
from workflows.parts.faults import Faults
from workflows.shell import Shape, rejection

# Programme versions are frozen and the same for every cooperation on a programme: one copy
# per worker rather than one per cached workflow (about 14 KiB each, bench.memory).
_PROGRAMMES: dict[tuple[str, int], list[ProgrammeVersion]] = {}


def share_programmes(state: CooperationState) -> None:
    """Each line's programme version replaced by an equal one already held, if any."""
    for line in state.lines:
        version = line.programme
        known = _PROGRAMMES.setdefault((version.spec.id, version.version), [])
        shared = next((k for k in known if k is version or k == version), None)
        if shared is None:
            known.append(version)
        elif shared is not version:
            line.programme = shared


class Rules:
    def __init__(
        self, cooperation_id: str, state: CooperationState | None, shape: Shape, faults: Faults
    ) -> None:
        self._id = cooperation_id
        if state is not None:
            share_programmes(state)
            # Decoded from the run's input (kept whole by the workflow for its next run too).
            share_field_sets(state)
            keep_summary(state)
        self.state = state
        self.moved: int | None = None
        """The rules version moved to since the last adopted decision, recorded with it."""
        self.registered = state is not None
        """Readers see a cooperation once its registration is recorded, not before."""
        self._view: CooperationSummary | None = None
        self._shape = shape
        self._faults = faults

    def require(self) -> CooperationState:
        if self.state is None:
            raise ApplicationError("the cooperation is not registered yet", type="Conflict")
        return self.state

    def take(self, state: CooperationState) -> None:
        """A decided state as the cooperation's."""
        share_programmes(state)
        if self.state is None:
            # The registration's state is built by validation, each of its models with a set
            # of its own (the fields given); every later decision's is a copy whose models
            # share one per kind (copy_state). In place: the courier holds this one too.
            share_field_sets(state)
        # Adopted, never changed again (a decision works on a copy): the summary the courier
        # takes of it is the one the answers and queries show.
        keep_summary(state)
        self.state = state
        self._view = None

    def view(self) -> CooperationSummary:
        """The summary readers see, once the registration is recorded."""
        if not self.registered:
            raise ApplicationError("the cooperation is being registered", type="Conflict")
        return self.summary()

    def summary(self) -> CooperationSummary:
        """The state's summary, built once per state: the courier's delivery, the answers and
        the queries share it (a registration's delivery too, before readers may see it)."""
        if self._view is None:
            self._view = summary(self.require())
        return self._view

    def available(self) -> int:
        """The newest rules this run may use: each version is a patch, recorded in history
        the first time a run meets it, so a replay finds the same version at the same
        decision."""
        version = 1
        for number in range(2, RULES_VERSION + 1):
            if not workflow.patched(f"coopflow-rules-{number}"):
                break
            version = number
        return version

    def move(self, now: datetime) -> None:
        """Move to newer rules before deciding, at a point the history records."""
        state = self.require()
        if state.rules_version >= RULES_VERSION:
            return
        target = self.available()
        if target <= state.rules_version:
            return
        workflow.logger.info(
            "rules upgraded",
            extra={"cooperation": self._id, "from": state.rules_version, "to": target},
        )
        self.state = upgrade(state, target, now)
        self.moved = target

    def decide(self, command: c.Command, now: datetime) -> Decision:
        try:
            return decide(self.require(), command, now)
        except DomainError as error:
            raise rejection(error) from None

    @contextlib.contextmanager
    def guard(self, command: c.Command) -> Iterator[None]:
        """Shape 3: the handler as guarded as the validator. Other decisions may have run
        between the two, so the handler decides on a later state; a bug in the rules there
        refuses the command (InternalError) and flags the cooperation, rather than failing
        the workflow task for ever. The refused command leaves the state as it was when the
        guard began: nothing is adopted before the rules have decided (a move to newer rules
        made just before stands: its marker and log are already recorded)."""
        fault = f"rules:{command.kind}"
        state, moved = self.state, self.moved
        try:
            yield
        except (TemporalError, DomainError):
            raise  # a rejection, a refusal, a non-determinism: not a bug of the rules
        except Exception as error:
            if not self._shape.three():
                raise
            self.state, self.moved = state, moved
            self._faults.caught = True
            self._faults.flag(fault, type(error).__name__)
            raise self.failed(command, error) from None
        if self._shape.three():
            # The same command decided again: the bug is gone (fixed, or its state passed).
            self._faults.unflag(fault)

    def failed(self, command: c.Command, error: Exception) -> ApplicationError:
        """A bug in the rules on a command, said loudly (log, counter) and answered as an
        internal error: the validator's refusal and the guarded handler's alike."""
        workflow.logger.error(
            "the rules failed on a command",
            extra={"cooperation": self._id, "command": command.kind},
            exc_info=error,
        )
        workflow.metric_meter().create_counter(
            "coopflow_rule_failures", "Commands the rules failed on (a bug)"
        ).add(1)
        return ApplicationError(
            f"internal error deciding {command.kind}: {type(error).__name__}",
            type="InternalError",
            non_retryable=True,
        )

    def currency_of(self, line_id: str) -> str:
        line = self.require().line(line_id)
        assert line is not None, line_id
        return line.currency
