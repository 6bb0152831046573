"""Programmes: specs configured by funders, versioned; read by everyone (budgets and amounts
by their funder only); each funder's inbox and dashboard."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError

from api.auth import Caller, CallerDep
from api.deps import DocumentDep, PoolDep
from api.models import (
    AwaitedApproval,
    AwaitedConvention,
    BudgetRaise,
    Dashboard,
    DashboardLoans,
    Inbox,
    InboxAmendment,
    InboxGrant,
    InboxPayee,
    InboxRequest,
    MonthlyRelease,
    Page,
    ProgrammeShown,
    ProposedLine,
    ReleasedByPurposeAndPhase,
    Remaining,
    VersementToPay,
)
from api.problems import Problem, field_error, invalid
from domain.events import instant
from domain.forecast import (
    DEFAULT_HORIZON,
    MAX_HORIZON,
    Forecast,
    HorizonError,
    parse_horizon,
)
from domain.limits import at_door
from domain.payees import facilitator_is_payee, payees
from domain.programme import ProgrammeSpec, ProgrammeVersion, Purpose
from runtime.forecast_pool import forecast_texts
from store import money, versements
from store import payees as payees_store
from store.conventions import conventions_awaited
from store.db import Conn
from store.forecast import programme_state_texts, released_so_far
from store.programmes import (
    BudgetBelowCommitted,
    ProgrammeConflict,
    VersionBudgetTooLarge,
    get_programme,
    list_programmes,
    list_versions,
    put_programme,
)

router = APIRouter(prefix="/v1/programmes", tags=["programmes"])

PURPOSES = [purpose.value for purpose in Purpose]
"""The purposes in the order the domain declares them, the order dashboards show them in."""

_SPEC_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ProgrammeSpec"},
                "examples": {
                    "emergence funded before any result": {
                        "value": {
                            "id": "fondation-territoires-2027",
                            "name": "Coopérations territoriales 2027",
                            "funder": "fondation-territoires",
                            "currency": "EUR",
                            "budget": "500000.00",
                            "locale": "fr",
                            "phases": {
                                "emergence": {
                                    "check_in_every": "P1M",
                                    "report_every": "P3M",
                                    "max_duration": "P12M",
                                    "tranches": [
                                        {
                                            "id": "amorcage",
                                            "amount": "8000.00",
                                            "purpose": "animation",
                                            "when": "entry",
                                        },
                                        {
                                            "id": "emergence-2",
                                            "amount": "7000.00",
                                            "purpose": "animation",
                                            "when": {"accepted_check_ins": 3},
                                        },
                                    ],
                                }
                            },
                        }
                    }
                },
            },
            "application/yaml": {"schema": {"$ref": "#/components/schemas/ProgrammeSpec"}},
        },
    }
}


HORIZON_FORM = (
    r"^P(([1-9]|[12]\d|30)Y|([1-9]|[1-9]\d|[12]\d\d|300)M"
    r"|([1-9]\d{0,2}|1[0-4]\d\d|15[0-5]\d)W|([1-9]\d{0,3}|10[0-8]\d\d|109[0-7]\d)D)$"
)
"""What the schema promises `parse_horizon` takes: one positive count of years, months, weeks
or days within MAX_HORIZON (the server reads any calendar duration that long)."""


def _spec(body: Any, caller: Caller) -> ProgrammeSpec:
    if caller.role != "funder":
        raise Problem(403, f"a {caller.role} may not configure programmes (funders do)")
    try:
        spec = at_door(ProgrammeSpec, body)
    except ValidationError as exc:
        raise invalid(exc) from None
    if not _is_funder_of(spec, caller):
        raise Problem(
            403,
            f"funder: you are funder {caller.subject!r}, not {spec.funder!r}",
            errors=[field_error("funder", "must be the caller", "forbidden")],
        )
    return spec


def _is_funder_of(spec: ProgrammeSpec, caller: Caller) -> bool:
    """Whether the caller is the programme's funder: a funder token of that id. A subject is
    read with its role (DESIGN.md, "Roles are namespaces"): a facilitator or a collective
    whose id equals the funder's is not that funder."""
    return caller.role == "funder" and spec.funder == caller.subject


def _shown(version: ProgrammeVersion, caller: Caller) -> ProgrammeShown:
    """The spec with its version; budgets and amounts for its funder only."""
    spec = version.spec.model_dump(mode="json")
    if not _is_funder_of(version.spec, caller):
        spec.pop("budget", None)
        spec.pop("cap_per_cooperation", None)
        spec.pop("grant", None)
        for phase in spec.get("phases", {}).values():
            for tranche in phase.get("tranches", []):
                tranche.pop("amount", None)
    # Validated from what is shown, so what is left out stays out (exclude_unset).
    return ProgrammeShown.model_validate({"version": version.version, **spec})


