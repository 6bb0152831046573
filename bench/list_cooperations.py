"""`GET /v1/cooperations` on 100,000 cooperations, through the API served by uvicorn: each
query shape (filters, cursor paging, as a facilitator, a funder, a collective) timed one
request at a time, against `GET /v1/me` in the same run. Target: p99 ≤ 20 ms per shape.

    python -m bench.list_cooperations [--cooperations 100000] [--requests 200]

The read model is seeded directly (COPY), each row's `state` the summary of a real
registration (`decide(None, Register(...))`, then `summary()`), varied in id, phase, lines,
overdue, outcome, facilitator and fiscal host. Skewed as the field is: a regional funder on
nearly half the cooperations and a local patron on about a hundred; a score of large
facilitators (who are also fiscal hosts of others' cooperations) and many small ones. Each
funder's page is checked to hold its own lines only before anything is timed.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import median
from typing import Any
from urllib.parse import urlencode

import asyncpg

from bench.scenario import COOPERATION, PROGRAMME
from bench.stack import Answer, HttpClient, api_stack
from bench.support import Report, Target, command, percentile
from domain.commands import Register
from domain.cooperation import CooperationSpec
from domain.lifecycle import decide
from domain.programme import ProgrammeSpec, ProgrammeVersion
from domain.rules import RULES_VERSION
from domain.views import summary
from store.db import create_pool
from store.programmes import put_programme
from store.tokens import Role, create_token

TARGET_P99_MS = 20.0
BATCH = 5_000
WARM_UP = 10
"""Requests of each shape before timing: connections, caches, PostgreSQL's plans."""
DEEP_PAGE = 20
"""The page the cursor shapes time, reached by following next_cursor from the first."""

# (programme, funder, share of cooperations with a line of it)
LINES = [
    ("region-emergence", "region", 0.30),
    ("region-structuration", "region", 0.15),
    ("fdt-2027", "fondation-territoires", 0.25),
    ("ademe-reemploi", "ademe", 0.12),
    ("caf-jeunesse", "caf", 0.05),
    ("petite-fondation", "petite-fondation", 0.01),
    ("mecene-local", "mecene-local", 0.001),
]
BIG_FACILITATORS = 20
"""pole-00…pole-19: 40 % of the cooperations, and fiscal host of others' cooperations."""
SMALL_FACILITATORS = 180
PHASES = [("emergence", 0.5), ("experimentation", 0.35), ("structuring", 0.15)]
OVERDUE = 0.1
ENDED = 0.05


def registered_lines() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A real registration with every programme as an accepted line: its summary as JSON,
    and each line's view by programme, to compose cooperations with any set of lines."""
    versions = [
        ProgrammeVersion(
            version=1,
            spec=ProgrammeSpec.model_validate(PROGRAMME | {"id": programme, "funder": funder}),
        )
        for programme, funder, _ in LINES
    ]
    spec = CooperationSpec.model_validate(
        COOPERATION | {"facilitator": "pole-00", "funding_lines": [v.spec.id for v in versions]}
    )
    command = Register(
        cooperation=spec, programmes=versions, lines_accepted=True, rules_version=RULES_VERSION
    )
    view = summary(decide(None, command, datetime.now(UTC)).state).model_dump(mode="json")
    return view, {line["programme"]: line for line in view["lines"]}


