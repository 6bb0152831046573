"""Reports through the real stack (rule 12): one cooperation funded by two programmes of
different locales, a check-in, a release on each line, a report a month. The workflow issues
one report per line; each funder's shows the shared check-in and only its own line's money
and angle, in its programme's locale; `GET /v1/reports/{id}` answers JSON, Markdown or HTML
by `Accept`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from api.app import create_app
from cli.simulate import Simulation, simulation
from domain.scenario import parse_scenario
from notify.reports import render_report
from runtime.config import Settings
from tests.api.conftest import tokens

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NNBSP, NBSP = "\u202f", "\xa0"


def _programme(pid: str, name: str, funder: str, locale: str, tranche: dict[str, Any]) -> dict:
    return {
        "id": pid,
        "name": name,
        "funder": funder,
        "currency": "EUR",
        "budget": "100000.00",
        "locale": locale,
        "phases": {
            "emergence": {"check_in_every": "P1M", "report_every": "P1M", "tranches": [tranche]}
        },
    }


SCENARIO: dict[str, Any] = {
    "start": "2027-01-04",
    "programmes": [
        _programme(
            "fdt",
            "Fonds des territoires",
            "fondation",
            "fr",
            {"id": "amorcage", "amount": "8000.00", "purpose": "animation", "when": "entry"},
        ),
        _programme(
            "odyssey",
            "Odyssey Trust",
            "trust",
            "en",
            {"id": "seed", "amount": "12345.00", "purpose": "investment", "when": "entry"},
        ),
    ],
    "cooperation": {
        "id": "ressourcerie",
        "name": "Ressourcerie du Bourg",
        "kind": "non_modelled",
        "economic_model": "hybrid",
        "members": [
            {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
            {"id": "repair-cafe", "name": "Repair café", "legal_form": "association"},
        ],
        "fiscal_host": "pole-107",
        "facilitator": "anim",
        "funding_lines": [
            {
                "programme": "fdt",
                "angle": {
                    "summary": "Réparer ensemble, au cœur du bourg",
                    "indicators": ["objets réparés"],
                    "members": ["repair-cafe"],
                },
            },
            {
                "programme": "odyssey",
                "angle": {
                    "summary": "A zero-waste hub run by its neighbours",
                    "indicators": ["tonnes évitées"],
                    "members": ["habitants"],
                },
            },
        ],
    },
    "steps": [
        {"at": "P10D", "check_in": {"indicators": {"objets réparés": 40, "tonnes évitées": 1.5}}},
        {"at": "P12D", "review": {"id": "ci-1", "decision": "accepted"}},
    ],
    "until": "P1M",
}

# What each line's report may hold, and what belongs to the other line only.
FDT_OWN = ("Réparer ensemble", f"8{NNBSP}000,00{NBSP}€")
ODYSSEY_OWN = ("zero-waste hub", "€12,345.00")
FDT_NEVER = ("zero-waste", "12345", "12 345", f"12{NNBSP}345", "12,345", "seed", "Odyssey")
ODYSSEY_NEVER = ("Réparer ensemble", "8000", "8,000", "amorcage", "Fonds des territoires")


@asynccontextmanager
async def api(sim: Simulation) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the simulation's database (reports are read from PostgreSQL only)."""
    app = create_app(
        Settings(task_queue=sim.task_queue, public_url="http://t"),
        pool=sim.pool,
        client=sim.env.client,
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        yield http


async def _reports(pool: asyncpg.Pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, line, locale, content, markdown FROM reports")
    return {row["line"]: dict(row) for row in rows}


async def test_each_funder_reads_its_own_line_in_its_locale_as_json_markdown_or_html(
    postgres_server_url: str,
) -> None:
    async with simulation(parse_scenario(SCENARIO), database_server=postgres_server_url) as sim:
        result = await sim.run()
        issued = [e for e in result.events if e.type == "ReportIssued"]
        assert [(e.data["line"], e.data["locale"]) for e in issued] == [
            ("fdt", "fr"),
            ("odyssey", "en"),
        ]
        reports = await _reports(sim.pool)
        assert set(reports) == {"fdt", "odyssey"}
        fdt, odyssey = reports["fdt"], reports["odyssey"]
        assert (fdt["id"], fdt["locale"]) == ("ressourcerie:fdt:1", "fr")
        assert (odyssey["id"], odyssey["locale"]) == ("ressourcerie:odyssey:1", "en")

        # One check-in feeds every funder's report; the money is each line's own.
        for report in (fdt, odyssey):
            content = report["content"]
            assert content["check_ins"]["submitted"] == content["check_ins"]["accepted"] == 1
            assert content["name"] == "Ressourcerie du Bourg"
            assert {i["name"] for i in content["indicators"]} == {
                "objets réparés",
                "tonnes évitées",
            }
        assert [(r["tranche"], r["amount"]) for r in fdt["content"]["releases"]["items"]] == [
            ("amorcage", "8000.00")
        ]
        assert [(r["tranche"], r["amount"]) for r in odyssey["content"]["releases"]["items"]] == [
            ("seed", "12345.00")
        ]
        # Each angle first: its indicator and member lead the report.
        assert fdt["content"]["indicators"][0]["name"] == "objets réparés"
        assert odyssey["content"]["indicators"][0]["name"] == "tonnes évitées"
        assert fdt["content"]["members"][0]["id"] == "repair-cafe"
        assert odyssey["content"]["members"][0]["id"] == "habitants"

        for report, own, never in (
            (fdt, FDT_OWN, FDT_NEVER),
            (odyssey, ODYSSEY_OWN, ODYSSEY_NEVER),
        ):
            everything = json.dumps(report["content"], ensure_ascii=False) + report["markdown"]
            assert all(text in report["markdown"] for text in own), report["line"]
            assert not [text for text in never if text in everything], report["line"]
        assert fdt["markdown"].startswith("# Rapport de financement — Ressourcerie du Bourg\n")
        assert "- Ligne de financement : Fonds des territoires (fdt)\n" in fdt["markdown"]
        assert odyssey["markdown"].startswith("# Funding report — Ressourcerie du Bourg\n")
        assert "- Investment: €12,345.00\n" in odyssey["markdown"]

        auth = tokens(sim.pool)
        fondation, trust = await auth("funder", "fondation"), await auth("funder", "trust")
        async with api(sim) as http:
            url = "/v1/reports/ressourcerie:fdt:1"

            async def get(accept: str | None, headers: dict[str, str] = fondation) -> Any:
                extra = {"Accept": accept} if accept is not None else {}
                return await http.get(url, headers={**headers, **extra})

            for accept in (None, "*/*", "application/json", "text/markdown, application/json"):
                answer = await get(accept)
                assert answer.status_code == 200, answer.text
                assert answer.headers["content-type"] == "application/json"
                assert answer.headers["vary"] == "Accept"
                body = answer.json()
                assert (body["line"], body["locale"], body["period"]) == ("fdt", "fr", 1)
                assert body["content"] == fdt["content"]

            markdown = await get("text/markdown")
            assert markdown.status_code == 200
            assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
            assert markdown.text == render_report(fdt["content"], "fr", "markdown")
            assert markdown.text == fdt["markdown"]

            browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
            for accept in ("text/html", browser):
                html = await get(accept)
                assert html.status_code == 200
                assert html.headers["content-type"] == "text/html; charset=utf-8"
                assert html.text.startswith('<!DOCTYPE html>\n<html lang="fr">')
                assert "size: A4" in html.text and f"8{NNBSP}000,00{NBSP}€" in html.text
                assert "zero-waste" not in html.text

            assert (
                (await get("text/html;q=0.5, text/markdown"))
                .headers["content-type"]
                .startswith("text/markdown")
            )
            for accept in ("application/xml", "text/markdown;q=0, text/html;q=0", "image/*"):
                refused = await get(accept)
                assert refused.status_code == 406, accept
                assert refused.headers["content-type"] == "application/problem+json"
                assert refused.json()["title"] == "Not acceptable"

            # The other funder's line is not found; its own report is in English.
            assert (await get("text/html", trust)).status_code == 404
            theirs = await http.get(
                "/v1/reports/ressourcerie:odyssey:1", headers={**trust, "Accept": "text/html"}
            )
            assert theirs.status_code == 200
            assert theirs.text.startswith('<!DOCTYPE html>\n<html lang="en">')
            assert "€12,345.00" in theirs.text and "Réparer ensemble" not in theirs.text