async def _own(conn: Conn, programme_id: str, caller: Caller, what: str) -> ProgrammeVersion:
    found = await get_programme(conn, programme_id)
    if found is None:
        raise Problem(404, f"no programme {programme_id!r}")
    if not _is_funder_of(found.spec, caller):
        raise Problem(403, f"only the programme's funder may {what}")
    return found


@router.post(
    "",
    status_code=201,
    response_model=ProgrammeShown,
    response_model_exclude_unset=True,
    openapi_extra=_SPEC_BODY,
)
async def create_programme(
    body: DocumentDep, caller: CallerDep, pool: PoolDep, response: Response
) -> ProgrammeShown:
    """A funder's new programme (`funder` must be the caller); the identical spec again
    answers 200."""
    spec = _spec(body, caller)
    async with pool.acquire() as conn:
        try:
            stored = await put_programme(conn, spec, new_version=False)
        except ProgrammeConflict as exc:
            raise Problem(409, str(exc)) from None
    response.headers["Location"] = f"/v1/programmes/{spec.id}"
    if stored.outcome == "unchanged":
        response.status_code = 200
    return _shown(stored.version, caller)


@router.get("", response_model=Page[ProgrammeShown], response_model_exclude_unset=True)
async def list_all(
    caller: CallerDep,
    pool: PoolDep,
    funder: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ProgrammeShown]:
    """Every programme (its current version), by id."""
    async with pool.acquire() as conn:
        found = await list_programmes(conn, funder=funder, after=cursor, limit=limit + 1)
    items = [_shown(v, caller) for v in found[:limit]]
    more = len(found) > limit
    # next_cursor given even when None: set, so the answer keeps it (exclude_unset).
    return Page(items=items, next_cursor=found[limit - 1].spec.id if more else None)


@router.put(
    "/{programme_id}",
    response_model=ProgrammeShown,
    response_model_exclude_unset=True,
    openapi_extra=_SPEC_BODY,
)
async def publish_version(
    programme_id: str, body: DocumentDep, caller: CallerDep, pool: PoolDep, response: Response
) -> ProgrammeShown:
    """A new version of the programme; funding lines keep the version they were attached
    with. An identical spec changes nothing. The budget keeps every raise and moves by the
    change of the spec's `budget` from the version before: 409 when that would leave it below
    what is committed (the answer says both)."""
    spec = _spec(body, caller)
    if spec.id != programme_id:
        raise Problem(
            422,
            f"id: the spec is {spec.id!r}, the path {programme_id!r}",
            errors=[field_error("id", "must match the path", "id")],
        )
    async with pool.acquire() as conn:
        existing = await get_programme(conn, programme_id)
        if existing is not None and not _is_funder_of(existing.spec, caller):
            # Programmes are read by everyone: another funder's is visible, so forbidden.
            raise Problem(403, "only the programme's funder may publish a version of it")
        try:
            stored = await put_programme(conn, spec)
        except BudgetBelowCommitted as exc:
            raise Problem(
                409,
                str(exc),
                errors=[field_error("budget", "below what is committed", "committed")],
                extra={"committed": str(exc.committed), "budget": str(exc.budget)},
            ) from None
        except ProgrammeConflict as exc:
            raise Problem(409, str(exc)) from None
        except VersionBudgetTooLarge as exc:
            raise Problem(422, str(exc), errors=[field_error("budget", str(exc), "max")]) from None
    if stored.outcome == "created":
        response.status_code = 201
        response.headers["Location"] = f"/v1/programmes/{spec.id}"
    return _shown(stored.version, caller)


@router.get("/{programme_id}", response_model=ProgrammeShown, response_model_exclude_unset=True)
async def read_programme(programme_id: str, caller: CallerDep, pool: PoolDep) -> ProgrammeShown:
    async with pool.acquire() as conn:
        found = await get_programme(conn, programme_id)
    if found is None:
        raise Problem(404, f"no programme {programme_id!r}")
    return _shown(found, caller)


@router.get(
    "/{programme_id}/versions",
    response_model=list[ProgrammeShown],
    response_model_exclude_unset=True,
)
async def read_versions(
    programme_id: str, caller: CallerDep, pool: PoolDep
) -> list[ProgrammeShown]:
    async with pool.acquire() as conn:
        await _own(conn, programme_id, caller, "read its versions")
        versions = await list_versions(conn, programme_id)
    return [_shown(v, caller) for v in versions]


