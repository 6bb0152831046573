"""Which events each command recorded, by its request id (issue 17: exactly once at any
distance in time): written with the events by the effects activity, read by the API before
it sends a command made from an Idempotency-Key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store.db import Conn
from store.events import Along


def _keep_answers_sql(arrays: int) -> str:
    """The statement that keeps answers: the cooperation is $1, the request ids, first and
    last seqs the arrays from $`arrays` on. A retried activity writes the same rows again:
    the range only ever widens."""
    ids, firsts, lasts = (f"${arrays + i}" for i in range(3))
    return (
        "INSERT INTO command_answers (cooperation_id, request_id, first_seq, last_seq)"
        f" SELECT $1, * FROM unnest({ids}::text[], {firsts}::bigint[], {lasts}::bigint[])"
        " ON CONFLICT (cooperation_id, request_id) DO UPDATE"
        " SET first_seq = least(command_answers.first_seq, EXCLUDED.first_seq),"
        " last_seq = greatest(command_answers.last_seq, EXCLUDED.last_seq)"
    )


def _arrays(answered: Sequence[tuple[str, int, int]]) -> list[list[Any]]:
    return [[a[0] for a in answered], [a[1] for a in answered], [a[2] for a in answered]]


def answers_along(answered: Sequence[tuple[str, int, int]]) -> list[Along]:
    """`keep_answers` as a part of the events' statement (`store.events.append_events`)."""
    if not answered:
        return []
    return [Along(lambda n: f"answers AS ({_keep_answers_sql(n)})", _arrays(answered))]


async def keep_answers(
    conn: Conn, cooperation_id: str, answered: Sequence[tuple[str, int, int]]
) -> None:
    """(request id, first seq, last seq) of each command answered."""
    if not answered:
        return
    await conn.execute(_keep_answers_sql(2), cooperation_id, *_arrays(answered))


async def answered(conn: Conn, cooperation_id: str, request_id: str) -> tuple[int, int] | None:
    """The first and last seq of what the request recorded, once its events are carried out."""
    row = await conn.fetchrow(
        "SELECT first_seq, last_seq FROM command_answers"
        " WHERE cooperation_id = $1 AND request_id = $2",
        cooperation_id,
        request_id,
    )
    return None if row is None else (int(row["first_seq"]), int(row["last_seq"]))
