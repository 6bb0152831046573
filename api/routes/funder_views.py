"""A programme as its funder follows it: the dashboard, the forecast and the inbox (what waits
for the funder), read from the read models (store/dashboard.py, store/inbox.py)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth import CallerDep
from api.deps import PoolDep
from api.models import (
    AwaitedApproval,
    AwaitedConvention,
    Dashboard,
    DashboardLoans,
    Inbox,
    InboxAmendment,
    InboxGrant,
    InboxPayee,
    InboxRequest,
    MonthlyRelease,
    ProposedLine,
    ReleasedByPurposeAndPhase,
    VersementToPay,
)
from api.problems import Problem, field_error
from api.routes.programmes import owned_programme
from domain.events import instant
from domain.forecast import (
    DEFAULT_HORIZON,
    MAX_HORIZON,
    Forecast,
    HorizonError,
    parse_horizon,
)
from domain.payees import facilitator_is_payee, payees
from domain.programme import ProgrammeVersion
from runtime.forecast_pool import forecast_texts
from store import inbox as inbox_store
from store import payees as payees_store
from store import versements
from store.conventions import conventions_awaited
from store.dashboard import figures
from store.forecast import programme_state_texts, released_so_far
from store.programmes import budget_of, get_programme

router = APIRouter(prefix="/v1/programmes", tags=["programmes"])


HORIZON_FORM = (
    r"^P(([1-9]|[12]\d|30)Y|([1-9]|[1-9]\d|[12]\d\d|300)M"
    r"|([1-9]\d{0,2}|1[0-4]\d\d|15[0-5]\d)W|([1-9]\d{0,3}|10[0-8]\d\d|109[0-7]\d)D)$"
)
"""What the schema promises `parse_horizon` takes: one positive count of years, months, weeks
or days within MAX_HORIZON (the server reads any calendar duration that long)."""


@router.get("/{programme_id}/dashboard", response_model=Dashboard)
async def dashboard(programme_id: str, caller: CallerDep, pool: PoolDep) -> Dashboard:
    """Budget, committed, released, freed; releases by purpose and phase (animation apart)
    and month by month; cooperations per phase; overdue check-ins; loans open, outstanding,
    in arrears and written off."""
    async with pool.acquire() as conn:
        version = await owned_programme(conn, programme_id, caller, "read its dashboard")
        found = await figures(conn, programme_id)
    assert found is not None
    by_purpose: dict[str, Decimal] = {}
    for r in found.released:
        by_purpose[r.purpose] = by_purpose.get(r.purpose, Decimal("0.00")) + r.amount
    return Dashboard(
        programme=programme_id,
        version=version.version,
        currency=version.spec.currency,
        budget=found.budget.budget,
        committed=found.budget.committed,
        remaining=found.budget.budget - found.budget.committed,
        released=sum((r.amount for r in found.released), Decimal("0.00")),
        freed=found.freed,
        released_by_purpose=dict(sorted(by_purpose.items())),
        animation=by_purpose.get("animation", Decimal("0.00")),
        released_by_purpose_and_phase=[
            ReleasedByPurposeAndPhase.model_validate(asdict(r)) for r in found.released
        ],
        releases_over_time=[MonthlyRelease.model_validate(asdict(r)) for r in found.monthly],
        lines=found.lines,
        cooperations_per_phase={r.phase: r.n for r in found.phases},
        overdue_check_ins=sum(r.overdue for r in found.phases),
        loans=DashboardLoans.model_validate(asdict(found.loans)),
        versements_late=found.late,
        versements_late_amount=found.late_amount,
    )


def _grant_of(version: ProgrammeVersion | None) -> InboxGrant | None:
    """Rule 17: what the funder of a granted programme may grant, and commits besides."""
    if version is None or not version.spec.granted:
        return None
    bounds = version.spec.grant
    return InboxGrant(
        min=bounds.min if bounds is not None else None,
        max=bounds.max if bounds is not None else None,
        besides=version.spec.potential,
    )


@router.get("/{programme_id}/forecast", response_model=Forecast)
async def programme_forecast(
    programme_id: str,
    caller: CallerDep,
    pool: PoolDep,
    horizon: Annotated[
        str,
        Query(
            max_length=20,
            description=f"ISO 8601, at most {MAX_HORIZON}",
            examples=["P5Y"],
            json_schema_extra={"pattern": HORIZON_FORM},
        ),
    ] = DEFAULT_HORIZON,
) -> Forecast:
    """The releases and loan repayments the programme's lines will bring from today over
    `horizon`, by month and calendar year, by purpose; accepted and proposed lines apart;
    the day the budget runs out if every proposed line is accepted. Each cooperation's
    state is driven by the lifecycle's own rules under the `assumptions` listed (a phase is
    left after the spec's `expected_duration`, else never)."""
    try:
        parse_horizon(horizon)
    except HorizonError as exc:
        raise Problem(
            422,
            f"horizon: {exc}",
            errors=[field_error("horizon", str(exc), "value_error")],
        ) from None
    async with pool.acquire() as conn:
        version = await owned_programme(conn, programme_id, caller, "read its forecast")
        budget = await budget_of(conn, programme_id)
        texts, unkept = await programme_state_texts(conn, programme_id)
        released = await released_so_far(conn, programme_id)
    # The budget as raised since the spec was written (POST …/budget).
    assert budget is not None
    spec = version.spec.model_copy(update={"budget": budget.budget})
    # Seconds of pure computation: off the event loop, so other requests keep being served,
    # and in the pool's processes from `PARALLEL_FROM` cooperations on (runtime.forecast_pool).
    result = await asyncio.to_thread(
        forecast_texts, spec, texts, datetime.now(UTC), horizon, released
    )
    if unkept:
        result.skipped = sorted([*result.skipped, *unkept])
    return result


