"""Which events each command recorded, by its request id (issue 17: exactly once at any
distance in time): written with the events by the effects activity, read by the API before
it sends a command made from an Idempotency-Key."""

from __future__ import annotations

from collections.abc import Sequence

from store.db import Conn


async def keep_answers(
    conn: Conn, cooperation_id: str, answered: Sequence[tuple[str, int, int]]
) -> None:
    """(request id, first seq, last seq) of each command answered."""
    if not answered:
        return
    # A retried activity writes the same rows again: the range only ever widens.
    await conn.execute(
        "INSERT INTO command_answers (cooperation_id, request_id, first_seq, last_seq)"
        " SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::bigint[])"
        " ON CONFLICT (cooperation_id, request_id) DO UPDATE"
        " SET first_seq = least(command_answers.first_seq, EXCLUDED.first_seq),"
        " last_seq = greatest(command_answers.last_seq, EXCLUDED.last_seq)",
        cooperation_id,
        [a[0] for a in answered],
        [a[1] for a in answered],
        [a[2] for a in answered],
    )


async def answered(conn: Conn, cooperation_id: str, request_id: str) -> tuple[int, int] | None:
    """The first and last seq of what the request recorded, once its events are carried out."""
    row = await conn.fetchrow(
        "SELECT first_seq, last_seq FROM command_answers"
        " WHERE cooperation_id = $1 AND request_id = $2",
        cooperation_id,
        request_id,
    )
    return None if row is None else (int(row["first_seq"]), int(row["last_seq"]))
