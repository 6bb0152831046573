"""A pool that skips asyncpg's reset query on release (the API's: `reset_session=False`)
still hands out clean connections where the API could leave them dirty: a transaction left
open is rolled back, with what it did and its `SET LOCAL`s."""

from __future__ import annotations

import pytest

from store.db import create_pool

pytestmark = pytest.mark.integration


async def test_a_transaction_left_open_is_rolled_back_on_release(database_url: str) -> None:
    pool = await create_pool(database_url, max_size=1, reset_session=False)
    try:
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("SET LOCAL statement_timeout = '1234ms'")
            await conn.execute("CREATE TABLE left_open (x int)")
        # One connection in the pool: the same one, back from its release.
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('left_open')") is None
            assert await conn.fetchval("SHOW statement_timeout") != "1234ms"
    finally:
        await pool.close()
