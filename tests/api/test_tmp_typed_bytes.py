"""TEMPORARY (deleted before merge): the answers of the routes whose store functions now return
typed results are byte for byte those of the dict-returning code they replace (copied here
from 4b488ee)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
from pydantic import TypeAdapter

from api.access import cooperation_seen, shown_event
from api.auth import Caller
from api.models import AwaitedConvention, Delivery, Erasure, EventFeed, VersementToPay
from domain.events import Event, instant
from domain.ledger import LedgerEntry, LedgerRow
from store import events as events_store
from store import money
from tests.api.conftest import Auth
from tests.api.world import COOP, FACILITATOR, FUNDER, build


# -- the code of 4b488ee, as it was ------------------------------------------------------
async def old_to_pay(conn: Any, programme_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT g.cooperation_id AS cooperation, c.name, g.line, g.tranche, g.occurrence,"
        " g.kind, g.payee, g.amount, g.currency, g.at AS ordered_at, g.due_by,"
        " coalesce(g.due_by < (now() AT TIME ZONE 'UTC')::date, false) AS late"
        " FROM ledger g JOIN cooperations c ON c.id = g.cooperation_id"
        " WHERE g.line = $1 AND g.payable AND g.paid_on IS NULL AND c.outcome IS NULL"
        " ORDER BY g.due_by NULLS LAST, g.at, g.id",
        programme_id,
    )
    return [dict(r) for r in rows]


async def old_conventions_awaited(conn: Any, programme: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT c.id, c.name, c.phase FROM cooperations c"
        " JOIN lines l ON l.cooperation_id = c.id AND l.programme = $1 AND l.status = 'active'"
        " WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(c.state->'lines') x"
        " WHERE x->>'line' = l.line AND (x->>'convention_awaited')::boolean)"
        " ORDER BY c.id",
        programme,
    )
    return [{"cooperation": r["id"], "name": r["name"], "phase": r["phase"]} for r in rows]


async def old_ledger(conn: Any, cooperation_id: str) -> list[dict[str, object]]:
    rows = await conn.fetch(
        "SELECT line, tranche, occurrence, kind, purpose, amount, currency, payee,"
        " beneficiary, at, due_by, paid_on, payable FROM ledger WHERE cooperation_id = $1"
        " AND ($2::text[] IS NULL OR line = ANY($2::text[])) ORDER BY at, id",
        cooperation_id,
        None,
    )
    return [dict(r) for r in rows]


async def old_list_events(
    conn: Any, cooperation_id: str, after: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT seq, type, at, data FROM events WHERE cooperation_id = $1 AND seq > $2"
        " ORDER BY seq LIMIT $3",
        cooperation_id,
        after,
        limit,
    )
    return [dict(r) for r in rows]


async def old_erasures_of(conn: Any, cooperation_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT member, at, events FROM erasures WHERE cooperation_id = $1 ORDER BY id",
        cooperation_id,
    )
    return [
        {
            "at": instant(r["at"]),
            "scope": "member" if r["member"] is not None else "cooperation",
            "member": r["member"],
            "events": r["events"],
        }
        for r in rows
    ]


async def old_deliveries_of(conn: Any, webhook_id: str, after: int, limit: int) -> list[Any]:
    rows = await conn.fetch(
        "SELECT d.*, coalesce((SELECT json_agg(json_build_object("
        " 'at', a.at, 'status_code', a.status_code, 'error', a.error,"
        " 'duration_ms', a.duration_ms) ORDER BY a.id)"
        " FROM delivery_attempts a WHERE a.delivery_id = d.id), '[]') AS tries"
        " FROM webhook_deliveries d WHERE d.webhook_id = $1 AND d.id > $2"
        " ORDER BY d.id LIMIT $3",
        webhook_id,
        after,
        limit,
    )
    return [dict(r) | {"tries": json.loads(r["tries"])} for r in rows]


# ----------------------------------------------------------------------------------------


def as_fastapi(shape: Any, value: Any) -> bytes:
    """The body FastAPI's JSONResponse renders for `value` under the response model."""
    content = TypeAdapter(shape).dump_python(value, mode="json")
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()


