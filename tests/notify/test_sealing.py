"""Webhook secrets at rest: rows stored in plaintext before migration 010 are encrypted by
the worker's first pass (the database cannot: it has no key), deleted ones wiped by the
migration, no plaintext may be written after it; keys rotate; `coopflow dev` keeps its key."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import asyncpg
import pytest

from cli.dev import secrets_key
from notify.sealing import SealingError, SecretBox, generate_key
from runtime.config import Settings
from store import delivery
from store.db import ensure_database, migration_files

SECRET = "whsec_" + "B" * 32


async def test_plaintext_secrets_are_wiped_or_sealed_and_none_written_again(
    postgres_server_url: str,
) -> None:
    url = await ensure_database(postgres_server_url, f"t_{uuid.uuid4().hex[:12]}")
    conn = await asyncpg.connect(url)
    try:
        files = migration_files()
        for name, sql in files:
            if name < "010_webhook_secrets.sql":
                await conn.execute(sql)
        await conn.execute(
            "INSERT INTO webhooks (id, owner_role, owner_subject, url, secret, deleted_at)"
            " VALUES ('wh_live', 'funder', 'f', 'https://x.example/', $1, NULL),"
            " ('wh_gone', 'funder', 'f', 'https://y.example/', $1, now())",
            SECRET,
        )
        # Attempts that recorded the connection's own words, as they did before.
        said = {
            "ConnectError: [Errno 111] Connection refused": "connection refused",
            "ConnectTimeout: timed out connecting to 10.0.0.7:443": "timed out",
            "ConnectError: [Errno -2] Name or service not known": "could not connect",
            "answered 503": "answered 503",
        }
        for seq, error in enumerate(said, 1):
            delivery_id = await conn.fetchval(
                "INSERT INTO webhook_deliveries"
                " (webhook_id, cooperation_id, seq, event_type, payload, last_error)"
                " VALUES ('wh_live', 'c', $1, 'Paused', '{}', $2) RETURNING id",
                seq,
                error,
            )
            await conn.execute(
                "INSERT INTO delivery_attempts (delivery_id, error, duration_ms)"
                " VALUES ($1, $2, 1)",
                delivery_id,
                error,
            )
        (sql,) = [sql for name, sql in files if name == "010_webhook_secrets.sql"]
        await conn.execute(sql)
        plain = await conn.fetch(
            "SELECT d.last_error, a.error FROM webhook_deliveries d"
            " JOIN delivery_attempts a ON a.delivery_id = d.id ORDER BY d.seq"
        )
        assert [tuple(r) for r in plain] == [(v, v) for v in said.values()]
        secrets = dict(await conn.fetch("SELECT id, secret FROM webhooks"))
        assert secrets == {"wh_live": SECRET, "wh_gone": None}
        with pytest.raises(asyncpg.CheckViolationError):
            await delivery.create_webhook(conn, "funder", "f", "https://z.example/", SECRET, None)

        old_key = generate_key()
        old = SecretBox(old_key)
        assert await delivery.seal_secrets(conn, old) == 1
        stored = await conn.fetchval("SELECT secret FROM webhooks WHERE id = 'wh_live'")
        assert SECRET not in stored and old.open(stored) == SECRET
        assert await delivery.seal_secrets(conn, old) == 0

        # A new key first, the old one kept to open: everything is sealed again with the new.
        new_key = generate_key()
        rotating = SecretBox(f"{new_key},{old_key}")
        assert await delivery.seal_secrets(conn, rotating) == 1
        stored = await conn.fetchval("SELECT secret FROM webhooks WHERE id = 'wh_live'")
        assert SecretBox(new_key).open(stored) == SECRET
        with pytest.raises(SealingError):
            old.open(stored)
    finally:
        await conn.close()


def test_keys_that_are_not_keys_are_refused() -> None:
    with pytest.raises(SealingError, match="COOPFLOW_SECRETS_KEY"):
        SecretBox("CHANGE-ME")
    with pytest.raises(SealingError, match="COOPFLOW_SECRETS_KEY"):
        SecretBox(" , ")


def test_coopflow_dev_keeps_a_key_of_its_own_unless_one_is_set(tmp_path: Path) -> None:
    unset = Settings(secrets_key=None)
    made = secrets_key(unset, tmp_path)
    assert SecretBox(made) and secrets_key(unset, tmp_path) == made
    assert stat.S_IMODE((tmp_path / "secrets.key").stat().st_mode) == 0o600
    given = generate_key()
    assert secrets_key(Settings(secrets_key=given), tmp_path) == given
