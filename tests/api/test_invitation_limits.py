"""An invitation adds an address only with its link: past the links that may wait, or past
the addresses a subject may keep, it adds nothing (issue 16: nobody grows someone's contacts
without bound)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from store import contacts

LASTING = timedelta(minutes=20)


async def _addresses(pool: asyncpg.Pool, subject: str) -> list[str]:
    async with pool.acquire() as conn:
        return [a.email for a in await contacts.addresses_of(conn, "collective", subject)]


async def test_an_invitation_past_the_waiting_links_adds_no_address(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for n in range(contacts.MAX_WAITING_LINKS):
            link = await contacts.invite(
                conn, "collective", "ruche", f"a{n}@ruche.example", LASTING
            )
            assert link is not None
        refused = await contacts.invite(conn, "collective", "ruche", "trop@ruche.example", LASTING)
    assert refused is None
    assert "trop@ruche.example" not in await _addresses(pool, "ruche")
    assert len(await _addresses(pool, "ruche")) == contacts.MAX_WAITING_LINKS


async def test_an_invitation_past_the_addresses_kept_adds_none(pool: asyncpg.Pool) -> None:
    kept = [f"k{n}@forges.example" for n in range(contacts.MAX_ADDRESSES)]
    async with pool.acquire() as conn:
        await contacts.add_confirmed(conn, "collective", "forges", kept)
        refused = await contacts.invite(
            conn, "collective", "forges", "plus@forges.example", LASTING
        )
        # An address it keeps already may still be invited (its link signs in).
        again = await contacts.invite(conn, "collective", "forges", kept[0].upper(), LASTING)
    assert refused is None
    assert again is not None
    assert sorted(await _addresses(pool, "forges")) == sorted(kept)
