"""Exactly once, whatever happens between a command's first try and its retry (issue 17): a
first try that no worker answered (503, its Idempotency-Key let go), the workflow continued as
new meanwhile, or ended: the same key sent again gets the command's one outcome, with its
events, never a second decision. On the real stack: PostgreSQL, the Temporal dev server (it
suggests continue-as-new at 50 history events, tests/conftest.py), a worker stopped and
started again."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.client import Client, WorkflowExecutionStatus

from api.app import create_app
from runtime.config import Settings
from runtime.temporal import cooperation_workflow_id
from tests.api.conftest import Auth, cooperation, programme, tokens
from tests.api.world import loan_programme
from worker.main import build_worker

FUNDER = "fondation"
FACILITATOR = "anim"
ANSWER_WITHIN = 2.0
"""Seconds the API waits for a command's answer here (30 in production) before its 503."""


class Stack:
    """The app in process, and a worker on its task queue that the test stops and starts."""

    def __init__(self, http: httpx.AsyncClient, client: Client, pool: asyncpg.Pool, queue: str):
        self.http = http
        self.client = client
        self.pool = pool
        self.queue = queue
        self._worker: contextlib.AsyncExitStack | None = None

    async def worker_up(self) -> None:
        assert self._worker is None
        self._worker = contextlib.AsyncExitStack()
        await self._worker.enter_async_context(build_worker(self.client, self.pool, self.queue))

    async def worker_down(self) -> None:
        assert self._worker is not None
        await self._worker.aclose()
        self._worker = None

    async def run_id(self, coop: str) -> str | None:
        return (
            await self.client.get_workflow_handle(cooperation_workflow_id(coop)).describe()
        ).run_id

    async def forget_answer(self, coop: str, key: str) -> None:
        async with self.pool.acquire() as conn:
            forgotten = await conn.execute(
                "DELETE FROM command_answers WHERE cooperation_id = $1"
                " AND request_id = (SELECT request FROM idempotency WHERE key = $2)",
                coop,
                key,
            )
        assert forgotten == "DELETE 1"

    async def events(self, coop: str, kind: str | None = None) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT seq, type, data FROM events WHERE cooperation_id = $1"
                " AND ($2::text IS NULL OR type = $2) ORDER BY seq",
                coop,
                kind,
            )
        return [dict(r) for r in rows]

    async def logged(self, coop: str, kind: str, count: int = 1) -> list[dict[str, Any]]:
        """The `kind` events of the log, once there are `count` (effects follow answers)."""
        for _ in range(400):
            found = await self.events(coop, kind)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {count} {kind} in the log of {coop}")


