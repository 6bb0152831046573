"""Erasing personal data on request (DESIGN.md, "Personal data can be erased"; RGPD).

A member's erasure removes its name and contacts (the `people` row) and its name from the
answers kept for Idempotency-Keys. A cooperation's erasure does so for every member, removes
its collective's contact addresses and the addresses its e-mails were sent to, and blanks its
free texts wherever PostgreSQL holds them: check-ins (narrative, needs, comment), transition
requests, the event log's data, the read model's state, reports (content, and the Markdown
rendered from it), pending webhook payloads and kept answers.

Ids, dates, amounts and the sequence stay. The event log is the workflow's, numbered by it: no
event is added. Each event whose texts were blanked keeps a marker instead (`erased`: the
instant, in its data), and each erasure is a row of `erasures`, which the events API shows
with the feed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg

from domain.events import instant
from store.db import Conn
from store.events import ERASED
from store.mails import forget_address

FREE_TEXTS = frozenset({"narrative", "needs", "comment", "reason", "objectives", "note"})
"""The keys of free texts, in event data, states, reports and answers alike."""

BLANK = ""

Render = Callable[[dict[str, Any], str], str]
"""A report's Markdown from its content and locale (notify.reports.render_report)."""


class UnknownCooperation(Exception):
    pass


class UnknownMember(Exception):
    pass


@dataclass(frozen=True)
class Erased:
    """What an erasure changed, counted."""

    people: int = 0
    contacts: int = 0
    answers: int = 0
    check_ins: int = 0
    requests: int = 0
    events: int = 0
    reports: int = 0
    deliveries: int = 0


async def erase_member(conn: Conn, cooperation_id: str, member_id: str) -> Erased:
    """A member's name and contacts, here and in the kept answers about its cooperation."""
    async with conn.transaction():
        await _known(conn, cooperation_id)
        known = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM people WHERE cooperation_id = $1 AND id = $2)"
            " OR EXISTS (SELECT 1 FROM events WHERE cooperation_id = $1 AND ("
            " (type = 'CooperationRegistered'"
            " AND data->'members' @> jsonb_build_array(jsonb_build_object('id', $2::text)))"
            " OR (type = 'MemberJoined' AND data->>'id' = $2)))",
            cooperation_id,
            member_id,
        )
        if not known:
            raise UnknownMember(member_id)
        gone = await conn.fetch(
            "DELETE FROM people WHERE cooperation_id = $1 AND id = $2 RETURNING name",
            cooperation_id,
            member_id,
        )
        names = {r["name"] for r in gone if r["name"]}
        answers = await forget_in_answers(conn, cooperation_id, member_id, names)
        await conn.execute(
            "INSERT INTO erasures (cooperation_id, member) VALUES ($1, $2)",
            cooperation_id,
            member_id,
        )
    return Erased(people=len(gone), answers=answers)