@router.get("/{programme_id}/inbox", response_model=Inbox)
async def inbox(programme_id: str, caller: CallerDep, pool: PoolDep) -> Inbox:
    """What waits for the funder: lines proposed to it, each with what accepting commits (its
    whole potential, rule 9), its payees and shares, and whether the facilitator proposing it
    is one of them; approvals awaited (tranches released on approval in the cooperation's
    current phase), the collectives' open requests on cooperations it funds, the lines whose
    convention it has to record (rule 18), and the amendments (avenants) of its lines to
    confirm, with whom each line pays now and would pay (rule 20)."""
    async with pool.acquire() as conn:
        await owned_programme(conn, programme_id, caller, "read its inbox")
        proposed = await inbox_store.proposed(conn, programme_id)
        allocations = await payees_store.proposed_allocations(conn, programme_id)
        names = await payees_store.organisation_names(conn, [r.cooperation for r in proposed])
        versions: dict[int, ProgrammeVersion] = {}
        for version in sorted({r.version for r in proposed}):
            found = await get_programme(conn, programme_id, version)
            if found is not None:
                versions[version] = found
        approvals = await inbox_store.awaiting(conn, programme_id)
        amending = await inbox_store.amending(conn, programme_id)
        amending_names = await payees_store.organisation_names(
            conn, [r.cooperation for r in amending]
        )
        requests = await inbox_store.requests(conn, programme_id)
        conventions = await conventions_awaited(conn, programme_id)
        to_pay = await versements.to_pay(conn, programme_id)

    def proposed_line(r: inbox_store.Proposed) -> ProposedLine:
        shown = payees(allocations.get(r.cooperation, []), r.fiscal_host, names.get(r.cooperation))
        version = versions.get(r.version)
        # The version the line keeps decides what accepting commits, never the current one.
        return ProposedLine.model_validate(
            asdict(r)
            | {
                "amount": (
                    r.committed
                    if version is None
                    else None
                    if version.spec.granted
                    else version.spec.potential
                ),
                "currency": version.spec.currency if version is not None else r.currency,
                "grant": _grant_of(version),
                "payees": [
                    InboxPayee(payee=p.payee, share=p.share, kind=p.kind, name=p.name)
                    for p in shown
                ],
                "facilitator_is_payee": facilitator_is_payee(shown, r.facilitator),
            }
        )

    def shown_payees(r: inbox_store.Amending, allocation: Any) -> list[InboxPayee]:
        return [
            InboxPayee(payee=p.payee, share=p.share, kind=p.kind, name=p.name)
            for p in payees(allocation or [], r.fiscal_host, amending_names.get(r.cooperation))
        ]

    return Inbox(
        programme=programme_id,
        amendments=[
            InboxAmendment(
                cooperation=r.cooperation,
                name=r.name,
                phase=r.phase,
                seq=r.amendment["seq"],
                proposed_at=r.amendment["proposed_at"],
                payees=shown_payees(r, r.amendment["allocation"]),
                current=shown_payees(r, r.allocation),
            )
            for r in amending
        ],
        proposed_lines=[proposed_line(r) for r in proposed],
        approvals_awaited=[AwaitedApproval.model_validate(asdict(r)) for r in approvals],
        requests=[
            InboxRequest(
                cooperation=r.cooperation_id,
                seq=r.seq,
                action=r.action,
                reason=r.reason,
                at=instant(r.requested_at),
            )
            for r in requests
        ],
        conventions_awaited=[AwaitedConvention.model_validate(asdict(r)) for r in conventions],
        versements_to_pay=[VersementToPay.model_validate(asdict(r)) for r in to_pay],
    )
