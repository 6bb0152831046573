"""Personal data can be erased (DESIGN.md, "Who may get in, and what nobody may abuse"):
`coopflow erase --member COOPERATION/MEMBER` removes a person's name and contacts, from the
kept Idempotency-Key answers too; `coopflow erase --cooperation ID` also blanks the
cooperation's free texts wherever PostgreSQL holds them. Ids, dates, amounts and the sequence
stay, and the event feed tells that an erasure happened. The command runs as an operator runs
it, on the database of a cooperation that lived through the API on the live stack."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from store.events import EventConflict, append_events
from tests.api.conftest import cooperation, programme
from tests.web.browser import Live

pytestmark = [pytest.mark.integration]

COOPFLOW = Path(sys.executable).with_name("coopflow")

SECRET = "Secret"
"""Every name and free text of the cooperation holds it: none may be left anywhere."""


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


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def _key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


async def _lived(live: Live) -> dict[str, Any]:
    """A cooperation through its life: registered with named members, a member joining, a
    check-in with its needs reviewed with a comment, a request declined, a line declined with
    a note, a pivot, then closed with its final report. Every text holds SECRET."""
    http, suffix = live.http, uuid.uuid4().hex[:6]
    coop, funder, facilitator = f"ruche-{suffix}", f"fondation-{suffix}", f"anim-{suffix}"
    owner = await live.auth("funder", funder)
    anim = await live.auth("facilitator", facilitator)
    collective = await live.auth("collective", coop)
    spec, other = programme(f"prog-{suffix}", funder), programme(f"autre-{suffix}", funder)
    for body in (spec, other):
        await ok(await http.post("/v1/programmes", json=body, headers=owner), 201)
    members = [
        {"id": "habitants", "name": "Collectif Secret des habitants", "legal_form": "informal"},
        {"id": "repair-cafe", "name": "Repair Secret", "legal_form": "informal"},
    ]
    body = cooperation(coop, [spec["id"]], members=members, facilitator=facilitator)
    await ok(
        await http.post("/v1/cooperations", json=body, headers=anim | _key("inscription")), 201
    )
    base = f"/v1/cooperations/{coop}"
    await ok(
        await http.post(
            f"{base}/funding-lines/{spec['id']}/decision", json={"accept": True}, headers=owner
        )
    )
    await ok(
        await http.post(
            f"{base}/members",
            json={"id": "nouveau", "name": "Nouvelle Secret", "legal_form": "association"},
            headers=anim | _key("membre"),
        ),
        201,
    )
    await ok(
        await http.put(
            "/v1/me/contacts", json={"emails": ["ruche@example.org"]}, headers=collective
        )
    )
    check_in = await ok(
        await http.post(
            f"{base}/check-ins",
            json={"narrative": "Recit Secret", "needs": "Besoin Secret"},
            headers=collective | _key("point"),
        ),
        201,
    )
    await ok(
        await http.post(
            f"{base}/check-ins/{check_in['id']}/review",
            json={"decision": "accepted", "comment": "Commentaire Secret"},
            headers=anim | _key("revue"),
        )
    )
    request = await ok(
        await http.post(
            f"{base}/transition-requests",
            json={"action": "pause", "reason": "Demande Secret"},
            headers=collective | _key("demande"),
        ),
        201,
    )
    await ok(
        await http.post(
            f"{base}/transition-requests/{request['seq']}/decline",
            json={"reason": "Refus Secret"},
            headers=anim | _key("refus"),
        )
    )
    await ok(
        await http.post(f"{base}/funding-lines", json={"programme": other["id"]}, headers=anim),
        201,
    )
    # The funder sees the line proposed to it once the read model has it.
    for _ in range(200):
        if (await http.get(f"{base}/funding-lines/{other['id']}", headers=owner)).is_success:
            break
        await asyncio.sleep(0.05)
    await ok(
        await http.post(
            f"{base}/funding-lines/{other['id']}/decision",
            json={"accept": False, "note": "Note Secret"},
            headers=owner | _key("decision"),
        )
    )
    await ok(
        await http.post(
            f"{base}/transitions",
            json={"action": "pivot", "objectives": "Objectifs Secret", "reason": "Pivot Secret"},
            headers=anim | _key("pivot"),
        )
    )
    await ok(
        await http.post(
            f"{base}/transitions",
            json={"action": "close", "outcome": "completed"},
            headers=anim | _key("cloture"),
        )
    )
    # Effects follow the answers: the log, the check-in's review and the final report.
    for _ in range(200):
        feed = await ok(await http.get(f"{base}/events?limit=500", headers=anim))
        reports = await ok(await http.get(f"{base}/reports", headers=anim))
        if any(e["type"] == "Closed" for e in feed["items"]) and any(r["final"] for r in reports):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the cooperation's close never reached PostgreSQL")
    return {
        "coop": coop,
        "base": base,
        "anim": anim,
        "owner": owner,
        "collective": collective,
        "check_in": check_in["id"],
        "report": next(r["id"] for r in reports if r["final"]),
        "subjects": [coop, funder, facilitator],
    }


async def _everything(live: Live, world: dict[str, Any]) -> str:
    """Every text PostgreSQL holds about the cooperation, as one string."""
    coop = world["coop"]
    async with live.pool.acquire() as conn:
        parts = [
            await conn.fetchval(query, *args)
            for query, args in (
                (
                    "SELECT string_agg(data::text, ' ') FROM events WHERE cooperation_id = $1",
                    [coop],
                ),
                ("SELECT state::text FROM cooperations WHERE id = $1", [coop]),
                (
                    "SELECT string_agg(concat_ws(' ', narrative, needs, comment), ' ')"
                    " FROM check_ins WHERE cooperation_id = $1",
                    [coop],
                ),
                (
                    "SELECT string_agg(reason, ' ') FROM transition_requests"
                    " WHERE cooperation_id = $1",
                    [coop],
                ),
                (
                    "SELECT string_agg(content::text || markdown, ' ') FROM reports"
                    " WHERE cooperation_id = $1",
                    [coop],
                ),
                (
                    "SELECT string_agg(concat_ws(' ', name, contact::text), ' ') FROM people"
                    " WHERE cooperation_id = $1",
                    [coop],
                ),
                (
                    "SELECT string_agg(address, ' ') FROM contact_addresses WHERE subject = $1",
                    [coop],
                ),
                (
                    "SELECT string_agg(address, ' ') FROM contact_links WHERE subject = $1",
                    [coop],
                ),
                (
                    "SELECT string_agg(address, ' ') FROM notification_mails"
                    " WHERE cooperation_id = $1",
                    [coop],
                ),
                (
                    "SELECT string_agg(convert_from(body, 'UTF8'), ' ') FROM idempotency"
                    " WHERE subject = ANY($1::text[])",
                    [world["subjects"]],
                ),
            )
        ]
    return " ".join(p for p in parts if p)


async def test_a_member_then_the_whole_cooperation_are_erased(module_live_server: Live) -> None:
    live = module_live_server
    http = live.http
    world = await _lived(live)
    coop, base, anim = world["coop"], world["base"], world["anim"]
    assert (await _everything(live, world)).count(SECRET) >= 12
    async with live.pool.acquire() as conn:
        before = await conn.fetch(
            "SELECT seq, type, at, data FROM events WHERE cooperation_id = $1 ORDER BY seq", coop
        )
        ledger = await conn.fetch(
            "SELECT * FROM ledger WHERE cooperation_id = $1 ORDER BY id", coop
        )
    assert any(r["type"] == "TrancheReleased" for r in before) and ledger

    # -- one member: its name and contacts, its name in the kept answers ------------------
    code, out, err = await coopflow(live.database_url, "erase", "--member", f"{coop}/nouveau")
    assert code == 0, err
    assert "nouveau" in out
    async with live.pool.acquire() as conn:
        people = {
            r["id"]: r["name"]
            for r in await conn.fetch("SELECT id, name FROM people WHERE cooperation_id = $1", coop)
        }
        answer = await conn.fetchval(
            "SELECT convert_from(body, 'UTF8') FROM idempotency"
            " WHERE role = 'facilitator' AND key = 'membre' AND subject = $1",
            world["subjects"][2],
        )
    assert people == {
        "habitants": "Collectif Secret des habitants",
        "repair-cafe": "Repair Secret",
    }
    assert "Nouvelle Secret" not in answer and '"id":"nouveau"' in answer
    listed = await ok(await http.get(f"{base}/members", headers=anim))
    assert {m["id"]: m["name"] for m in listed}["nouveau"] is None
    feed = await ok(await http.get(f"{base}/events?limit=500", headers=anim))
    assert [(e["scope"], e["member"], e["events"]) for e in feed["erasures"]] == [
        ("member", "nouveau", 0)
    ]
    # The answer is still given again for its key, without the name.
    again = await http.post(
        f"{base}/members",
        json={"id": "nouveau", "name": "Nouvelle Secret", "legal_form": "association"},
        headers=anim | _key("membre"),
    )
    assert again.headers["idempotent-replayed"] == "true" and again.json()["name"] is None

    # -- the whole cooperation: every name, its contacts and its free texts -----------------
    code, out, err = await coopflow(live.database_url, "erase", "--cooperation", coop)
    assert code == 0, err
    assert coop in out
    everything = await _everything(live, world)
    assert SECRET not in everything, everything
    assert "ruche@example.org" not in everything

    async with live.pool.acquire() as conn:
        after = await conn.fetch(
            "SELECT seq, type, at, data FROM events WHERE cooperation_id = $1 ORDER BY seq", coop
        )
        assert (
            await conn.fetch("SELECT * FROM ledger WHERE cooperation_id = $1 ORDER BY id", coop)
            == ledger
        )
        assert (
            await conn.fetchval("SELECT count(*) FROM people WHERE cooperation_id = $1", coop) == 0
        )
    # The sequence, the dates and every id and amount stay; blanked events say so.
    assert [(r["seq"], r["type"], r["at"]) for r in after] == [
        (r["seq"], r["type"], r["at"]) for r in before
    ]
    texts = {"reason", "objectives", "note"}
    blanked = []
    for old, new in zip(before, after, strict=True):
        if texts & {k for k, v in old["data"].items() if isinstance(v, str) and v}:
            blanked.append(old["type"])
            assert set(new["data"]) == set(old["data"]) | {"erased"}
            for key, value in old["data"].items():
                assert new["data"][key] == ("" if key in texts and value else value), key
        else:
            assert new["data"] == old["data"]
    assert sorted(blanked) == [
        "FundingLineDeclined",
        "Pivoted",
        "TransitionRequestDeclined",
        "TransitionRequested",
    ]
    feed = await ok(await http.get(f"{base}/events?limit=500", headers=anim))
    assert [(e["scope"], e["member"], e["events"]) for e in feed["erasures"]] == [
        ("member", "nouveau", 0),
        ("cooperation", None, 4),
    ]
    assert sum("erased" in e["data"] for e in feed["items"]) == 4

    # Through the API too: the check-in, the request, the report, the answers kept for keys.
    shown = await ok(await http.get(f"{base}/check-ins/{world['check_in']}", headers=anim))
    assert (shown["narrative"], shown["needs"], shown["comment"]) == ("", "", "")
    assert shown["status"] == "accepted"
    report = await http.get(
        f"/v1/reports/{world['report']}", headers=world["owner"] | {"Accept": "text/markdown"}
    )
    assert report.status_code == 200 and SECRET not in report.text
    replayed = await http.post(
        f"{base}/transitions",
        json={"action": "pivot", "objectives": "Objectifs Secret", "reason": "Pivot Secret"},
        headers=anim | _key("pivot"),
    )
    assert replayed.headers["idempotent-replayed"] == "true" and SECRET not in replayed.text
    # (The state a workflow answers while Temporal keeps it is not PostgreSQL's: the domain
    # keeps no free text there.)
    summary = await ok(await http.get(base, headers=anim))
    assert summary["id"] == coop and summary["outcome"] == "completed"
    assert [m["id"] for m in summary["members"]] == ["habitants", "repair-cafe", "nouveau"]


async def test_erase_refuses_what_it_cannot_find_or_read(module_live_server: Live) -> None:
    live = module_live_server
    coop = f"ruche-{uuid.uuid4().hex[:6]}"
    await ok(
        await live.http.post(
            "/v1/cooperations",
            json=cooperation(coop, [], facilitator="anim"),
            headers=await live.auth("facilitator", "anim"),
        ),
        201,
    )
    for _ in range(100):
        async with live.pool.acquire() as conn:
            if await conn.fetchval("SELECT 1 FROM cooperations WHERE id = $1", coop):
                break
        await asyncio.sleep(0.05)
    cases = [
        (("--cooperation", "inconnue"), "inconnue"),
        (("--member", "inconnue/habitants"), "inconnue"),
        (("--member", f"{coop}/personne"), "personne"),
        (("--member", coop), "COOPERATION/MEMBER"),
        ((), "--member"),
        (("--member", f"{coop}/habitants", "--cooperation", coop), "one of"),
    ]
    for args, said in cases:
        code, out, err = await coopflow(live.database_url, "erase", *args)
        assert (code, out) == (2, ""), (args, code, out, err)
        assert said in err, (args, err)
    # Nothing was erased by them.
    async with live.pool.acquire() as conn:
        kept = await conn.fetchval("SELECT count(*) FROM people WHERE cooperation_id = $1", coop)
        erasures = await conn.fetchval(
            "SELECT count(*) FROM erasures WHERE cooperation_id = $1", coop
        )
    assert kept == 2 and erasures == 0


async def test_an_erased_event_sent_again_by_its_workflow_stays_blank(
    module_live_server: Live,
) -> None:
    """A workflow whose effects are retried sends its events again, texts and all: the log
    keeps them erased, and still refuses an event that differs in anything else."""
    coop = f"ruche-{uuid.uuid4().hex[:6]}"
    event = {
        "seq": 1,
        "type": "Paused",
        "at": "2027-01-04T00:00:00Z",
        "data": {"phase": "emergence", "reason": "Raison Secret"},
    }
    async with module_live_server.pool.acquire() as conn:
        assert await append_events(conn, coop, [event]) == 1
        await conn.execute(
            "UPDATE events SET data = $2 WHERE cooperation_id = $1 AND seq = 1",
            coop,
            {"phase": "emergence", "reason": "", "erased": "2027-02-01T00:00:00Z"},
        )
        assert await append_events(conn, coop, [event]) == 0
        data = await conn.fetchval(
            "SELECT data FROM events WHERE cooperation_id = $1 AND seq = 1", coop
        )
        assert data["reason"] == "" and "erased" in data
        await conn.execute(
            "UPDATE events SET data = $2 WHERE cooperation_id = $1 AND seq = 1",
            coop,
            {"phase": "emergence", "reason": "Autre"},
        )
        with pytest.raises(EventConflict):
            await append_events(conn, coop, [event])