def cooperation_rows(count: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """Rows of the `cooperations` table, as `project_summary` writes them."""
    base, by_programme = registered_lines()
    pick = random.Random(seed)
    for i in range(count):
        programmes = [p for p, _, share in LINES if pick.random() < share] or [LINES[0][0]]
        lines = [by_programme[p] for p in programmes]
        funders = sorted({line["funder"] for line in lines})
        phase = pick.choices([p for p, _ in PHASES], [w for _, w in PHASES])[0]
        if pick.random() < 0.4:
            facilitator = f"pole-{pick.randrange(BIG_FACILITATORS):02d}"
        else:
            facilitator = f"fac-{pick.randrange(SMALL_FACILITATORS):03d}"
        hosted = pick.random() < 0.3
        fiscal_host = f"pole-{pick.randrange(BIG_FACILITATORS):02d}" if hosted else facilitator
        ended = pick.random() < ENDED
        outcome = pick.choice(["completed", "abandoned"]) if ended else None
        overdue = not ended and pick.random() < OVERDUE
        cooperation_id = f"coop-{i:06d}"
        state = base | {
            "id": cooperation_id,
            "name": f"Coopération {i}",
            "phase": phase,
            "facilitator": facilitator,
            "fiscal_host": fiscal_host,
            "programmes": programmes,
            "lines": lines,
            "overdue": overdue,
            "closed": ended,
            "outcome": outcome,
        }
        yield (
            cooperation_id,
            state["name"],
            facilitator,
            fiscal_host,
            phase,
            False,
            outcome,
            overdue,
            programmes,
            funders,
            RULES_VERSION,
            json.dumps(state, separators=(",", ":")),
            3,
        )


async def seed(url: str, count: int) -> float:
    """COPY in batches, then ANALYZE as autovacuum would after such a load; its seconds."""
    began = time.perf_counter()
    columns = [
        "id",
        "name",
        "facilitator",
        "fiscal_host",
        "phase",
        "paused",
        "outcome",
        "overdue",
        "programmes",
        "funders",
        "rules_version",
        "state",
        "last_seq",
    ]
    # A plain connection: jsonb goes as text, without the pool's codec.
    conn = await asyncpg.connect(url)
    try:
        rows = cooperation_rows(count)
        while batch := [row for _, row in zip(range(BATCH), rows, strict=False)]:
            await conn.copy_records_to_table("cooperations", records=batch, columns=columns)
        await conn.execute("ANALYZE cooperations")
    finally:
        await conn.close()
    return time.perf_counter() - began


Holder = tuple[Role, str]
"""Who asks: a role and its subject (a facilitator's or funder's id, a cooperation's)."""
POLE: Holder = ("facilitator", "pole-00")
"""The largest facilitator."""
REGION: Holder = ("funder", "region")
"""The funder on nearly half the cooperations."""


@dataclass(frozen=True)
class Shape:
    name: str
    holder: Holder
    query: dict[str, str]
    deep: bool = False
    """Time the DEEP_PAGE-th page (its cursor found by paging from the first)."""
    path: str = "/v1/cooperations"


SHAPES = [
    Shape("baseline: GET /v1/me", POLE, {}, path="/v1/me"),
    Shape("facilitator (large), first page", POLE, {}),
    Shape("facilitator (small), first page", ("facilitator", "fac-007"), {}),
    Shape("facilitator (new, none yet)", ("facilitator", "pole-nouveau"), {}),
    Shape("facilitator, phase=structuring", POLE, {"phase": "structuring"}),
    Shape("facilitator, overdue=true", POLE, {"overdue": "true"}),
    Shape("facilitator, outcome=completed", POLE, {"outcome": "completed"}),
    Shape(f"facilitator, cursor page {DEEP_PAGE}", POLE, {}, deep=True),
    Shape("funder (large), first page", REGION, {}),
    Shape("funder (small), first page", ("funder", "mecene-local"), {}),
    Shape("funder (large), programme=", REGION, {"programme": "region-structuration"}),
    Shape(
        "funder (large), programme= & phase=",
        REGION,
        {"programme": "region-structuration", "phase": "experimentation"},
    ),
    Shape(
        "funder (1 %), programme=",
        ("funder", "petite-fondation"),
        {"programme": "petite-fondation"},
    ),
    Shape("funder, overdue=true", ("funder", "caf"), {"overdue": "true"}),
    Shape(f"funder, cursor page {DEEP_PAGE}", REGION, {}, deep=True),
    Shape("collective, its own", ("collective", "coop-004242"), {}),
]


def _path(shape: Shape, cursor: str | None = None) -> str:
    query = shape.query | ({"cursor": cursor} if cursor else {})
    return shape.path + ("?" + urlencode(query) if query else "")


def _checked(shape: Shape, answer: Answer) -> Any:
    if answer.status != 200:
        raise RuntimeError(f"{shape.name}: {answer.status} {answer.body[:300]!r}")
    page = answer.json()
    role, subject = shape.holder
    if role == "funder":
        # Listing must keep a funder to its own lines: a wrong query must never be timed.
        others = {x["funder"] for item in page["items"] for x in item["lines"]} - {subject}
        if others:
            raise AssertionError(f"{shape.name}: the funder sees lines of {sorted(others)}")
    return page


async def measure(
    http: HttpClient, tokens: dict[Holder, str], requests: int
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Each shape's latencies (ms), and how many items its page holds."""
    paths: dict[str, str] = {}
    counts: dict[str, int] = {}
    for shape in SHAPES:
        headers = {"Authorization": f"Bearer {tokens[shape.holder]}"}
        cursor = None
        for _ in range(DEEP_PAGE - 1 if shape.deep else 0):
            page = _checked(shape, await http.request("GET", _path(shape, cursor), headers=headers))
            cursor = page["next_cursor"]
            assert cursor is not None, f"{shape.name}: fewer than {DEEP_PAGE} pages"
        paths[shape.name] = _path(shape, cursor)
        page = _checked(shape, await http.request("GET", paths[shape.name], headers=headers))
        counts[shape.name] = len(page["items"]) if "items" in page else 1
    latencies: dict[str, list[float]] = {shape.name: [] for shape in SHAPES}
    # Shapes take turns, so that a noisy moment of the machine hits them all alike.
    for i in range(WARM_UP + requests):
        for shape in SHAPES:
            headers = {"Authorization": f"Bearer {tokens[shape.holder]}"}
            began = time.perf_counter()
            answer = await http.request("GET", paths[shape.name], headers=headers)
            elapsed = time.perf_counter() - began
            if answer.status != 200:
                raise RuntimeError(f"{shape.name}: {answer.status}")
            if i >= WARM_UP:
                latencies[shape.name].append(elapsed * 1000)
    return latencies, counts


async def run(cooperations: int = 100_000, requests: int = 200) -> Report:
    count = cooperations
    async with api_stack(worker=False) as stack:
        pool = await create_pool(stack.database_url, max_size=2)
        try:
            async with pool.acquire() as conn:
                for programme, funder, _ in LINES:
                    spec = PROGRAMME | {"id": programme, "funder": funder}
                    await put_programme(conn, ProgrammeSpec.model_validate(spec))
                tokens: dict[Holder, str] = {}
                for shape in SHAPES:
                    if shape.holder not in tokens:
                        _, tokens[shape.holder] = await create_token(conn, *shape.holder)
        finally:
            await pool.close()
        seeded = await seed(stack.database_url, count)
        http = HttpClient(stack.api_url)
        try:
            latencies, counts = await measure(http, tokens, requests)
        finally:
            http.close()
    width = max(len(s.name) for s in SHAPES)
    lines = [
        f"{count:,} cooperations seeded in {seeded:.0f} s; {requests} requests per shape, "
        "one at a time, shapes in turn; items: what one page holds (limit 50)",
        f"{'shape':<{width}}  {'p50':>7}  {'p99':>7}  items",
        *(
            f"{s.name:<{width}}  {percentile(latencies[s.name], 50):5.1f}ms"
            f"  {percentile(latencies[s.name], 99):5.1f}ms  {counts[s.name]}"
            for s in SHAPES
        ),
    ]
    listed = [s for s in SHAPES if s.path == "/v1/cooperations"]
    return Report(
        name="list_cooperations",
        title=f"GET /v1/cooperations on {count:,} cooperations (uvicorn)",
        lines=lines,
        targets=[
            Target(f"p99, {s.name}", percentile(latencies[s.name], 99), TARGET_P99_MS, " ms", 1)
            for s in listed
        ],
        figures=[
            ("GET /v1/me, p50 / p99", _pair(latencies[SHAPES[0].name])),
            (
                "listing, median p50 of the shapes",
                f"{median(percentile(latencies[s.name], 50) for s in listed):.1f} ms",
            ),
        ],
    )


def _pair(values: list[float]) -> str:
    return f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f} ms"


if __name__ == "__main__":
    sys.exit(command(run, cooperations="cooperations seeded", requests="timed requests per shape"))
