"""The web interface's busiest pages against the API calls they are built from, in the same
run on the same stack: a cooperation's page (its summary, events, check-ins, reports, members
and its lines' programmes, for their names) and a programme's (dashboard, inbox, cooperations
funded, the programme for its name, its forecast), each timed one request at a time, against
the same API calls made from outside one after the other, as a plain client would. A page
calls the API in process (api/web/client.py), its calls at once, then renders.

    python -m bench.web_pages [--requests 200] [--check-ins 24]

Target: each page's median ≤ 1.5 × the median of its API calls. Also said: the API process's
CPU per page against per round of calls (where the machine's cores go).
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import timedelta
from statistics import median
from typing import cast

import asyncpg

from bench.scenario import COOPERATION, PROGRAMME
from bench.stack import HttpClient, api_stack, cpu_seconds
from bench.support import Report, Target, command, percentile
from store.tokens import Role, create_token

TARGET_RATIO = 1.5
WARM_UP = 10


async def _token(database_url: str, role: Role, subject: str, session: bool = False) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        lasting = timedelta(hours=1) if session else None
        return (await create_token(conn, role, subject, expires_in=lasting))[1]
    finally:
        await conn.close()


async def _timed(
    http: HttpClient, paths: list[str], headers: dict[str, str], n: int
) -> list[float]:
    """Milliseconds per round of `paths` fetched one after the other."""
    times = []
    for i in range(WARM_UP + n):
        start = time.perf_counter()
        for path in paths:
            answer = await http.request("GET", path, headers=headers)
            assert answer.status == 200, (path, answer.status, answer.body[:300])
        if i >= WARM_UP:
            times.append((time.perf_counter() - start) * 1000)
    return times


async def run(requests: int = 200, check_ins: int = 24) -> Report:
    suffix = uuid.uuid4().hex[:6]
    funder, facilitator = f"fondation-{suffix}", f"anim-{suffix}"
    pid, coop = f"fdt-{suffix}", f"ruche-{suffix}"
    async with api_stack(worker=True) as stack:
        http = HttpClient(stack.api_url)
        try:
            tokens = {
                "funder": await _token(stack.database_url, "funder", funder),
                "facilitator": await _token(stack.database_url, "facilitator", facilitator),
                "collective": await _token(stack.database_url, "collective", coop),
            }

            def bearer(role: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[role]}"}

            async def ok(method: str, path: str, role: str, body: object, status: int) -> None:
                answer = await http.request(method, path, headers=bearer(role), body=body)
                assert answer.status == status, (path, answer.status, answer.body[:300])

            await ok(
                "POST", "/v1/programmes", "funder", PROGRAMME | {"id": pid, "funder": funder}, 201
            )
            body = COOPERATION | {
                "id": coop,
                "facilitator": facilitator,
                "fiscal_host": facilitator,
                "funding_lines": [pid],
            }
            await ok("POST", "/v1/cooperations", "facilitator", body, 201)
            decision = f"/v1/cooperations/{coop}/funding-lines/{pid}/decision"
            await ok("POST", decision, "funder", {"accept": True}, 200)
            for k in range(check_ins):
                check_in = {"narrative": f"Point {k}: deux ateliers.", "indicators": {"n": k}}
                await ok("POST", f"/v1/cooperations/{coop}/check-ins", "collective", check_in, 201)

            shapes = {
                "cooperation (collective)": (
                    "collective",
                    f"/cooperations/{coop}",
                    [
                        f"/v1/cooperations/{coop}",
                        f"/v1/cooperations/{coop}/events?after=0&limit=500",
                        f"/v1/cooperations/{coop}/check-ins",
                        f"/v1/cooperations/{coop}/reports",
                        f"/v1/cooperations/{coop}/members",
                        f"/v1/programmes/{pid}",
                    ],
                ),
                "programme (funder)": (
                    "funder",
                    f"/programmes/{pid}",
                    [
                        f"/v1/programmes/{pid}/dashboard",
                        f"/v1/programmes/{pid}/inbox",
                        f"/v1/cooperations?programme={pid}&limit=200",
                        f"/v1/programmes/{pid}",
                        f"/v1/programmes/{pid}/forecast",
                    ],
                ),
            }
            lines, targets = [], []
            for name, (role, page, calls) in shapes.items():
                subject = {"funder": funder, "facilitator": facilitator, "collective": coop}[role]
                session = await _token(stack.database_url, cast(Role, role), subject, session=True)
                cookie = {"Cookie": f"coopflow_session={session}"}
                # Alternated, so that the machine's noise falls on both alike.
                pages: list[float] = []
                apis: list[float] = []
                cpu = {"page": 0.0, "api": 0.0}
                for _ in range(2):
                    for kind, paths, headers, times in (
                        ("page", [page], cookie, pages),
                        ("api", calls, bearer(role), apis),
                    ):
                        before = cpu_seconds(stack.pids)["api"]
                        times += await _timed(http, paths, headers, requests // 2)
                        cpu[kind] += cpu_seconds(stack.pids)["api"] - before
                ratio = median(pages) / median(apis)
                per = {k: v * 1000 / (requests + 2 * WARM_UP) for k, v in cpu.items()}
                lines.append(
                    f"{name:<26} page p50 {median(pages):6.1f} ms p99 "
                    f"{percentile(pages, 99):6.1f} ms, API CPU {per['page']:5.1f} ms"
                    f" | its {len(calls)} API calls p50 {median(apis):6.1f} ms p99 "
                    f"{percentile(apis, 99):6.1f} ms, API CPU {per['api']:5.1f} ms"
                )
                targets.append(
                    Target(f"{name}: page / its API calls (p50)", ratio, TARGET_RATIO, "×")
                )
        finally:
            http.close()
    lines.insert(
        0,
        f"{requests} requests per shape, one at a time, after {WARM_UP} to warm up;"
        f" a cooperation with {check_ins} check-ins",
    )
    return Report("web_pages", "Web pages against the API calls they make", lines, targets)


if __name__ == "__main__":
    sys.exit(command(run, requests="requests per shape", check_ins="check-ins of the cooperation"))