@router.post("/{programme_id}/budget", response_model=Remaining)
async def raise_budget(
    programme_id: str, body: BudgetRaise, caller: CallerDep, pool: PoolDep
) -> Remaining:
    """Raise the budget by `amount`: later acceptances can commit more (rule 9)."""
    async with pool.acquire() as conn:
        version = await _own(conn, programme_id, caller, "raise its budget")
        try:
            await money.raise_budget(conn, programme_id, body.amount)
        except money.BudgetTooLarge as error:
            raise Problem(
                422,
                f"amount: {error}",
                errors=[field_error("amount", str(error), "max")],
            ) from None
        row = await conn.fetchrow(
            "SELECT budget, committed FROM programmes WHERE id = $1", programme_id
        )
    assert row is not None
    return Remaining(
        programme=programme_id,
        budget=row["budget"],
        committed=row["committed"],
        remaining=row["budget"] - row["committed"],
        currency=version.spec.currency,
    )


@router.get("/{programme_id}/dashboard", response_model=Dashboard)
async def dashboard(programme_id: str, caller: CallerDep, pool: PoolDep) -> Dashboard:
    """Budget, committed, released, freed; releases by purpose and phase (animation apart)
    and month by month; cooperations per phase; overdue check-ins; loans open, outstanding,
    in arrears and written off."""
    async with pool.acquire() as conn:
        version = await _own(conn, programme_id, caller, "read its dashboard")
        budget = await conn.fetchrow(
            "SELECT budget, committed FROM programmes WHERE id = $1", programme_id
        )
        freed = await conn.fetchval(
            "SELECT coalesce(sum(freed), 0) FROM commitments WHERE programme_id = $1",
            programme_id,
        )
        by = await conn.fetch(
            "SELECT purpose, phase, kind, sum(amount) AS amount FROM releases"
            " WHERE programme = $1 GROUP BY purpose, phase, kind ORDER BY purpose, phase, kind",
            programme_id,
        )
        # Months in UTC, as every instant of the API is: not the session's time zone.
        monthly = await conn.fetch(
            "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, purpose,"
            " sum(amount) AS amount FROM releases WHERE programme = $1"
            " GROUP BY 1, 2 ORDER BY 1, array_position($2::text[], purpose), 2",
            programme_id,
            PURPOSES,
        )
        phases = await conn.fetch(
            "SELECT coalesce(c.outcome, c.phase) AS phase, count(*) AS n,"
            " count(*) FILTER (WHERE c.overdue) AS overdue"
            " FROM lines l JOIN cooperations c ON c.id = l.cooperation_id"
            " WHERE l.programme = $1 AND l.status = 'active' GROUP BY 1 ORDER BY 1",
            programme_id,
        )
        lines = await conn.fetch(
            "SELECT status, count(*) AS n FROM lines WHERE programme = $1 GROUP BY status",
            programme_id,
        )
        # A written-off loan is settled: the running loans and the written-off ones are
        # counted apart, over every loan of the programme.
        loans = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE NOT settled) AS n,"
            " coalesce(sum(outstanding) FILTER (WHERE NOT settled), 0) AS outstanding,"
            " count(*) FILTER (WHERE NOT settled AND overdue > 0) AS in_arrears,"
            " coalesce(sum(outstanding) FILTER (WHERE NOT settled AND overdue > 0), 0)"
            " AS arrears_outstanding,"
            " count(written_off) AS written_off_count,"
            " coalesce(sum(written_off), 0) AS written_off"
            " FROM loans WHERE programme = $1",
            programme_id,
        )
        late, late_amount = await versements.late(conn, programme_id)
    assert budget is not None and loans is not None
    released = sum((r["amount"] for r in by), Decimal("0.00"))
    by_purpose: dict[str, Decimal] = {}
    for r in by:
        by_purpose[r["purpose"]] = by_purpose.get(r["purpose"], Decimal("0.00")) + r["amount"]
    return Dashboard(
        programme=programme_id,
        version=version.version,
        currency=version.spec.currency,
        budget=budget["budget"],
        committed=budget["committed"],
        remaining=budget["budget"] - budget["committed"],
        released=released,
        freed=freed,
        released_by_purpose=dict(sorted(by_purpose.items())),
        animation=by_purpose.get("animation", Decimal("0.00")),
        released_by_purpose_and_phase=[
            ReleasedByPurposeAndPhase(
                purpose=r["purpose"], phase=r["phase"], kind=r["kind"], amount=r["amount"]
            )
            for r in by
        ],
        releases_over_time=[
            MonthlyRelease(month=r["month"], purpose=r["purpose"], amount=r["amount"])
            for r in monthly
        ],
        lines={r["status"]: r["n"] for r in lines},
        cooperations_per_phase={r["phase"]: r["n"] for r in phases},
        overdue_check_ins=sum(r["overdue"] for r in phases),
        loans=DashboardLoans(
            open=loans["n"],
            outstanding=loans["outstanding"],
            in_arrears=loans["in_arrears"],
            outstanding_in_arrears=loans["arrears_outstanding"],
            written_off=loans["written_off"],
            written_off_count=loans["written_off_count"],
        ),
        versements_late=late,
        versements_late_amount=late_amount,
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
        version = await _own(conn, programme_id, caller, "read its forecast")
        budget = await conn.fetchval("SELECT budget FROM programmes WHERE id = $1", programme_id)
        texts, unkept = await programme_state_texts(conn, programme_id)
        released = await released_so_far(conn, programme_id)
    # The budget as raised since the spec was written (POST …/budget).
    spec = version.spec.model_copy(update={"budget": Decimal(budget)})
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
        await _own(conn, programme_id, caller, "read its inbox")
        proposed = await conn.fetch(
            "SELECT l.cooperation_id, c.name, c.phase, c.facilitator, c.fiscal_host, l.version,"
            " l.committed, l.currency, c.updated_at"
            " FROM lines l JOIN cooperations c ON c.id = l.cooperation_id"
            " WHERE l.programme = $1 AND l.status = 'proposed' ORDER BY c.updated_at, c.id",
            programme_id,
        )
        allocations = await payees_store.proposed_allocations(conn, programme_id)
        names = await payees_store.organisation_names(conn, [r["cooperation_id"] for r in proposed])
        versions: dict[int, ProgrammeVersion] = {}
        for version in sorted({r["version"] for r in proposed}):
            found = await get_programme(conn, programme_id, version)
            if found is not None:
                versions[version] = found
        approvals = await conn.fetch(
            "SELECT l.cooperation_id, c.name, c.phase, l.awaiting_approval"
            " FROM lines l JOIN cooperations c ON c.id = l.cooperation_id"
            " WHERE l.programme = $1 AND l.status = 'active' AND l.awaiting_approval <> '{}'"
            " ORDER BY c.id",
            programme_id,
        )
        amending = await payees_store.open_amendments(conn, programme_id)
        amending_names = await payees_store.organisation_names(
            conn, [r["cooperation_id"] for r in amending]
        )
        requests = await conn.fetch(
            "SELECT r.* FROM transition_requests r JOIN lines l"
            " ON l.cooperation_id = r.cooperation_id AND l.programme = $1"
            " AND l.status IN ('proposed', 'active')"
            " WHERE r.status = 'open' ORDER BY r.requested_at",
            programme_id,
        )
        conventions = await conventions_awaited(conn, programme_id)
        to_pay = await versements.to_pay(conn, programme_id)

    def proposed_line(r: Any) -> ProposedLine:
        shown = payees(
            allocations.get(r["cooperation_id"], []),
            r["fiscal_host"],
            names.get(r["cooperation_id"]),
        )
        version = versions.get(r["version"])
        return ProposedLine(
            cooperation=r["cooperation_id"],
            name=r["name"],
            phase=r["phase"],
            facilitator=r["facilitator"],
            version=r["version"],
            # The version the line keeps decides what accepting commits, never the current one.
            amount=(
                r["committed"]
                if version is None
                else None
                if version.spec.granted
                else version.spec.potential
            ),
            currency=version.spec.currency if version is not None else r["currency"],
            grant=_grant_of(version),
            payees=[
                InboxPayee(payee=p.payee, share=p.share, kind=p.kind, name=p.name) for p in shown
            ],
            facilitator_is_payee=facilitator_is_payee(shown, r["facilitator"]),
        )

    def shown_payees(r: Any, allocation: Any) -> list[InboxPayee]:
        return [
            InboxPayee(payee=p.payee, share=p.share, kind=p.kind, name=p.name)
            for p in payees(
                allocation or [], r["fiscal_host"], amending_names.get(r["cooperation_id"])
            )
        ]

    return Inbox(
        programme=programme_id,
        amendments=[
            InboxAmendment(
                cooperation=r["cooperation_id"],
                name=r["name"],
                phase=r["phase"],
                seq=r["amendment"]["seq"],
                proposed_at=r["amendment"]["proposed_at"],
                payees=shown_payees(r, r["amendment"]["allocation"]),
                current=shown_payees(r, r["allocation"]),
            )
            for r in amending
        ],
        proposed_lines=[proposed_line(r) for r in proposed],
        approvals_awaited=[
            AwaitedApproval(
                cooperation=r["cooperation_id"],
                name=r["name"],
                phase=r["phase"],
                tranches=list(r["awaiting_approval"]),
            )
            for r in approvals
        ],
        requests=[
            InboxRequest(
                cooperation=r["cooperation_id"],
                seq=r["seq"],
                action=r["action"],
                reason=r["reason"],
                at=instant(r["requested_at"]),
            )
            for r in requests
        ],
        conventions_awaited=[AwaitedConvention.model_validate(r) for r in conventions],
        versements_to_pay=[VersementToPay.model_validate(r) for r in to_pay],
    )
