"""The read models the API lists, filters and aggregates, projected from each decision's
summary and events (in the effects activity's transaction, so they move with the log)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.events import Event
from domain.views import CooperationSummary
from store.checkins import record_reviewed, record_submitted
from store.db import Conn
from store.requests import record_requests
from store.scope import cooperations_of
from store.tokens import Role


async def project_state(conn: Conn, cooperation_id: str, state_json: str) -> None:
    """The whole state as JSON (`CooperationState.model_dump_json`), for the forecast
    (`store.forecast`), when the summary did not change (else `project_summary` keeps it)."""
    await conn.execute(
        "UPDATE cooperations SET full_state = $2 WHERE id = $1", cooperation_id, state_json
    )


async def project_summary(
    conn: Conn, view: CooperationSummary, state_json: str | None = None
) -> None:
    """The cooperation's row, its lines and its loans as `view` shows them, and its whole
    state when given (`project_state`), in one statement: one round trip on the path of
    every command that changes the summary. A registration's first delivery creates the
    row; the lines' rows are checked against it at the statement's end."""
    funders = sorted({line.funder for line in view.lines if line.status != "declined"})
    lines = [
        {
            "line": line.line,
            "programme": line.programme,
            "funder": line.funder,
            "status": line.status,
            "version": line.version,
            "currency": line.currency,
            "committed": line.committed,
            "released": line.released,
            "freed": line.freed,
            "awaiting_approval": line.awaiting_approval,
        }
        for line in view.lines
    ]
    loans = [
        {
            "line": line.line,
            "programme": line.programme,
            "tranche": loan.tranche,
            "currency": line.currency,
            "principal": loan.principal,
            "outstanding": loan.outstanding,
            "overdue": loan.overdue,
            "settled": loan.settled,
            "written_off": loan.written_off,
        }
        for line in view.lines
        for loan in line.loans
    ]
    await conn.execute(
        "WITH cooperation AS (INSERT INTO cooperations (id, name, facilitator, fiscal_host,"
        " phase, paused, outcome, overdue, programmes, funders, rules_version, state,"
        " full_state)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        " ON CONFLICT (id) DO UPDATE SET name = coalesce(EXCLUDED.name, cooperations.name),"
        " facilitator = EXCLUDED.facilitator,"
        " fiscal_host = EXCLUDED.fiscal_host, phase = EXCLUDED.phase,"
        " paused = EXCLUDED.paused, outcome = EXCLUDED.outcome, overdue = EXCLUDED.overdue,"
        " programmes = EXCLUDED.programmes, funders = EXCLUDED.funders,"
        " rules_version = EXCLUDED.rules_version, state = EXCLUDED.state,"
        " full_state = coalesce(EXCLUDED.full_state, cooperations.full_state),"
        " updated_at = now()),"
        " line_rows AS (INSERT INTO lines (cooperation_id, line, programme, funder, status,"
        " version, currency, committed, released, freed, awaiting_approval)"
        " SELECT $1, * FROM jsonb_to_recordset($14::jsonb) AS l(line text, programme text,"
        " funder text, status text, version integer, currency text, committed numeric,"
        " released numeric, freed numeric, awaiting_approval text[])"
        " ON CONFLICT (cooperation_id, line) DO UPDATE SET programme = EXCLUDED.programme,"
        " funder = EXCLUDED.funder, status = EXCLUDED.status, version = EXCLUDED.version,"
        " currency = EXCLUDED.currency, committed = EXCLUDED.committed,"
        " released = EXCLUDED.released, freed = EXCLUDED.freed,"
        " awaiting_approval = EXCLUDED.awaiting_approval, updated_at = now())"
        " INSERT INTO loans (cooperation_id, line, programme, tranche, currency, principal,"
        " outstanding, overdue, settled, written_off)"
        " SELECT $1, * FROM jsonb_to_recordset($15::jsonb) AS l(line text, programme text,"
        " tranche text, currency text, principal numeric, outstanding numeric,"
        " overdue integer, settled boolean, written_off numeric)"
        " ON CONFLICT (cooperation_id, line, tranche) DO UPDATE SET"
        " outstanding = EXCLUDED.outstanding, overdue = EXCLUDED.overdue,"
        " settled = EXCLUDED.settled, written_off = EXCLUDED.written_off",
        view.id,
        view.name or view.id,
        view.facilitator,
        view.fiscal_host,
        view.phase.value,
        view.paused,
        view.outcome.value if view.outcome else None,
        view.overdue,
        view.programmes,
        funders,
        view.rules_version,
        view.model_dump(mode="json"),
        state_json,
        lines,
        loans,
    )


async def project_events(conn: Conn, cooperation_id: str, events: Sequence[Event]) -> None:
    """Releases, check-ins and transition requests as their events say (idempotent: a retry
    writes the same)."""
    released = [e for e in events if e.type == "TrancheReleased"]
    if released:
        await conn.executemany(
            "INSERT INTO releases (cooperation_id, seq, line, programme, tranche, occurrence,"
            " phase, purpose, kind, amount, currency, at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::numeric, $11, $12)"
            " ON CONFLICT (cooperation_id, seq) DO NOTHING",
            [
                (
                    cooperation_id,
                    e.seq,
                    e.data["line"],
                    e.data["programme"],
                    e.data["tranche"],
                    e.data.get("occurrence"),
                    e.data["phase"],
                    e.data["purpose"],
                    e.data["kind"],
                    e.data["amount"],
                    e.data["currency"],
                    e.at,
                )
                for e in released
            ],
        )
    for event in events:
        if event.type == "CheckInSubmitted":
            await record_submitted(conn, cooperation_id, event)
        elif event.type == "CheckInReviewed":
            await record_reviewed(conn, cooperation_id, event)
    await record_requests(conn, cooperation_id, events)


async def cooperation_name(conn: Conn, cooperation_id: str) -> str | None:
    """What people call the cooperation (an organisation's name, not personal data)."""
    name: str | None = await conn.fetchval(
        "SELECT name FROM cooperations WHERE id = $1", cooperation_id
    )
    return name


async def projected_summary(conn: Conn, cooperation_id: str) -> CooperationSummary | None:
    """The summary as last projected (a cooperation whose workflow cannot answer)."""
    projected = await conn.fetchval("SELECT state FROM cooperations WHERE id = $1", cooperation_id)
    return CooperationSummary.model_validate(projected) if projected is not None else None


async def is_registered(conn: Conn, cooperation_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM cooperations WHERE id = $1", cooperation_id))


@dataclass(frozen=True)
class Listed:
    id: str
    state: str | None
    """The projected summary as JSON text, for the caller to decode (None before the first)."""


@dataclass(frozen=True)
class Filter:
    """What a list of cooperations keeps (None: any)."""

    phase: str | None = None
    outcome: str | None = None
    """An outcome, or "open" for those without one."""
    programme: str | None = None
    overdue: bool | None = None


async def list_cooperations(
    conn: Conn, role: Role, subject: str, kept: Filter, after: str | None, limit: int
) -> list[Listed]:
    """The cooperations in `role` `subject`'s scope that `kept` keeps, by id after `after`,
    `limit` of them. A funder filtering by programme gets only its own programmes'
    cooperations: another's would tell who else funds."""
    phase, outcome, programme, overdue = kept.phase, kept.outcome, kept.programme, kept.overdue
    params: list[Any] = [subject]
    conditions = [cooperations_of(role, "$1")]

    def param(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    if phase is not None:
        conditions.append(f"c.phase = {param(phase)}")
    if outcome == "open":
        conditions.append("c.outcome IS NULL")
    elif outcome is not None:
        conditions.append(f"c.outcome = {param(outcome)}")
    if programme is not None:
        # Containment, not `= ANY`: the GIN index on programmes serves it.
        conditions.append(f"c.programmes @> ARRAY[{param(programme)}]::text[]")
        if role == "funder":
            conditions.append(
                f"EXISTS (SELECT 1 FROM programmes p WHERE p.id = {param(programme)}"
                f" AND p.funder = {param(subject)})"
            )
    if overdue is not None:
        conditions.append(f"c.overdue = {param(overdue)}")
    if after is not None:
        conditions.append(f"c.id > {param(after)}")
    # The page is chosen first, its states turned into text after: in one query level the
    # cast runs on every row matched before the sort keeps the page (1,000 rows: 10 ms).
    sql = (
        "SELECT page.id, page.state::text AS state FROM"
        " (SELECT c.id, c.state FROM cooperations c WHERE "
        + " AND ".join(conditions)
        + f" ORDER BY c.id LIMIT {param(limit)}) page ORDER BY page.id"
    )
    async with conn.transaction():
        # Planned for these values every time: after five calls PostgreSQL may keep one plan
        # for the connection, the one that suited those callers (mid-sized funders, say),
        # which reads the whole table for a small one (100,000 rows: 20 ms).
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = await conn.fetch(sql, *params)
    return [Listed(row["id"], row["state"]) for row in rows]
