"""`coopflow token create|list|revoke` as an operator runs it, against the test database, with
the API checking what it made (DESIGN.md, "HTTP API")."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.integration]

COOPFLOW = Path(sys.executable).with_name("coopflow")


async def coopflow(database_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        COOPFLOW,
        *args,
        env=os.environ | {"COOPFLOW_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_token_is_created_listed_and_revoked_from_the_command_line(
    http: httpx.AsyncClient, database_url: str
) -> None:
    code, out, err = await coopflow(
        database_url, "token", "create", "--role", "funder", "--subject", "fondation"
    )
    assert code == 0, err
    # The token alone, on one line: `TOKEN=$(coopflow token create ...)` works.
    assert re.fullmatch(r"cf_[A-Za-z0-9_-]{40,}\n", out), out
    token = out.strip()
    headers = {"Authorization": f"Bearer {token}"}
    me = await http.get("/v1/me", headers=headers)
    assert me.status_code == 200 and me.json()["role"] == "funder"
    assert me.json()["subject"] == "fondation"

    code, out, _ = await coopflow(
        database_url, "token", "create", "--role", "collective", "--subject", "ruche"
    )
    assert code == 0
    other = out.strip()

    code, listed, err = await coopflow(database_url, "token", "list")
    assert code == 0, err
    rows = [line.split("\t") for line in listed.splitlines()]
    assert [(r[1], r[2]) for r in rows] == [("funder", "fondation"), ("collective", "ruche")]
    for row in rows:
        assert re.fullmatch(r"tok_[0-9a-f]+", row[0]) and re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[3]
        )
    # Never the token itself, nor anything of it.
    assert token not in listed and other not in listed and "cf_" not in listed
    code, only, _ = await coopflow(database_url, "token", "list", "--subject", "ruche")
    assert code == 0 and [line.split("\t")[2] for line in only.splitlines()] == ["ruche"]

    funder_id = rows[0][0]
    code, out, err = await coopflow(database_url, "token", "revoke", funder_id)
    assert code == 0, err
    # At once: the very next request is refused.
    refused = await http.get("/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await http.get("/v1/me", headers={"Authorization": f"Bearer {other}"})).is_success
    code, listed, _ = await coopflow(database_url, "token", "list", "--subject", "fondation")
    assert "revoked" in listed

    # Mistakes are said on stderr, with a non-zero exit and nothing on stdout.
    code, out, err = await coopflow(database_url, "token", "revoke", funder_id)
    assert code != 0 and out == "" and funder_id in err
    code, out, err = await coopflow(
        database_url, "token", "create", "--role", "admin", "--subject", "x"
    )
    assert code != 0 and out == "" and "--role" in err