async def erase_cooperation(conn: Conn, cooperation_id: str, render: Render) -> Erased:
    """Every member's name and contacts, the collective's addresses, and every free text of
    the cooperation; its ids, dates, amounts and sequence stay."""
    now = datetime.now(UTC)
    async with conn.transaction():
        await _known(conn, cooperation_id)
        people = await conn.fetch(
            "DELETE FROM people WHERE cooperation_id = $1 RETURNING id, name", cooperation_id
        )
        # Members whose row is already gone (who left) may still be named in kept answers.
        ids = {r["id"] for r in people} | {
            r["id"]
            for r in await conn.fetch(
                "SELECT m->>'id' AS id FROM events e,"
                " jsonb_array_elements(e.data->'members') m"
                " WHERE e.cooperation_id = $1 AND e.type = 'CooperationRegistered'"
                " UNION SELECT data->>'id' FROM events"
                " WHERE cooperation_id = $1 AND type = 'MemberJoined'",
                cooperation_id,
            )
        }
        names = {r["name"] for r in people if r["name"]}
        # The collective's addresses (confirmed or not), the links that were e-mailed to
        # them, and every record of what they were sent (store.mails.forget_address).
        addresses = [
            r["address"]
            for r in await conn.fetch(
                "DELETE FROM contact_addresses WHERE role = 'collective' AND subject = $1"
                " RETURNING address",
                cooperation_id,
            )
        ]
        contacts = len(addresses)
        await conn.execute(
            "DELETE FROM contact_links WHERE role = 'collective' AND subject = $1", cooperation_id
        )
        await conn.execute(
            "UPDATE signin_links SET address = NULL WHERE role = 'collective' AND subject = $1",
            cooperation_id,
        )
        for address in addresses:
            await forget_address(conn, address)
        await conn.execute(
            "DELETE FROM contacts WHERE role = 'collective' AND subject = $1", cooperation_id
        )
        # Where its e-mails went: addresses, personal data too.
        await conn.execute(
            "UPDATE notifications SET sent_to = NULL"
            " WHERE cooperation_id = $1 AND sent_to IS NOT NULL",
            cooperation_id,
        )
        blanked = {
            "check_ins": await conn.fetchval(
                "WITH blanked AS (UPDATE check_ins"
                " SET narrative = CASE WHEN narrative IS NULL THEN NULL ELSE '' END,"
                " needs = CASE WHEN needs IS NULL THEN NULL ELSE '' END,"
                " comment = CASE WHEN comment IS NULL THEN NULL ELSE '' END"
                " WHERE cooperation_id = $1"
                " AND (narrative <> '' OR needs <> '' OR comment <> '') RETURNING 1)"
                " SELECT count(*) FROM blanked",
                cooperation_id,
            ),
            "requests": await conn.fetchval(
                "WITH blanked AS (UPDATE transition_requests SET reason = ''"
                " WHERE cooperation_id = $1 AND reason <> '' RETURNING 1)"
                " SELECT count(*) FROM blanked",
                cooperation_id,
            ),
        }
        await _blank_in(
            conn,
            "SELECT id, state AS texts FROM cooperations WHERE id = $1 FOR UPDATE",
            [cooperation_id],
            "UPDATE cooperations SET state = $2 WHERE id = $1",
            lambda row, state: (row["id"], state),
        )
        blanked["events"] = await _blank_in(
            conn,
            "SELECT seq, data AS texts FROM events WHERE cooperation_id = $1"
            " AND data ?| $2::text[] ORDER BY seq FOR UPDATE",
            [cooperation_id, sorted(FREE_TEXTS)],
            "UPDATE events SET data = $3 WHERE cooperation_id = $1 AND seq = $2",
            lambda row, data: (cooperation_id, row["seq"], data | {ERASED: instant(now)}),
        )
        blanked["reports"] = await _blank_in(
            conn,
            "SELECT id, locale, content AS texts FROM reports WHERE cooperation_id = $1 FOR UPDATE",
            [cooperation_id],
            "UPDATE reports SET content = $2, markdown = $3 WHERE id = $1",
            lambda row, content: (row["id"], content, render(content, row["locale"])),
        )
        blanked["deliveries"] = await _blank_in(
            conn,
            "SELECT id, payload AS texts FROM webhook_deliveries WHERE cooperation_id = $1"
            " FOR UPDATE",
            [cooperation_id],
            "UPDATE webhook_deliveries SET payload = $2 WHERE id = $1",
            lambda row, payload: (row["id"], payload),
        )

        def scrub(answer: Any) -> tuple[Any, bool]:
            nameless, named = _forget_names(answer, ids, names)
            blank, texts = _blank(nameless)
            return blank, named or texts

        answers = await _scrub_answers(conn, cooperation_id, scrub)
        await conn.execute(
            "INSERT INTO erasures (cooperation_id, at, events) VALUES ($1, $2, $3)",
            cooperation_id,
            now,
            blanked["events"],
        )
    return Erased(people=len(people), contacts=contacts, answers=answers, **blanked)


async def _blank_in(
    conn: Conn,
    select: str,
    args: Sequence[Any],
    update: str,
    values: Callable[[asyncpg.Record, Any], tuple[Any, ...]],
) -> int:
    """The JSON values (`texts`) of the rows `select` locks, their free texts blanked, written
    back by `update` with `values` (of the row and the value blanked); how many changed."""
    changed = []
    for row in await conn.fetch(select, *args):
        blank, did = _blank(row["texts"])
        if did:
            changed.append(values(row, blank))
    if changed:
        await conn.executemany(update, changed)
    return len(changed)


