"""A loan's own workflow (`loan:<cooperation>:<line>:<tranche>`), started by its cooperation.

It keeps the loan's schedule and the repayments made against it, reachable by id for as long
as the loan runs, and outlives its parent's continue-as-new (parent close policy ABANDON).
The events of the loan (installments due, reminders, repayments) stay in the cooperation's
one sequence: the cooperation's reducer dates them and tells the loan of each repayment.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.loans import loan_schedule
    from workflows.models import LoanInput, LoanRepayment, LoanWriteOff


@workflow.defn(name="LoanWorkflow")
class LoanWorkflow:
    @workflow.init
    def __init__(self, loan: LoanInput) -> None:
        self._loan = loan
        self._schedule = loan_schedule(loan.principal, loan.terms, loan.disbursed)
        self._paid: dict[int, Decimal] = {int(k): v for k, v in loan.paid.items()}
        self._settled = False
        self._seen: set[int] = set()
        self._written_off: LoanWriteOff | None = None

    @workflow.run
    async def run(self, loan: LoanInput) -> dict[str, Any]:
        # The cooperation's clock dates the loan's events and says when its schedule is
        # over; a timer of the loan's own would race the cooperation's for the last date.
        await workflow.wait_condition(lambda: self._settled)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    @workflow.signal
    def settle(self) -> None:
        """Repaid in full (or, under rules 1, its schedule over): the loan's record ends."""
        self._settled = True

    @workflow.signal
    def written_off(self, write_off: LoanWriteOff) -> None:
        self._written_off = write_off
        self._settled = True

    @workflow.signal
    def repayment(self, repayment: LoanRepayment) -> None:
        if repayment.seq:
            if repayment.seq in self._seen:
                return
            self._seen.add(repayment.seq)
        for part in repayment.installments:
            self._paid[part.installment] = self._paid.get(part.installment, Decimal(0)) + (
                part.amount
            )

    @workflow.query
    def status(self) -> dict[str, Any]:
        rows = []
        for item in self._schedule:
            paid = self._paid.get(item.number, Decimal(0))
            rows.append(
                {
                    "number": item.number,
                    "due": item.due.isoformat(),
                    "principal": format(item.principal, "f"),
                    "interest": format(item.interest, "f"),
                    "paid": format(paid, "f"),
                    "repaid": paid >= item.total,
                }
            )
        outstanding = sum(
            (i.total - self._paid.get(i.number, Decimal(0)) for i in self._schedule), Decimal(0)
        )
        return {
            "cooperation": self._loan.cooperation_id,
            "line": self._loan.line,
            "tranche": self._loan.tranche,
            "principal": format(self._loan.principal, "f"),
            "currency": self._loan.currency,
            "installments": rows,
            "outstanding": format(outstanding, "f"),
            "written_off": (
                {
                    "amount": format(self._written_off.amount, "f"),
                    "at": self._written_off.at.isoformat(),
                }
                if self._written_off
                else None
            ),
            "settled": self._settled,
        }
