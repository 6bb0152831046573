"""What a fiscal host holds for the informal collectives it carries (rule 10)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from api.auth import CallerDep
from api.deps import PoolDep
from api.models import CarriedMember, HostedFunds, HostedLine, HostedVersement
from api.problems import Problem

router = APIRouter(prefix="/v1/fiscal-host", tags=["fiscal host"])

# Scoped in each query by `c.fiscal_host = $1`: narrower than a facilitator's read scope
# (store.scope), which also holds the cooperations it only accompanies. A former host (rule 20:
# its hosting ended) keeps what it received here, though the cooperation left its scope
# (migration 019 indexes the second condition).
_CARRIED = "(c.fiscal_host = $1 OR c.state->>'former_fiscal_host' = $1)"
_HOSTED = f"SELECT c.id FROM cooperations c WHERE {_CARRIED}"


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
        hosted = await conn.fetch(
            "SELECT c.id, c.name, c.phase, c.outcome, ARRAY(SELECT m.value->>'id'"
            " FROM jsonb_array_elements(c.state->'members') WITH ORDINALITY m(value, i)"
            " WHERE (m.value->>'informal')::boolean ORDER BY m.i) AS informal,"
            " CASE WHEN c.fiscal_host IS DISTINCT FROM $1"
            " THEN c.state->>'hosting_ended_at' END AS ended"
            f" FROM cooperations c WHERE {_CARRIED} ORDER BY c.id",
            caller.subject,
        )
        names = await conn.fetch(
            f"SELECT cooperation_id, id, name FROM people WHERE cooperation_id IN ({_HOSTED})",
            caller.subject,
        )
        currencies = await conn.fetch(
            "SELECT DISTINCT cooperation_id, currency FROM lines"
            f" WHERE cooperation_id IN ({_HOSTED}) AND status <> 'declined'",
            caller.subject,
        )
        postings = await conn.fetch(
            "WITH lent AS (SELECT DISTINCT cooperation_id, line, tranche FROM ledger"
            f" WHERE cooperation_id IN ({_HOSTED}) AND kind = 'loan' AND payee = $1)"
            " SELECT g.cooperation_id, g.line, g.currency,"
            " coalesce(sum(g.amount) FILTER (WHERE g.kind = 'release' AND g.payee = $1), 0.00)"
            " AS released,"
            " coalesce(sum(g.amount) FILTER (WHERE g.kind = 'loan' AND g.payee = $1), 0.00)"
            " AS loans,"
            " coalesce(sum(g.amount) FILTER (WHERE g.kind <> 'repayment' AND g.payee = $1"
            " AND g.payable AND g.paid_on IS NULL), 0.00) AS unpaid,"
            " coalesce(sum(g.amount) FILTER (WHERE g.kind = 'repayment'"
            " AND t.line IS NOT NULL), 0.00) AS repaid"
            " FROM ledger g LEFT JOIN lent t ON (t.cooperation_id, t.line, t.tranche)"
            " = (g.cooperation_id, g.line, g.tranche)"
            f" WHERE g.cooperation_id IN ({_HOSTED})"
            " GROUP BY g.cooperation_id, g.line, g.currency"
            " HAVING bool_or(g.payee = $1 OR t.line IS NOT NULL)"
            " ORDER BY g.cooperation_id, g.currency, g.line",
            caller.subject,
        )
        ordered = await conn.fetch(
            "SELECT cooperation_id, currency, line, tranche, occurrence, kind, amount,"
            " at AS ordered_at, due_by, paid_on FROM ledger"
            f" WHERE cooperation_id IN ({_HOSTED}) AND payee = $1 AND payable"
            " ORDER BY at, id",
            caller.subject,
        )
    versements: dict[tuple[str, str], list[HostedVersement]] = {}
    for r in ordered:
        versements.setdefault((r["cooperation_id"], r["currency"]), []).append(
            HostedVersement(
                **{k: r[k] for k in HostedVersement.model_fields if k != "status"},
                status="paid" if r["paid_on"] else "ordered",
            )
        )
    named = {(r["cooperation_id"], r["id"]): r["name"] for r in names}
    by_line: dict[tuple[str, str], list[HostedLine]] = {}
    for r in postings:
        by_line.setdefault((r["cooperation_id"], r["currency"]), []).append(
            HostedLine(
                line=r["line"],
                released=r["released"],
                loans=r["loans"],
                repaid=r["repaid"],
                unpaid=r["unpaid"],
            )
        )
    held: dict[str, set[str]] = {}
    for cooperation_id, currency in [*by_line, *((r[0], r[1]) for r in currencies)]:
        held.setdefault(cooperation_id, set()).add(currency)
    funds = []
    for c in hosted:
        members = [
            CarriedMember(member=m, name=named.get((c["id"], m))) for m in c["informal"] or []
        ]
        kept: list[str | None] = [*sorted(held.get(c["id"], set()))] or [None]
        for currency in kept:
            lines = by_line.get((c["id"], currency), []) if currency else []
            released = sum((x.released for x in lines), Decimal("0.00"))
            loans = sum((x.loans for x in lines), Decimal("0.00"))
            unpaid = sum((x.unpaid for x in lines), Decimal("0.00"))
            funds.append(
                HostedFunds(
                    cooperation=c["id"],
                    name=c["name"],
                    phase=c["phase"],
                    outcome=c["outcome"],
                    currency=currency,
                    received=released + loans - unpaid,
                    released=released,
                    loans=loans,
                    repaid=sum((x.repaid for x in lines), Decimal("0.00")),
                    unpaid=unpaid,
                    by_line=lines,
                    versements=versements.get((c["id"], currency), []) if currency else [],
                    informal_members=members,
                    hosting_ended_at=c["ended"],
                )
            )
    return funds