@dataclass(frozen=True)
class Erasure:
    """One erasure of a cooperation's personal data: a member's, or the whole
    cooperation's."""

    at: datetime
    scope: Literal["member", "cooperation"]
    member: str | None
    events: int
    """How many events had their free texts blanked."""


async def erasures_of(conn: Conn, cooperation_id: str) -> list[Erasure]:
    """The erasures of a cooperation, oldest first."""
    rows = await conn.fetch(
        "SELECT member, at, events FROM erasures WHERE cooperation_id = $1 ORDER BY id",
        cooperation_id,
    )
    return [
        Erasure(
            at=r["at"],
            scope="member" if r["member"] is not None else "cooperation",
            member=r["member"],
            events=r["events"],
        )
        for r in rows
    ]


async def _known(conn: Conn, cooperation_id: str) -> None:
    if not await conn.fetchval("SELECT 1 FROM cooperations WHERE id = $1", cooperation_id):
        raise UnknownCooperation(cooperation_id)


async def forget_in_answers(
    conn: Conn, cooperation_id: str, member_id: str, names: Iterable[str]
) -> int:
    """A member's names gone from the kept answers about its cooperation (an answer to adding
    it holds its name for the Idempotency-Key's day); how many answers changed."""
    return await _scrub_answers(
        conn, cooperation_id, lambda v: _forget_names(v, {member_id}, names)
    )


async def _scrub_answers(
    conn: Conn, cooperation_id: str, scrub: Callable[[Any], tuple[Any, bool]]
) -> int:
    """The kept answers to requests about the cooperation (on its paths, or creating it: their
    Location names it), rewritten by `scrub`; how many changed."""
    here = f"/v1/cooperations/{cooperation_id}"
    rows = await conn.fetch(
        "SELECT role, subject, key, body FROM idempotency"
        " WHERE body IS NOT NULL AND (path = $1 OR starts_with(path, $1 || '/')"
        " OR headers->>'location' = $1 OR starts_with(headers->>'location', $1 || '/'))"
        " FOR UPDATE",
        here,
    )
    changed = 0
    for row in rows:
        try:
            answer = json.loads(bytes(row["body"]))
        except ValueError:
            continue  # not JSON: no field to find a name or a text in
        scrubbed, did = scrub(answer)
        if did:
            await conn.execute(
                "UPDATE idempotency SET body = $4 WHERE role = $1 AND subject = $2 AND key = $3",
                row["role"],
                row["subject"],
                row["key"],
                json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":")).encode(),
            )
            changed += 1
    return changed


_KEEP: Any = object()
"""What a rewrite answers for a value it leaves as it is (to look inside)."""


def _rewritten(
    value: Any, rewrite: Callable[[str | None, Any, dict[str, Any] | None], Any]
) -> tuple[Any, bool]:
    """`value` (JSON) with each value `rewrite` (of its key and the object holding it, None
    for a list's items) answers something other than _KEEP for replaced; whether any was."""

    def walk(item: Any, key: str | None, parent: dict[str, Any] | None) -> tuple[Any, bool]:
        new = rewrite(key, item, parent)
        if new is not _KEEP:
            return new, new != item
        if isinstance(item, dict):
            walked = {k: walk(sub, k, item) for k, sub in item.items()}
            return {k: v for k, (v, _) in walked.items()}, any(d for _, d in walked.values())
        if isinstance(item, list):
            items = [walk(sub, None, None) for sub in item]
            return [v for v, _ in items], any(d for _, d in items)
        return item, False

    return walk(value, None, None)


def _blank(value: Any) -> tuple[Any, bool]:
    """`value` with every free text blanked (JSON values), and whether anything was."""
    return _rewritten(
        value,
        lambda key, item, _: BLANK if key in FREE_TEXTS and isinstance(item, str) else _KEEP,
    )


def _forget_names(value: Any, ids: Iterable[str], names: Iterable[str]) -> tuple[Any, bool]:
    """`value` without the names of these members: the `name` of an object whose `id` is
    one of them, and any text that is one of their names."""
    ids, names = set(ids), set(names)

    def forget(key: str | None, item: Any, parent: dict[str, Any] | None) -> Any:
        if key == "name" and parent is not None and parent.get("id") in ids and item is not None:
            return None
        if isinstance(item, str) and item in names:
            return BLANK
        return _KEEP

    return _rewritten(value, forget)
