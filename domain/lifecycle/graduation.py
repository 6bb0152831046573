"""Rule 20 (rules 3): graduation. An informal collective that founds its own legal entity
keeps its cooperation, its history and its lines: the facilitator records a member's new
legal form (or has the new entity join), proposes a new allocation for a line (an amendment,
*avenant*) that the line's funder accepts or declines, and ends the hosting once nothing
pays the fiscal host any more. A loan's borrower is a member that is a legal entity, never
the fiscal host. Legal forms are checked on input only: recorded values load as they are."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from domain import commands as c
from domain.allocation import Share
from domain.cooperation import INFORMAL, Member, allowed_payees
from domain.errors import Conflict, InvalidInput
from domain.events import instant
from domain.lifecycle.context import Context, known_line, money_text, require_open
from domain.lifecycle.line_events import emit_on_line
from domain.lifecycle.releases import release_unheld
from domain.line_records import OpenAmendment
from domain.programme import ProgrammeSpec
from domain.state import CooperationState, Line

LEGAL_FORMS: tuple[str, ...] = (
    INFORMAL,
    "association",
    "foundation",
    "cooperative",
    "scic",
    "scop",
    "company",
    "local_authority",
    "public_body",
    "other",
)

_SIRET = re.compile(r"[0-9]{14}")
_RNA = re.compile(r"W[0-9]{9}")


def check_legal_form(rules_version: int, legal_form: str, field: str) -> None:
    """Rules 3: a legal form given as input is one of rule 20's (a typo such as "informel"
    would otherwise read as a legal entity, and be paid)."""
    if rules_version >= 3 and legal_form not in LEGAL_FORMS:
        raise InvalidInput(
            f"legal form {legal_form!r} is not one of {', '.join(LEGAL_FORMS)}", field
        )


def check_members(rules_version: int, legal_forms: Sequence[str]) -> None:
    for i, legal_form in enumerate(legal_forms):
        check_legal_form(rules_version, legal_form, f"members[{i}].legal_form")


def lends(programme: ProgrammeSpec) -> bool:
    return any(t.loan is not None for _, t in programme.tranches())


def check_borrower(
    rules_version: int,
    programme: ProgrammeSpec,
    allocation: Sequence[Share],
    fiscal_host: str | None,
    field: str = "allocation",
) -> None:
    """Rules 3: a loan's borrower is a member that is a legal entity, never the fiscal host
    (the host carries the collective's grants; it does not owe its debts)."""
    if rules_version < 3 or fiscal_host is None or not lends(programme):
        return
    if any(share.payee == fiscal_host for share in allocation):
        raise InvalidInput(
            f"programme {programme.id!r} lends: the borrower is a member that is a legal "
            f"entity, never the fiscal host {fiscal_host!r}",
            field,
        )


def _require_rules_3(s: CooperationState, action: str) -> None:
    if s.rules_version < 3:
        raise Conflict(
            f"cannot {action}: cooperation {s.id!r} runs under rules {s.rules_version}"
            " (graduation comes with rules 3)"
        )


def _allocation_data(allocation: Sequence[Share]) -> list[dict[str, str]]:
    return [{"payee": a.payee, "share": money_text(a.share)} for a in allocation]


def formalise(ctx: Context, cmd: c.Formalise, now: datetime) -> None:
    s = ctx.state
    _require_rules_3(s, "formalise a member")
    require_open(s, "formalise a member")
    member = s.member(cmd.member)
    if member is None:
        raise InvalidInput(f"{cmd.member!r} is not a member", "member")
    check_legal_form(s.rules_version, cmd.legal_form, "legal_form")
    if cmd.legal_form == INFORMAL:
        raise InvalidInput("formalising records a legal entity: not informal", "legal_form")
    if cmd.siret is not None and not _SIRET.fullmatch(cmd.siret):
        raise InvalidInput("a SIRET number is 14 digits", "siret")
    if cmd.rna is not None and not _RNA.fullmatch(cmd.rna):
        raise InvalidInput("an RNA number is W followed by 9 digits", "rna")
    formalised = Member(id=member.id, legal_form=cmd.legal_form, informal=False)
    s.members = [formalised if m.id == member.id else m for m in s.members]
    ctx.emit(
        "MemberFormalised",
        now,
        member=member.id,
        legal_form=cmd.legal_form,
        previous_legal_form=member.legal_form,
        siret=cmd.siret,
        rna=cmd.rna,
    )


def _payee_problem(s: CooperationState, allocation: Sequence[Share]) -> str | None:
    allowed = allowed_payees(s.members, s.fiscal_host)
    for share in allocation:
        if share.payee not in allowed:
            return (
                f"payee {share.payee!r} is neither the fiscal host nor a member that is a "
                "legal entity (money never goes to an informal member)"
            )
    return None


def amend(ctx: Context, cmd: c.Amend, now: datetime) -> None:
    s = ctx.state
    _require_rules_3(s, "amend a line")
    require_open(s, "amend a line")
    line = known_line(s, cmd.line)
    if line.status != "active":
        raise Conflict(
            f"line {line.id!r} is {line.status}: only an active line is amended (a proposed "
            "line is declined and proposed again)"
        )
    if lends(line.programme.spec):
        raise Conflict(f"line {line.id!r} lends: a loan's borrower never changes")
    if line.amendment is not None:
        raise Conflict(
            f"an amendment of line {line.id!r} is already open (proposed "
            f"{instant(line.amendment.proposed_at)}): its funder decides it first",
            "line",
        )
    problem = _payee_problem(s, cmd.allocation)
    if problem:
        raise InvalidInput(problem, "allocation")
    seq = emit_on_line(
        ctx,
        "LineAmendmentProposed",
        now,
        line,
        funder=line.funder,
        allocation=_allocation_data(cmd.allocation),
        previous_allocation=_allocation_data(line.allocation),
    )
    line.amendment = OpenAmendment(seq=seq, allocation=list(cmd.allocation), proposed_at=now)
    ctx.notify("funder", line.funder, "LineAmendmentProposed", seq)


def decide_amendment(ctx: Context, cmd: c.DecideAmendment, now: datetime) -> None:
    s = ctx.state
    _require_rules_3(s, "decide an amendment")
    require_open(s, "decide an amendment")
    line = known_line(s, cmd.line)
    amendment = line.amendment
    if amendment is None:
        raise Conflict(f"no amendment of line {line.id!r} is open")
    if cmd.accept:
        # Who may be paid may have changed since the proposal (the hosting ended).
        problem = _payee_problem(s, amendment.allocation)
        if problem:
            raise Conflict(f"the amendment can no longer be accepted: {problem}")
        line.allocation = list(amendment.allocation)
        seq = emit_on_line(
            ctx,
            "LineAmended",
            now,
            line,
            amendment=amendment.seq,
            allocation=_allocation_data(line.allocation),
            note=cmd.note,
        )
    else:
        seq = emit_on_line(
            ctx,
            "LineAmendmentDeclined",
            now,
            line,
            amendment=amendment.seq,
            note=cmd.note,
        )
    line.amendment = None
    if cmd.accept:
        ctx.notify("facilitator", s.facilitator, "LineAmended", seq)
    else:
        ctx.notify("facilitator", s.facilitator, "LineAmendmentDeclined", seq)
    # What fell due while it was open goes now, in order, to the allocation in force; while
    # paused, at the resume (rule 5 holds every release).
    release_unheld(ctx, now)


def _pays(line: Line, payee: str) -> bool:
    return any(a.payee == payee for a in line.allocation)


def end_hosting(ctx: Context, cmd: c.EndHosting, now: datetime) -> None:
    s = ctx.state
    _require_rules_3(s, "end the hosting")
    require_open(s, "end the hosting")
    host = s.fiscal_host
    if host is None:
        raise Conflict("the cooperation has no fiscal host")
    unsettled = [
        f"{line.id} ({loan.tranche})"
        for line in s.lines
        if line.status == "active" and _pays(line, host)
        for loan in line.loans
        if not loan.settled(s.rules_version)
    ]
    if unsettled:
        raise Conflict(f"unsettled loans pay the fiscal host {host!r}: {', '.join(unsettled)}")
    paying = [
        line.id
        for line in s.lines
        if line.status != "declined" and not line.closed and _pays(line, host)
    ]
    if paying:
        raise Conflict(
            f"lines pay the fiscal host {host!r}: {', '.join(paying)} (amend them first)"
        )
    amending = [
        line.id
        for line in s.lines
        if line.amendment is not None and any(a.payee == host for a in line.amendment.allocation)
    ]
    if amending:
        raise Conflict(f"open amendments would pay the fiscal host {host!r}: {', '.join(amending)}")
    if not any(not m.informal for m in s.members):
        raise Conflict(
            "every member is informal: without its fiscal host nobody could be paid"
            " (formalise a member, or have the new entity join, first)"
        )
    s.fiscal_host = None
    s.former_fiscal_host = host
    s.hosting_ended_at = now
    ctx.emit("FiscalHostEnded", now, fiscal_host=host)
