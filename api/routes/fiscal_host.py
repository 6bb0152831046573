"""What a fiscal host holds for the informal collectives it carries (rule 10)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

from fastapi import APIRouter

from api.auth import CallerDep
from api.deps import PoolDep
from api.models import CarriedMember, HostedFunds, HostedLine, HostedVersement
from api.problems import Problem
from store.hosting import holdings

router = APIRouter(prefix="/v1/fiscal-host", tags=["fiscal host"])


@router.get("/funds", response_model=list[HostedFunds])
async def fiscal_host_funds(caller: CallerDep, pool: PoolDep) -> list[HostedFunds]:
    """What the caller, as fiscal host (a facilitator token of its id), received for each
    cooperation it carries: one item per cooperation and currency, by cooperation id, also
    while nothing has been received yet; none for a facilitator that hosts nothing.

    Read from the ledger, where every release is posted once per payee (rule 10): `released`
    (grants) and `loans` (disbursements) are the postings whose payee is the host, `received`
    their sum less `unpaid`, what is ordered and not yet paid (rule 19: a release is an order
    to pay; `versements` lists each with its dates); `repaid` is what was repaid on the loans
    it received (repayments are posted to the lending funder). The host receives for the
    cooperation's informal members as a whole: the ledger's beneficiary is always the
    cooperation, so `informal_members` names them and no amount is split between them.
    Money paid directly to a member that is a legal entity is not the host's and is left
    out."""
    if caller.role != "facilitator":
        raise Problem(
            403,
            f"a {caller.role} holds no funds as fiscal host (a facilitator token of the host's"
            " id does)",
        )
    async with pool.acquire() as conn:
        held_by = await holdings(conn, caller.subject)
    versements: dict[tuple[str, str], list[HostedVersement]] = {}
    for o in held_by.orders:
        versements.setdefault((o.cooperation_id, o.currency), []).append(
            HostedVersement.model_validate(
                asdict(o) | {"status": "paid" if o.paid_on else "ordered"}
            )
        )
    by_line: dict[tuple[str, str], list[HostedLine]] = {}
    for p in held_by.postings:
        by_line.setdefault((p.cooperation_id, p.currency), []).append(
            HostedLine.model_validate(asdict(p))
        )
    held: dict[str, set[str]] = {}
    for cooperation_id, in_currency in [*by_line, *held_by.currencies]:
        held.setdefault(cooperation_id, set()).add(in_currency)
    funds = []
    for c in held_by.hosted:
        members = [CarriedMember(member=m, name=held_by.names.get((c.id, m))) for m in c.informal]
        kept: list[str | None] = [*sorted(held.get(c.id, set()))] or [None]
        for currency in kept:
            lines = by_line.get((c.id, currency), []) if currency else []
            released = sum((x.released for x in lines), Decimal("0.00"))
            loans = sum((x.loans for x in lines), Decimal("0.00"))
            unpaid = sum((x.unpaid for x in lines), Decimal("0.00"))
            funds.append(
                HostedFunds(
                    cooperation=c.id,
                    name=c.name,
                    phase=c.phase,
                    outcome=c.outcome,
                    currency=currency,
                    received=released + loans - unpaid,
                    released=released,
                    loans=loans,
                    repaid=sum((x.repaid for x in lines), Decimal("0.00")),
                    unpaid=unpaid,
                    by_line=lines,
                    versements=versements.get((c.id, currency), []) if currency else [],
                    informal_members=members,
                    hosting_ended_at=c.ended,
                )
            )
    return funds
