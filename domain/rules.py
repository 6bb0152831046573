"""Versions of the lifecycle rules.

A cooperation lives for years while the code that decides for it changes. Its state carries
the version of the rules it runs under (`CooperationState.rules_version`); every changed
behaviour is gated on that version, so a decision already recorded is decided the same way
whenever it is replayed, and a cooperation moves to newer rules only through `upgrade`, at
an instant the shell records (docs/versioning.md says how to add a version).

1. The rules as first released.
2. Rule 11 settled in the contract: repayments go to the oldest installment still owed,
   interest first (posted under the next seq: no request id reached these rules); an
   installment not repaid in full at due + P30D is `LoanInstallmentOverdue`; a loan is
   settled when repaid in full or written off (`LoanWrittenOff`), and nothing of it falls
   due after that; a cooperation stays open until every loan is settled.
3. Nobody can flood a cooperation (DESIGN.md, "Who may get in, and what nobody may abuse"):
   at most one open transition request per action, another is refused naming the open one
   (rule 15). Rules 17 to 20 of DESIGN's "Rules 3" (issue 18): the amount granted per line,
   fixed at acceptance (17); the convention, whose absence holds a line's releases where the
   programme requires one (18); a release is an order to pay, each payee's part a versement
   due by `payment_within` and recorded paid, late once (19); graduation: legal forms from a
   list, a member formalised, amendments (avenants) holding the line's releases while open,
   the end of the hosting, loans only to a member that is a legal entity (20). A
   cooperation that moves to 3 meets none of them until it uses them: its programmes have no
   granted amounts, convention or payment_within unless a new version says so, and its
   versements ordered before the move carry no due date. Rule 20's
   new commands (formalise, amendments, the end of hosting) are refused under rules 1 and 2.
   Moving to 3 keeps every open request as it is, several of one action included: they are
   answered or declined as before, only a new one waits until none of its action is open.
   Exactly once (issue 17): a repayment is taken once per request id (the shell gives
   every command its request id), however late it is repeated, and its ledger posting is
   keyed by that id rather than by the next seq; two repayments of the same amount under
   two ids are two repayments.
   Rule 17 (the amount granted, `domain.lifecycle.granted`): a programme with `amounts:
   granted` is taken only by cooperations under 3; no earlier decision meets one.
"""

from __future__ import annotations

from datetime import datetime

from domain.lifecycle.loans import adopt_overdues
from domain.state import CooperationState

RULES_VERSION = 3
"""The newest version: what a new registration runs under."""


def upgrade(state: CooperationState, to: int, at: datetime) -> CooperationState:
    """The state moved to rules `to` at `at`: what the newer rules would have kept differently
    is set so that nothing is decided retroactively (no event dated before `at`)."""
    if not state.rules_version < to <= RULES_VERSION:
        raise ValueError(f"cannot move rules from {state.rules_version} to {to}")
    moved = state.model_copy(deep=True)
    if moved.rules_version < 2 <= to:
        adopt_overdues(moved, at)
    moved.rules_version = to
    return moved
