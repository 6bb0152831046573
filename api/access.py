"""What a caller may see and do (DESIGN.md, "HTTP API"), decided from the read model.

A cooperation is visible to its facilitator, to its fiscal host when that is someone else
(reads only), to its collective, and to the funders of its lines (proposed or active). What
is out of scope is not found (404: nothing says it exists); a visible cooperation where the
action is not the caller's answers 403. A funder sees the shared parts and its own lines
only: other funders' lines, angles and amounts are left out, and their events keep their
seq, type and date with the data withheld, so every reader's feed stays gapless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from api.auth import Caller
from api.problems import Problem
from domain.events import Event
from domain.views import CooperationSummary
from store.db import Conn
from store.scope import Involved, involved

Relation = Literal["facilitator", "host", "collective", "funder"]

EVERYONE: tuple[Relation, ...] = ("facilitator", "host", "collective", "funder")
SHARED: tuple[Relation, ...] = ("facilitator", "collective", "funder")
"""The shared parts (check-ins, reports, requests): not a fiscal host's, which only reads
what it hosts, its ledger, and the reports of the lines that pay it (api/routes/reports.py)."""


@dataclass(frozen=True)
class Seen:
    """A cooperation as one caller sees it."""

    id: str
    relation: Relation
    caller: Caller
    own_lines: frozenset[str]
    """The lines a funder may see; every line for the others."""
    all_lines: bool

    def sees_line(self, line: str) -> bool:
        return self.all_lines or line in self.own_lines


def not_found(cooperation_id: str) -> Problem:
    return Problem(404, f"no cooperation {cooperation_id!r}")


async def cooperation_seen(conn: Conn, caller: Caller, cooperation_id: str) -> Seen:
    """The caller's relation to a cooperation; 404 when it is out of scope (or unknown)."""
    found = await involved(
        conn, cooperation_id, caller.subject if caller.role == "funder" else None
    )
    return seen_as(caller, cooperation_id, found)


def seen_as(caller: Caller, cooperation_id: str, found: Involved | None) -> Seen:
    """The caller's relation to a cooperation whose parties are `found` (None: unknown)."""
    if found is None:
        raise not_found(cooperation_id)
    relation = _relation(caller, found)
    if relation is None:
        raise not_found(cooperation_id)
    return Seen(found.id, relation, caller, found.own_lines, all_lines=relation != "funder")


def _relation(caller: Caller, found: Involved) -> Relation | None:
    if caller.role == "collective":
        return "collective" if caller.subject == found.id else None
    if caller.role == "facilitator":
        if found.facilitator == caller.subject:
            return "facilitator"
        return "host" if found.fiscal_host == caller.subject else None
    return "funder" if caller.subject in found.funders else None


def allow(seen: Seen, relations: tuple[Relation, ...], what: str) -> None:
    """403 unless the caller's relation may `what`; a relation that may not even read the
    part in question is out of scope (404), as `reads` says."""
    if seen.relation not in relations:
        raise Problem(403, f"a {_named(seen.relation)} may not {what}")


def reads(seen: Seen, relations: tuple[Relation, ...], what: str) -> None:
    """404 when this part of the cooperation is out of the caller's scope."""
    if seen.relation not in relations:
        raise Problem(404, f"no {what} of cooperation {seen.id!r} in your scope")


def _named(relation: Relation) -> str:
    return {
        "facilitator": "facilitator",
        "host": "fiscal host (who only reads what it hosts)",
        "collective": "collective",
        "funder": "funder",
    }[relation]


def shown(summary: CooperationSummary, seen: Seen) -> CooperationSummary:
    """The summary as the caller may see it: a funder's own lines only."""
    if seen.all_lines:
        return summary
    return summary.model_copy(
        update={
            "lines": [line for line in summary.lines if line.line in seen.own_lines],
            "programmes": [p for p in summary.programmes if p in seen.own_lines],
        }
    )


def shown_event(event: Event, seen: Seen) -> Event:
    """An event about a line the caller may not see keeps its seq, type and date only."""
    line = event.data.get("line")
    if line is None or seen.sees_line(str(line)):
        return event
    return event.model_copy(update={"data": {}})