async def test_tmp_the_answers_are_byte_for_byte_those_of_the_dict_code(
    http: httpx.AsyncClient, auth: Auth, pool: asyncpg.Pool
) -> None:
    w = await build(http, auth, pool)
    coop = w.ids[COOP]
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO ledger (idempotency_key, cooperation_id, line, tranche, occurrence,"
            " kind, purpose, amount, currency, payee, beneficiary, at, payable, due_by, paid_on)"
            " VALUES ($1 || ':a', $1, 'fdt', 'coordination', 2, 'release', 'animation',"
            " 1234.50, 'EUR', 'pole-107', $1, now() - interval '3 days', true,"
            " current_date - 1, NULL),"
            " ($1 || ':b', $1, 'fdt', 'coordination', 1, 'release', 'animation',"
            " 99.99, 'EUR', 'pole-107', $1, now() - interval '2 days', true,"
            " current_date + 10, current_date),"
            " ($1 || ':c', $1, 'fdt', 'x', NULL, 'release', 'operating',"
            " 10, 'EUR', 'habitants', $1, now() - interval '1 days', true, NULL, NULL)",
            coop,
        )
        await conn.execute(
            "INSERT INTO erasures (cooperation_id, member, events) VALUES ($1, 'habitants', 2),"
            " ($1, NULL, 5)",
            coop,
        )
        await conn.execute(
            "UPDATE cooperations SET state = jsonb_set(state, '{lines,0,convention_awaited}',"
            " 'true') WHERE id = $1",
            coop,
        )
        ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id", w.webhook
            )
        ]
        assert len(ids) >= 3
        await conn.execute(
            "INSERT INTO delivery_attempts (delivery_id, status_code, error, duration_ms)"
            " VALUES ($1, 503, 'answered 503', 12), ($1, 204, NULL, 5), ($2, NULL, 'timed out',"
            " 10000)",
            ids[0],
            ids[1],
        )
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'delivered', attempts = 2,"
            " delivered_at = now() WHERE id = $1",
            ids[0],
        )
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'failed', attempts = 1,"
            " last_error = 'timed out' WHERE id = $1",
            ids[1],
        )

    checked = 0
    for column, caller in (
        ("facilitator", Caller(token="t", role="facilitator", subject=FACILITATOR)),
        ("funder", Caller(token="t", role="funder", subject=FUNDER)),
    ):
        headers = w.headers[column]
        # The ledger.
        answer = await http.get(f"/v1/cooperations/{coop}/ledger", headers=headers)
        async with pool.acquire() as conn:
            seen = await cooperation_seen(conn, caller, coop)
            rows = await old_ledger(conn, coop)
        old = [
            LedgerEntry.model_validate(
                row
                | {"status": ("paid" if row["paid_on"] else "ordered") if row["payable"] else None}
            )
            for row in rows
            if seen.sees_line(str(row["line"]))
        ]
        assert answer.content == as_fastapi(list[LedgerEntry], old), column
        assert len(old) >= 3
        # The events, with the erasures, page by page and one by one.
        for after, limit in ((0, 100), (0, 3), (4, 2), (1000, 10)):
            answer = await http.get(
                f"/v1/cooperations/{coop}/events",
                params={"after": after, "limit": limit},
                headers=headers,
            )
            async with pool.acquire() as conn:
                rows = await old_list_events(conn, coop, after, limit)
                erased = await old_erasures_of(conn, coop)
                latest = await events_store.last_seq(conn, coop)
            items = [shown_event(Event.model_validate(row), seen) for row in rows]
            feed = EventFeed(
                items=items,
                next_after=items[-1].seq if items else after,
                erasures=[Erasure.model_validate(e) for e in erased],
                last_seq=latest,
            )
            assert answer.content == as_fastapi(EventFeed, feed), (column, after, limit)
            checked += 1
        for seq in range(1, latest + 1):
            answer = await http.get(f"/v1/cooperations/{coop}/events/{seq}", headers=headers)
            async with pool.acquire() as conn:
                rows = await old_list_events(conn, coop, seq - 1, 1)
            assert answer.content == as_fastapi(
                Event, shown_event(Event.model_validate(rows[0]), seen)
            )
            checked += 1

    # The funder's inbox: conventions awaited and versements to pay.
    answer = (await http.get("/v1/programmes/fdt/inbox", headers=w.headers["funder"])).json()
    async with pool.acquire() as conn:
        conventions = await old_conventions_awaited(conn, "fdt")
        to_pay = await old_to_pay(conn, "fdt")
    assert conventions and to_pay
    assert json.dumps(answer["conventions_awaited"], ensure_ascii=False).encode() == json.dumps(
        json.loads(
            as_fastapi(
                list[AwaitedConvention], [AwaitedConvention.model_validate(r) for r in conventions]
            )
        ),
        ensure_ascii=False,
    ).encode()
    assert json.dumps(answer["versements_to_pay"]).encode() == json.dumps(
        json.loads(
            as_fastapi(list[VersementToPay], [VersementToPay.model_validate(r) for r in to_pay])
        )
    ).encode()

    # The webhook's deliveries.
    for after, limit in ((0, 50), (0, 2), (ids[0], 1)):
        answer = await http.get(
            f"/v1/webhooks/{w.webhook}/deliveries",
            params={"after": after, "limit": limit},
            headers=w.headers["funder"],
        )
        async with pool.acquire() as conn:
            rows = await old_deliveries_of(conn, w.webhook, after, limit)
        items = [
            Delivery.model_validate(
                r
                | {
                    "cooperation": r["cooperation_id"],
                    "next_attempt_at": instant(r["next_attempt_at"])
                    if r["status"] == "pending"
                    else None,
                    "delivered_at": r["delivered_at"] and instant(r["delivered_at"]),
                }
            )
            for r in rows
        ]
        old_body = {"items": items, "next_after": items[-1].id if items else after}
        body = answer.json()
        assert json.dumps(body) == json.dumps(
            {
                "items": json.loads(as_fastapi(list[Delivery], items)),
                "next_after": old_body["next_after"],
            }
        )
        assert any(i["tries"] for i in body["items"])

    # cli/simulate's events and ledger.
    async with pool.acquire() as conn:
        old_events = [
            Event(seq=row["seq"], type=row["type"], at=row["at"], data=row["data"])
            for row in await old_list_events(conn, coop, limit=1_000_000)
        ]
        new_events = await events_store.list_events(conn, coop, limit=1_000_000)
        old_rows = [LedgerRow.model_validate(row) for row in await old_ledger(conn, coop)]
        new_rows = [
            LedgerRow.model_validate(p.model_dump(exclude={"payable"}))
            for p in await money.ledger(conn, coop)
        ]
    assert [e.model_dump_json() for e in old_events] == [e.model_dump_json() for e in new_events]
    assert [r.model_dump_json() for r in old_rows] == [r.model_dump_json() for r in new_rows]
    assert checked > 10
