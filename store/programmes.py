"""Programme specs and versions in PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from domain.commitments import version_budget_refusal, versioned_budget
from domain.events import Event
from domain.limits import MAX_AMOUNT
from domain.programme import ProgrammeSpec, ProgrammeVersion
from store.db import Conn


class ProgrammeConflict(Exception):
    """The programme exists and belongs to someone else, or cannot take this spec."""


class BudgetBelowCommitted(ProgrammeConflict):
    """The version would bring the budget below what is committed (rule 9)."""

    def __init__(self, programme_id: str, committed: Decimal, budget: Decimal) -> None:
        super().__init__(
            f"budget: programme {programme_id!r} has {committed} committed; with this"
            f" version its budget would be {budget}"
        )
        self.committed = committed
        self.budget = budget


class VersionBudgetTooLarge(ValueError):
    """The version would bring the budget past the largest amount coopflow holds."""


@dataclass(frozen=True)
class StoredProgramme:
    version: ProgrammeVersion
    budget: Decimal
    committed: Decimal
    outcome: Literal["created", "versioned", "unchanged"]


def spec_hash(spec: ProgrammeSpec) -> str:
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def put_programme(
    conn: Conn, spec: ProgrammeSpec, *, new_version: bool = True
) -> StoredProgramme:
    """Store `spec` as a new version of its programme; an identical spec changes nothing.
    With `new_version=False` an existing programme only takes its identical spec. The budget
    is the spec's at creation plus every raise; a version moves it by the change of the spec's
    figure (BudgetBelowCommitted, VersionBudgetTooLarge when it cannot)."""
    digest = spec_hash(spec)
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT funder, current_version, budget, committed, currency"
            " FROM programmes WHERE id = $1 FOR UPDATE",
            spec.id,
        )
        if row is None:
            await conn.execute(
                "INSERT INTO programmes (id, funder, currency, current_version, budget)"
                " VALUES ($1, $2, $3, 1, $4)",
                spec.id,
                spec.funder,
                spec.currency,
                spec.budget,
            )
            await _insert_version(conn, spec, 1, digest)
            return StoredProgramme(
                ProgrammeVersion(version=1, spec=spec), spec.budget, Decimal(0), "created"
            )
        if row["funder"] != spec.funder:
            raise ProgrammeConflict(f"programme {spec.id!r} belongs to another funder")
        if row["currency"] != spec.currency:
            raise ProgrammeConflict(
                f"programme {spec.id!r} is in {row['currency']}: its currency cannot change"
            )
        current = await conn.fetchrow(
            "SELECT spec, spec_hash FROM programme_versions"
            " WHERE programme_id = $1 AND version = $2",
            spec.id,
            row["current_version"],
        )
        assert current is not None
        if current["spec_hash"] == digest:
            return StoredProgramme(
                ProgrammeVersion(
                    version=row["current_version"],
                    spec=ProgrammeSpec.model_validate(current["spec"]),
                ),
                row["budget"],
                row["committed"],
                "unchanged",
            )
        if not new_version:
            raise ProgrammeConflict(
                f"programme {spec.id!r} exists with another spec: PUT /v1/programmes/{spec.id}"
                " publishes a new version"
            )
        # Under the programme's row lock, as commitments and raises are (store/money.py): the
        # version before, the raises and what is committed cannot move meanwhile.
        previous = ProgrammeSpec.model_validate(current["spec"]).budget
        budget = versioned_budget(row["budget"], previous, spec.budget)
        match version_budget_refusal(budget, row["committed"]):
            case "committed":
                raise BudgetBelowCommitted(spec.id, row["committed"], budget)
            case "max":
                raise VersionBudgetTooLarge(
                    f"budget: with this version the budget of programme {spec.id!r} would be"
                    f" {budget}, more than {MAX_AMOUNT}"
                )
        version = row["current_version"] + 1
        await _insert_version(conn, spec, version, digest)
        await conn.execute(
            "UPDATE programmes SET current_version = $2, budget = $3, updated_at = now()"
            " WHERE id = $1",
            spec.id,
            version,
            budget,
        )
        return StoredProgramme(
            ProgrammeVersion(version=version, spec=spec),
            budget,
            row["committed"],
            "versioned",
        )


async def _insert_version(conn: Conn, spec: ProgrammeSpec, version: int, digest: str) -> None:
    await conn.execute(
        "INSERT INTO programme_versions (programme_id, version, spec, spec_hash)"
        " VALUES ($1, $2, $3, $4)",
        spec.id,
        version,
        spec.model_dump(mode="json"),
        digest,
    )


async def get_programme(
    conn: Conn, programme_id: str, version: int | None = None
) -> ProgrammeVersion | None:
    row: Any = await conn.fetchrow(
        "SELECT v.version, v.spec FROM programme_versions v JOIN programmes p"
        " ON p.id = v.programme_id"
        " WHERE v.programme_id = $1 AND v.version = coalesce($2, p.current_version)",
        programme_id,
        version,
    )
    if row is None:
        return None
    return ProgrammeVersion(version=row["version"], spec=ProgrammeSpec.model_validate(row["spec"]))


async def list_versions(conn: Conn, programme_id: str) -> list[ProgrammeVersion]:
    rows = await conn.fetch(
        "SELECT version, spec FROM programme_versions WHERE programme_id = $1 ORDER BY version",
        programme_id,
    )
    return [
        ProgrammeVersion(version=r["version"], spec=ProgrammeSpec.model_validate(r["spec"]))
        for r in rows
    ]


async def list_programmes(
    conn: Conn, *, funder: str | None = None, after: str | None = None, limit: int = 50
) -> list[ProgrammeVersion]:
    """Current versions by id, after the id `after`."""
    rows = await conn.fetch(
        "SELECT v.version, v.spec FROM programmes p JOIN programme_versions v"
        " ON v.programme_id = p.id AND v.version = p.current_version"
        " WHERE ($1::text IS NULL OR p.funder = $1) AND ($2::text IS NULL OR p.id > $2)"
        " ORDER BY p.id LIMIT $3",
        funder,
        after,
        limit,
    )
    return [
        ProgrammeVersion(version=r["version"], spec=ProgrammeSpec.model_validate(r["spec"]))
        for r in rows
    ]


async def programme_names(conn: Conn, programme_ids: Sequence[str]) -> dict[str, str]:
    """The current names of these programmes, by id (a funding line is named by its
    programme's id): what pages, e-mails and reports call a line. Unknown ids are left out."""
    if not programme_ids:
        return {}
    rows = await conn.fetch(
        "SELECT p.id, v.spec->>'name' AS name FROM programmes p JOIN programme_versions v"
        " ON v.programme_id = p.id AND v.version = p.current_version"
        " WHERE p.id = ANY($1::text[])",
        list(set(programme_ids)),
    )
    return {r["id"]: r["name"] for r in rows if r["name"]}


def lines_of(events: Iterable[Event]) -> list[str]:
    """The funding lines these events speak of: a line is named by its programme's id, in an
    event's `line` or `programme`."""
    return sorted(
        {
            value
            for event in events
            for key in ("line", "programme")
            if isinstance(value := event.data.get(key), str)
        }
    )


async def names_of_lines(conn: Conn, events: Iterable[Event]) -> dict[str, str]:
    """The names of the programmes of the lines these events speak of, by id: what an e-mail
    about them calls each line."""
    return await programme_names(conn, lines_of(events))


@dataclass(frozen=True)
class Budget:
    budget: Decimal
    """The spec's at creation, moved by every raise and version."""
    committed: Decimal


async def budget_of(conn: Conn, programme_id: str) -> Budget | None:
    row = await conn.fetchrow(
        "SELECT budget, committed FROM programmes WHERE id = $1", programme_id
    )
    return Budget(row["budget"], row["committed"]) if row is not None else None
