"""SQL lives in store/: the API calls store queries with typed results and writes no statement
of its own. A scan of api/'s source, so that a statement written back into a route fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import api

API = Path(api.__file__).parent

STATEMENT = re.compile(
    r"\b(SELECT\b.+\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|SET\s+LOCAL"
    r"|WITH\s+\w+\s+AS\s*\()",
    re.DOTALL,
)
"""What starts an SQL statement (in a string literal, or a part of an f-string), in capitals
as the project writes SQL: words in messages are not statements."""

CONNECTION_CALLS = frozenset(
    {
        "fetch",
        "fetchrow",
        "fetchval",
        "execute",
        "executemany",
        "transaction",
        "copy_records_to_table",
    }
)
"""asyncpg's ways of running SQL: a call of one of them on anything is a query in the API."""


def sql_in(source: str) -> list[tuple[int, str]]:
    """(line, what) of each statement and connection call in a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if STATEMENT.search(node.value):
                found.append((node.lineno, node.value[:60]))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CONNECTION_CALLS
        ):
            found.append((node.lineno, f".{node.func.attr}(…)"))
    return sorted(found)


def test_the_api_holds_no_sql() -> None:
    modules = sorted(API.rglob("*.py"))
    assert len(modules) > 30  # the scan reads the package, not an empty folder
    found = {
        str(path.relative_to(API.parent)): where
        for path in modules
        if (where := sql_in(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "SQL belongs in a store/ query with a typed result"


def test_the_scan_finds_what_a_route_used_to_hold() -> None:
    # What api/ held before its queries moved to store/ (api/routes/programmes.py,
    # cooperations.py, fiscal_host.py): each is found, in whatever form it is written.
    route = """
async def dashboard(pool, programme_id, where):
    async with pool.acquire() as conn:
        budget = await conn.fetchrow(
            "SELECT budget, committed FROM programmes WHERE id = $1", programme_id
        )
        rows = await run(conn, f"SELECT page.id FROM cooperations c WHERE {where}")
        await other(conn, "WITH lent AS (SELECT DISTINCT line FROM ledger)")
        await conn.execute(QUERY)
"""
    assert [line for line, _ in sql_in(route)] == [4, 5, 7, 8, 9]


def test_the_scan_leaves_what_is_not_sql() -> None:
    # The documentation page's script fetches the schema; words in messages are not SQL.
    page = '''
START = """fetch("/openapi.json").then(function (answer) { return answer.json(); })"""
detail = "select a programme from the list to update its budget"
response.delete_cookie(SESSION_COOKIE)
'''
    assert sql_in(page) == []