@pytest_asyncio.fixture
async def stack(
    pool: asyncpg.Pool, temporal_client: Client, task_queue: str
) -> AsyncIterator[Stack]:
    settings = Settings(
        task_queue=task_queue,
        public_url="http://t",
        command_answer_seconds=ANSWER_WITHIN,
    )
    app = create_app(settings, pool=pool, client=temporal_client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        made = Stack(http, temporal_client, pool, task_queue)
        await made.worker_up()
        try:
            yield made
        finally:
            if made._worker is not None:
                await made.worker_down()


@pytest_asyncio.fixture
async def auth(pool: asyncpg.Pool) -> Auth:
    return tokens(pool)


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


async def _open(stack: Stack, auth: Auth) -> tuple[str, dict[str, dict[str, str]]]:
    """A cooperation with a grant line (a tranche on approval) and a disbursed loan."""
    coop = f"forges-{uuid.uuid4().hex[:6]}"
    who = {
        "funder": await auth("funder", FUNDER),
        "facilitator": await auth("facilitator", FACILITATOR),
        "collective": await auth("collective", coop),
    }
    http = stack.http
    for spec in (programme(f"fdt-{coop}", FUNDER), loan_programme(f"pret-{coop}", FUNDER)):
        await ok(await http.post("/v1/programmes", json=spec, headers=who["funder"]), 201)
    # The loan's borrower is a member that is a legal entity, never the fiscal host (rule 20).
    borrower = {"id": "scic-forges", "name": "SCIC des Forges", "legal_form": "scic"}
    lent = {"programme": f"pret-{coop}", "allocation": [{"payee": borrower["id"], "share": "1"}]}
    body = cooperation(coop, [f"fdt-{coop}", lent], facilitator=FACILITATOR)
    body["members"] = [*body["members"], borrower]
    await ok(await http.post("/v1/cooperations", json=body, headers=who["facilitator"]), 201)
    for line in (f"fdt-{coop}", f"pret-{coop}"):
        await ok(
            await http.post(
                f"/v1/cooperations/{coop}/funding-lines/{line}/decision",
                json={"accept": True},
                headers=who["funder"],
            )
        )
    await stack.logged(coop, "TrancheReleased", 2)
    return coop, who


async def _unanswered(stack: Stack, *calls: tuple[str, dict[str, Any], dict[str, str]]) -> None:
    """Each POST tried with no worker running: 503, the key let go."""
    await stack.worker_down()
    answers = await asyncio.gather(
        *(stack.http.post(path, json=body, headers=headers) for path, body, headers in calls)
    )
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
    await stack.worker_up()


async def _continued(stack: Stack, coop: str, who: dict[str, dict[str, str]], since: str) -> int:
    """Repayments of 1.00 with keys of their own until the workflow has continued as new after
    run `since`: its memory of recent events is gone. Returns how many were sent. Each waits
    for its effects (a workflow continues once what it decided is carried out)."""
    sent = 0
    while await stack.run_id(coop) == since:
        assert sent < 40, "the workflow never continued as new"
        before = len(await stack.events(coop, "RepaymentRecorded"))
        headers = who["funder"] | {"Idempotency-Key": f"filler-{sent}-{uuid.uuid4().hex[:6]}"}
        await ok(
            await stack.http.post(
                f"/v1/cooperations/{coop}/repayments",
                json={"line": f"pret-{coop}", "tranche": "pret", "amount": "1.00"},
                headers=headers,
            ),
            201,
        )
        sent += 1
        await stack.logged(coop, "RepaymentRecorded", before + 1)
        await asyncio.sleep(0.2)
    return sent


async def test_a_command_first_unanswered_gets_its_first_answer_after_continue_as_new(
    stack: Stack, auth: Auth
) -> None:
    coop, who = await _open(stack, auth)
    base = f"/v1/cooperations/{coop}"
    line, loan = f"fdt-{coop}", f"pret-{coop}"
    funder, facilitator, collective = who["funder"], who["facilitator"], who["collective"]
    check_in = (f"{base}/check-ins", {"narrative": "Premier atelier."}, collective | _key("ci"))
    asked = (
        f"{base}/transition-requests",
        {"action": "pause", "reason": "Été"},
        collective | _key("req"),
    )
    repaid = (
        f"{base}/repayments",
        {"line": loan, "tranche": "pret", "amount": "100.00"},
        funder | _key("rep"),
    )
    approved = (
        f"{base}/approvals",
        {"line": line, "tranche": "feu-vert"},
        funder | _key("app"),
    )
    await _unanswered(stack, check_in, asked, repaid, approved)
    # The commands were applied once the worker came back, before any retry.
    (submitted,) = await stack.logged(coop, "CheckInSubmitted")
    (requested,) = await stack.logged(coop, "TransitionRequested")
    (repayment,) = await stack.logged(coop, "RepaymentRecorded")
    await stack.logged(coop, "TrancheApproved")
    # The check-in's text was kept through the 503: readers see it before any retry.
    shown = await ok(
        await stack.http.get(
            f"{base}/check-ins/{submitted['data']['check_in']}", headers=collective
        )
    )
    assert shown["narrative"] == "Premier atelier."
    fillers = await _continued(stack, coop, who, await stack.run_id(coop))
    # The request and the repayment as if answered by the code before this release, which
    # kept no answers in PostgreSQL: the workflow remembers their request ids, the event log
    # gives their events. The check-in and the approval are answered from PostgreSQL.
    await stack.forget_answer(coop, asked[2]["Idempotency-Key"])
    await stack.forget_answer(coop, repaid[2]["Idempotency-Key"])

    again = await ok(await stack.http.post(check_in[0], json=check_in[1], headers=check_in[2]), 201)
    assert again == {
        "id": submitted["data"]["check_in"],
        "period": submitted["data"]["period"],
        "status": "submitted",
    }
    request = await ok(await stack.http.post(asked[0], json=asked[1], headers=asked[2]), 201)
    assert request["seq"] == requested["seq"] and request["reason"] == "Été"
    money = await ok(await stack.http.post(repaid[0], json=repaid[1], headers=repaid[2]), 201)
    assert money == {"seq": repayment["seq"], **repayment["data"]}
    state = await ok(await stack.http.post(approved[0], json=approved[1], headers=approved[2]))
    (fdt,) = [x for x in state["lines"] if x["line"] == line]
    assert {t["tranche"]: t["status"] for t in fdt["tranches"]}["feu-vert"] == "released"
    # Nothing decided twice: one submission, one request, one approval, the fillers' repayments.
    await asyncio.sleep(0.5)
    assert len(await stack.events(coop, "CheckInSubmitted")) == 1
    assert len(await stack.events(coop, "TransitionRequested")) == 1
    assert len(await stack.events(coop, "TrancheApproved")) == 1
    assert len(await stack.events(coop, "RepaymentRecorded")) == 1 + fillers

    # A review and a decline, first unanswered, then retried in a later run.
    reviewed = (
        f"{base}/check-ins/{submitted['data']['check_in']}/review",
        {"decision": "accepted", "comment": "Bien."},
        facilitator | _key("rev"),
    )
    declined = (
        f"{base}/transition-requests/{requested['seq']}/decline",
        {"reason": "Pas cet été."},
        facilitator | _key("dec"),
    )
    await _unanswered(stack, reviewed, declined)
    await stack.logged(coop, "CheckInReviewed")
    await stack.logged(coop, "TransitionRequestDeclined")
    await _continued(stack, coop, who, await stack.run_id(coop))
    review = await ok(await stack.http.post(reviewed[0], json=reviewed[1], headers=reviewed[2]))
    assert review["status"] == "accepted" and review["comment"] == "Bien."
    decline = await ok(await stack.http.post(declined[0], json=declined[1], headers=declined[2]))
    assert decline["seq"] == requested["seq"] and decline["status"] == "declined"
    await asyncio.sleep(0.5)
    assert len(await stack.events(coop, "CheckInReviewed")) == 1
    assert len(await stack.events(coop, "TransitionRequestDeclined")) == 1


async def test_money_first_unanswered_is_answered_once_after_its_workflow_ended(
    stack: Stack, auth: Auth
) -> None:
    coop, who = await _open(stack, auth)
    base, loan, funder = f"/v1/cooperations/{coop}", f"pret-{coop}", who["funder"]
    await ok(
        await stack.http.post(
            f"{base}/transitions",
            json={"action": "close", "outcome": "completed"},
            headers=who["facilitator"],
        )
    )
    # A repayment first unanswered, applied once the worker is back; the workflow continues
    # as new; a write-off, first unanswered too, settles the loan and ends the workflow.
    repaid = (
        f"{base}/repayments",
        {"line": loan, "tranche": "pret", "amount": "250.00"},
        funder | _key("rep"),
    )
    await _unanswered(stack, repaid)
    (repayment,) = await stack.logged(coop, "RepaymentRecorded")
    fillers = await _continued(stack, coop, who, await stack.run_id(coop))
    written = (
        f"{base}/write-offs",
        {"line": loan, "tranche": "pret", "reason": "Activité arrêtée"},
        funder | _key("wo"),
    )
    await _unanswered(stack, written)
    (event,) = await stack.logged(coop, "LoanWrittenOff")
    handle = stack.client.get_workflow_handle(cooperation_workflow_id(coop))
    await handle.result()
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    # Their retries get their first answers, from PostgreSQL: the workflow is gone.
    first = await ok(await stack.http.post(written[0], json=written[1], headers=written[2]), 201)
    assert first["seq"] == event["seq"] and first["amount"] == event["data"]["amount"]
    assert first == {"seq": event["seq"], **{k: event["data"][k] for k in first if k != "seq"}}
    money = await ok(await stack.http.post(repaid[0], json=repaid[1], headers=repaid[2]), 201)
    assert money == {"seq": repayment["seq"], **repayment["data"]}
    # Others (other keys) get the rules' answer: the loan is settled.
    for path, body, _ in (written, repaid):
        other = await stack.http.post(path, json=body, headers=funder | _key("autre"))
        assert other.status_code == 409, other.text
        assert "settled" in other.json()["detail"]
    assert len(await stack.events(coop, "LoanWrittenOff")) == 1
    assert len(await stack.events(coop, "RepaymentRecorded")) == 1 + fillers
    async with stack.pool.acquire() as conn:
        postings = await conn.fetchval(
            "SELECT count(*) FROM ledger WHERE cooperation_id = $1 AND kind = 'repayment'", coop
        )
    assert postings == 1 + fillers


async def test_a_registration_first_unanswered_is_answered_201_again(
    stack: Stack, auth: Auth
) -> None:
    coop = f"bourg-{uuid.uuid4().hex[:6]}"
    funder = await auth("funder", FUNDER)
    facilitator = await auth("facilitator", FACILITATOR)
    await ok(
        await stack.http.post(
            "/v1/programmes", json=programme(f"fdt-{coop}", FUNDER), headers=funder
        ),
        201,
    )
    registered = (
        "/v1/cooperations",
        cooperation(coop, [f"fdt-{coop}"], facilitator=FACILITATOR),
        facilitator | _key("inscription"),
    )
    await _unanswered(stack, registered)
    await stack.logged(coop, "CooperationRegistered")
    again = await stack.http.post(registered[0], json=registered[1], headers=registered[2])
    assert again.status_code == 201, again.text
    assert again.headers["location"] == f"/v1/cooperations/{coop}"
    assert again.json()["id"] == coop and again.json()["phase"] == "emergence"
    members = await ok(await stack.http.get(f"{base_of(coop)}/members", headers=facilitator))
    assert {m["name"] for m in members} == {"Collectif des habitants", "Repair café"}
    # Another registration of it (another key) is refused as ever.
    other = await stack.http.post(
        registered[0], json=registered[1], headers=facilitator | _key("encore")
    )
    assert other.status_code == 409, other.text
    assert len(await stack.events(coop, "CooperationRegistered")) == 1


def base_of(coop: str) -> str:
    return f"/v1/cooperations/{coop}"


def _key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": f"{name}-{uuid.uuid4().hex[:8]}"}


async def test_moves_lines_and_members_first_unanswered_get_their_first_answer(
    stack: Stack, auth: Auth
) -> None:
    coop, who = await _open(stack, auth)
    base = f"/v1/cooperations/{coop}"
    funder, facilitator = who["funder"], who["facilitator"]
    extra = f"extra-{coop}"
    await ok(
        await stack.http.post("/v1/programmes", json=programme(extra, FUNDER), headers=funder), 201
    )
    proposed = (f"{base}/funding-lines", {"programme": extra}, facilitator | _key("prop"))
    joined = (
        f"{base}/members",
        {"id": "atelier", "name": "Atelier Vélo", "legal_form": "association"},
        facilitator | _key("join"),
    )
    pivoted = (
        f"{base}/transitions",
        {"action": "pivot", "objectives": "Un atelier vélo", "reason": "Nouveau local"},
        facilitator | _key("piv"),
    )
    await _unanswered(stack, proposed, joined, pivoted)
    # Registration proposed two lines; this is the third.
    await stack.logged(coop, "FundingLineProposed", 3)
    (member,) = await stack.logged(coop, "MemberJoined")
    (pivot,) = await stack.logged(coop, "Pivoted")
    await _continued(stack, coop, who, await stack.run_id(coop))

    line = await ok(await stack.http.post(proposed[0], json=proposed[1], headers=proposed[2]), 201)
    assert line["line"] == extra and line["status"] == "proposed"
    added = await ok(await stack.http.post(joined[0], json=joined[1], headers=joined[2]), 201)
    assert added["id"] == member["data"]["id"] == "atelier"
    state = await ok(await stack.http.post(pivoted[0], json=pivoted[1], headers=pivoted[2]))
    assert state["id"] == coop and pivot["data"]["objectives"] == "Un atelier vélo"

    # The funder's acceptance commits money: first unanswered, then retried in a later run.
    accepted = (f"{base}/funding-lines/{extra}/decision", {"accept": True}, funder | _key("acc"))
    await _unanswered(stack, accepted)
    (attached,) = (await stack.logged(coop, "FundingLineAttached", 3))[2:]
    await _continued(stack, coop, who, await stack.run_id(coop))
    decided = await ok(await stack.http.post(accepted[0], json=accepted[1], headers=accepted[2]))
    assert decided["line"] == extra and decided["status"] == "active"
    assert attached["data"]["line"] == extra
    await asyncio.sleep(0.5)
    assert len(await stack.events(coop, "FundingLineProposed")) == 3
    assert len(await stack.events(coop, "FundingLineAttached")) == 3
    assert len(await stack.events(coop, "MemberJoined")) == 1
    assert len(await stack.events(coop, "Pivoted")) == 1
    async with stack.pool.acquire() as conn:
        committed = await conn.fetchval("SELECT committed FROM programmes WHERE id = $1", extra)
    assert committed == Decimal(decided["committed"])
