"""Scenarios (DESIGN.md, "Scenarios"): the forecast and the conformance reference.

`run_scenario` drives the rules through the same `Driver` the tests use: the steps of an
instant apply in file order, after the clock strictly before that instant and before the
clock at it (rule 14). Commitments (rule 9) are resolved against an in-memory budget.

Everything here is pure; the scenarios themselves are read by `domain.scenario`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain import commands as c
from domain.commitments import budget_raise_refusal, commitment_refusal
from domain.cooperation import LineRequest
from domain.effects import FreeCommitment, RequestCommitment
from domain.errors import DomainError
from domain.events import Event
from domain.ledger import LedgerRow, ledger_rows
from domain.lifecycle import Decision, Driver, registration_commitments
from domain.limits import at_door
from domain.money import Amount
from domain.programme import ProgrammeVersion
from domain.rules import RULES_VERSION
from domain.scenario import Scenario, ScenarioError, Step, errors_text, parse_scenario
from domain.state import CooperationState


class SimulationResult(BaseModel):
    events: list[Event]
    ledger: list[LedgerRow]
    state: CooperationState | None = Field(default=None, exclude=True)

    def to_json(self) -> dict[str, Any]:
        """The output of `coopflow simulate --format json`."""
        return self.model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------------------------------
# Steps as commands: shared by this runner and `coopflow simulate` on the real workflow


class BudgetRaise(BaseModel):
    """`raise_budget`: not a command of the cooperation, a change to its programme."""

    model_config = ConfigDict(frozen=True)

    programme: str
    amount: Amount


def step_actions(
    scenario: Scenario, step: Step, programmes: Mapping[str, ProgrammeVersion]
) -> list[c.Command | BudgetRaise]:
    """What a step asks, in order; a malformed step raises ScenarioError naming it."""
    try:
        return _step_actions(scenario, step, programmes)
    except ValidationError as exc:
        raise ScenarioError(step.index, f"{step.kind}: {errors_text(exc)}") from None
    except (KeyError, ValueError) as exc:
        raise ScenarioError(step.index, f"{step.kind}: {exc}") from None


def _by(args: Mapping[str, Any], programmes: Mapping[str, ProgrammeVersion]) -> Any:
    """Who acts in an `approve`, `write_off` or `convention` step: as given, else the line's
    funder."""
    by = args.get("by")
    if by is None:
        version = programmes.get(str(args.get("line")))
        by = {"role": "funder", "id": version.spec.funder if version else "unknown"}
    return by


def _step_actions(
    scenario: Scenario, step: Step, programmes: Mapping[str, ProgrammeVersion]
) -> list[c.Command | BudgetRaise]:
    a = step.args
    match step.kind:
        case "check_in":
            # Default ids count the check-in steps: stable across runs, named in reviews.
            ordinal = sum(1 for s in scenario.steps[: step.index + 1] if s.kind == "check_in")
            return [
                at_door(
                    c.SubmitCheckIn,
                    {
                        "check_in_id": a.get("id", f"ci-{ordinal}"),
                        "period": a.get("period"),
                        "indicators": a.get("indicators") or {},
                    },
                )
            ]
        case "review":
            return [
                at_door(
                    c.ReviewCheckIn,
                    {
                        "check_in_id": a.get("id"),
                        "period": a.get("period"),
                        "decision": a.get("decision"),
                    },
                )
            ]
        case "advance":
            return [at_door(c.Advance, {"to": a.get("to")})]
        case "restart":
            return [at_door(c.Restart, {"to": a.get("to"), "reason": a.get("reason")})]
        case "pivot":
            return [
                at_door(c.Pivot, {"objectives": a.get("objectives"), "reason": a.get("reason")})
            ]
        case "pause":
            return [at_door(c.Pause, {"reason": a.get("reason")})]
        case "resume":
            return [at_door(c.Resume, {})]
        case "close":
            return [at_door(c.Close, {"outcome": a.get("outcome")})]
        case "approve":
            by = _by(a, programmes)
            return [
                at_door(
                    c.ApproveTranche, {"line": a.get("line"), "tranche": a.get("tranche"), "by": by}
                )
            ]
        case "raise_budget":
            programme = str(a.get("programme"))
            if programme not in programmes:
                raise ValueError(f"programme {programme!r} is not in programmes")
            return [at_door(BudgetRaise, {"programme": programme, "amount": a["amount"]})]
        case "repay":
            return [
                at_door(
                    c.RecordRepayment,
                    {
                        "line": a.get("line"),
                        "tranche": a.get("tranche"),
                        "amount": a.get("amount"),
                        "installment": a.get("installment"),
                    },
                )
            ]
        case "write_off":
            by = _by(a, programmes)
            return [
                at_door(
                    c.WriteOff,
                    {
                        "line": a.get("line"),
                        "tranche": a.get("tranche"),
                        "reason": a.get("reason"),
                        "by": by,
                    },
                )
            ]
        case "attach":
            programme = str(a.get("programme"))
            version = programmes.get(programme)
            if version is None:
                raise ValueError(f"programme {programme!r} is not in programmes")
            request = at_door(LineRequest, a)
            # Rule 17: the amount is the funder's, given with its acceptance, not proposed.
            proposed = request.model_copy(update={"amount": None})
            return [
                c.ProposeLine(line=proposed, programme=version),
                c.AcceptLine(line=programme, amount=request.amount),
            ]
        case "request":
            return [
                at_door(
                    c.RequestTransition,
                    {"action": a.get("action"), "to": a.get("to"), "reason": a.get("reason")},
                )
            ]
        case "join":
            return [at_door(c.MemberJoin, {"member": a.get("member", a)})]
        case "leave":
            return [
                at_door(c.MemberLeave, {"member_id": a.get("member", a.get("id", a.get("value")))})
            ]
        case "convention":
            return [
                at_door(
                    c.RecordConvention,
                    {
                        "line": a.get("line"),
                        "reference": a.get("reference"),
                        "signed_on": a.get("signed_on"),
                        "ends_on": a.get("ends_on"),
                        "by": _by(a, programmes),
                    },
                )
            ]
        case "paid":
            return [
                at_door(
                    c.RecordPaid,
                    {
                        "line": a.get("line"),
                        "tranche": a.get("tranche"),
                        "occurrence": a.get("occurrence"),
                        "payee": a.get("payee"),
                        "paid_on": a.get("paid_on"),
                        "by": _by(a, programmes),
                    },
                )
            ]
        case "formalise":
            return [at_door(c.Formalise, dict(a))]
        case "amend":
            return [at_door(c.Amend, dict(a))]
        case "amendment":
            return [at_door(c.DecideAmendment, dict(a))]
        case "end_hosting":
            return [at_door(c.EndHosting, {})]
    raise ValueError(f"unknown step kind {step.kind!r}")  # parse_scenario refuses these


# ---------------------------------------------------------------------------------------
# Running


class _Runner(Driver):
    def __init__(self, scenario: Scenario) -> None:
        # A refusal ends the whole run (ScenarioError): the state can be changed in place.
        super().__init__(owned=True)
        self.scenario = scenario
        self.programmes = {p.id: ProgrammeVersion(version=1, spec=p) for p in scenario.programmes}
        self.remaining = {p.id: p.budget for p in scenario.programmes}
        self.budgets = {p.id: p.budget for p in scenario.programmes}
        self.committed: dict[str, Decimal] = {}
        self.events: list[Event] = []
        self.ledger: list[LedgerRow] = []

    def commit(self, programme_id: str, needed: Decimal) -> str | None:
        """Rule 9: first come first served against the budget and the cap; None when done."""
        spec = self.programmes[programme_id].spec
        remaining = self.remaining[programme_id]
        already = self.committed.get(programme_id, Decimal(0))
        cap = spec.cap_per_cooperation
        match commitment_refusal(remaining, already, needed, cap):
            case "budget":
                return (
                    f"programme {programme_id!r} has {remaining} {spec.currency} left,"
                    f" {needed} needed"
                )
            case "cap":
                return f"the cap per cooperation of {programme_id!r} is {cap}: {needed} needed"
        self.remaining[programme_id] = remaining - needed
        self.committed[programme_id] = already + needed
        return None

    def record(self, decision: Decision) -> None:
        self.events.extend(decision.events)
        for event in decision.events:
            if event.type == "VersementPaid":
                self._paid(event.data)
        for effect in decision.effects:
            self.ledger.extend(row for _, row in ledger_rows(effect))
            if isinstance(effect, FreeCommitment):
                self.remaining[effect.programme] += effect.amount
                self.committed[effect.programme] -= effect.amount

    def _paid(self, data: Mapping[str, Any]) -> None:
        """The ledger row of a versement recorded paid (rule 19) takes its date."""
        for i, row in enumerate(self.ledger):
            if (
                row.kind != "repayment"
                and (row.line, row.tranche, row.occurrence, row.payee)
                == (data["line"], data["tranche"], data.get("occurrence"), data["payee"])
                and row.paid_on is None
            ):
                self.ledger[i] = row.model_copy(
                    update={"paid_on": date.fromisoformat(data["paid_on"])}
                )
                return

    def run_command(self, index: int | None, command: c.Command, at: datetime) -> None:
        try:
            decision = self.apply(command, at)
        except DomainError as exc:
            raise ScenarioError(index, str(exc)) from None
        for effect in decision.effects:
            if isinstance(effect, RequestCommitment):
                refusal = self.commit(effect.programme, effect.amount)
                if refusal is not None:
                    raise ScenarioError(index, f"commitment refused: {refusal}")
                self.run_command(index, c.CommitmentCommitted(line=effect.line), at)

    def register(self) -> None:
        scenario = self.scenario
        versions = []
        for i, line in enumerate(scenario.cooperation.funding_lines):
            version = self.programmes.get(line.programme)
            if version is None:
                raise ScenarioError(
                    None, f"funding_lines[{i}]: programme {line.programme!r} is not in programmes"
                )
            versions.append(version)
        try:
            command = c.Register(
                cooperation=scenario.cooperation,
                programmes=versions,
                lines_accepted=True,
                rules_version=RULES_VERSION,
            )
            # Decided before committing, so a refused registration commits nothing.
            self.apply(command, scenario.start)
        except DomainError as exc:
            raise ScenarioError(None, str(exc)) from None
        for commitment in registration_commitments(command):
            refusal = self.commit(commitment.programme, commitment.amount)
            if refusal is not None:
                raise ScenarioError(None, f"commitment refused: {refusal}")

    def step(self, step: Step) -> None:
        for action in step_actions(self.scenario, step, self.programmes):
            if isinstance(action, BudgetRaise):
                refusal = budget_raise_refusal(self.budgets[action.programme], action.amount)
                if refusal is not None:
                    raise ScenarioError(
                        step.index, f"{step.kind}: programme {action.programme!r}: {refusal}"
                    )
                self.budgets[action.programme] += action.amount
                self.remaining[action.programme] += action.amount
            else:
                self.run_command(step.index, action, step.at)

    def run(self) -> SimulationResult:
        self.register()
        for step in self.scenario.steps:
            self.step(step)
        self.run_clock(self.scenario.until, inclusive=True)
        return SimulationResult(events=self.events, ledger=self.ledger, state=self.state)


def run_scenario(scenario: Scenario | Mapping[str, Any]) -> SimulationResult:
    """Run a scenario from its start to `until` (inclusive): events and ledger."""
    if not isinstance(scenario, Scenario):
        scenario = parse_scenario(scenario)
    return _Runner(scenario).run()
