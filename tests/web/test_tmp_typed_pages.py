"""TEMPORARY (deleted before merge): the programme page, the versions' diff and the
registration form render byte for byte as the dict-reading code of 4b488ee rendered them (its
routes and template copied here, served in front of the new ones for the "before")."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from jinja2 import ChoiceLoader, DictLoader

from api.web import charts
from api.web import programme_form as pf
from api.web.client import Api
from api.web.pages.common import SessionDep, guarded, number, programme_names, together
from api.web.pages.registration import Layout, _facilitator_only, _form_page
from api.web.pages.setup import choices, programme_path
from api.web.pages.versions import _said, _shown_value
from api.web.render import ENV, page
from api.web.session import Session, locale_of
from i18n import Words
from tests.api.conftest import cooperation, programme
from tests.api.world import COOP, FACILITATOR, FUNDER
from tests.web.pages_site import Site, live_settings, site

__all__ = ["live_settings", "site"]

OLD_TEMPLATE = Path("/tmp/typed_rec/old_programme.html").read_text(encoding="utf-8")

old = APIRouter(include_in_schema=False)


# -- 4b488ee's code, as it was ------------------------------------------------------------
@old.get("/programmes/{programme_id}")
async def old_programme(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        return await _old_programme_page(request, session, api, programme_id)

    return await guarded(request, session, build)


def _old_forecast_years(forecast: dict[str, Any]) -> list[tuple[int, Decimal, Decimal, Decimal]]:
    def total(year: dict[str, Any]) -> Decimal:
        return sum((Decimal(v) for v in year["releases"].values()), Decimal("0.00"))

    return [
        (y["year"], total(a), total(q), Decimal(y["repayments"]))
        for y, a, q in zip(
            forecast["years"],
            forecast["accepted"]["years"],
            forecast["proposed"]["years"],
            strict=True,
        )
    ]


async def _old_programme_page(
    request: Request,
    session: Session,
    api: Api,
    programme_id: str,
    status: int = 200,
    decision: dict[str, Any] | None = None,
) -> Response:
    base = f"/v1/programmes/{quote(programme_id)}"
    dashboard, inbox, funded, names, forecast = await together(
        api.get(f"{base}/dashboard"),
        api.get(f"{base}/inbox"),
        api.get("/v1/cooperations", programme=programme_id, limit=200),
        programme_names(api, [programme_id]),
        api.get(f"{base}/forecast"),
    )
    words = Words(locale_of(request))
    return page(
        request,
        session,
        "old_programme.html",
        status=status,
        programme_id=programme_id,
        programme_names=names,
        d=dashboard,
        inbox=inbox,
        plots=charts.dashboard_charts(dashboard, words),
        forecast=forecast,
        forecast_plot=charts.forecast_releases(forecast, words),
        forecast_years=_old_forecast_years(forecast),
        cooperations=funded["items"],
        cooperation_names={c["id"]: c.get("name") for c in funded["items"]},
        decision=decision,
        back=f"/programmes/{quote(programme_id)}",
    )


@old.get("/programmes/{programme_id}/versions")
async def old_versions(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        found = await api.get(f"{programme_path(programme_id)}/versions")
        by_number = {v["version"]: v for v in found}
        numbers = sorted(by_number)
        later = number(request.query_params.get("to"), numbers[-1] if numbers else 0)
        earlier = number(request.query_params.get("from"), later - 1)
        diff = None
        if earlier in by_number and later in by_number and earlier != later:
            diff = _said(
                pf.changes(by_number[earlier], by_number[later]), Words(locale_of(request))
            )
        return page(
            request,
            session,
            "programme_versions.html",
            programme_id=programme_id,
            versions=[by_number[n] for n in reversed(numbers)],
            earlier=earlier,
            later=later,
            diff=diff,
            shown=_shown_value(request, found[-1]["currency"] if found else "EUR"),
            **choices(request),
        )

    return await guarded(request, session, build)


@old.get("/programmes/{programme_id}/budget")
async def old_budget_form(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        d = await api.get(f"{programme_path(programme_id)}/dashboard")
        return page(
            request, session, "budget.html", programme_id=programme_id, d=d, values={}, errors={}
        )

    return await guarded(request, session, build)


async def _old_programmes(api: Api) -> list[dict[str, Any]]:
    listed = await api.get("/v1/programmes", limit=200)
    items: list[dict[str, Any]] = listed["items"]
    return items


@old.get("/register")
async def old_register_form(request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        _facilitator_only(request, session)
        return _form_page(request, session, await _old_programmes(api), {}, {}, Layout())  # type: ignore[arg-type]

    return await guarded(request, session, build)


# ----------------------------------------------------------------------------------------

VOLATILE = re.compile(r'(name="form_key" value="|name="csrf" value=")[^"]*"')


def steady(html: str) -> str:
    return VOLATILE.sub(r'\1…"', html)


async def both(site: Site, browser: httpx.AsyncClient, path: str) -> tuple[str, str]:
    """The page rendered by the new code, by the old, and by the new again (nothing moved)."""
    new = await browser.get(path)
    routes = site.live.app.router.routes
    for route in reversed(old.routes):
        routes.insert(0, route)
    try:
        before = await browser.get(path)
    finally:
        for route in old.routes:
            routes.remove(route)
    again = await browser.get(path)
    assert new.status_code == before.status_code == 200, (path, new.status_code, before.status_code)
    assert steady(new.text) == steady(again.text), f"{path} moved while compared"
    return steady(before.text), steady(new.text)


async def test_tmp_pages_render_as_the_dict_code_rendered_them(site: Site) -> None:
    ENV.loader = ChoiceLoader([DictLoader({"old_programme.html": OLD_TEMPLATE}), ENV.loader])
    w = site.world
    live = site.live
    fondation = w.headers["funder"]
    anim = w.headers["facilitator"]
    # Granted programmes (rule 17) with a proposed line each: besides nothing, and 1 000.
    granted = programme(
        "grt",
        FUNDER,
        amounts="granted",
        grant={"min": "5000.00", "max": "40000.00"},
        phases={
            "emergence": {
                "check_in_every": "P2M",
                "tranches": [
                    {"id": "avance", "share": "0.6", "purpose": "animation", "when": "entry"},
                    {"id": "solde", "share": "0.4", "purpose": "operating", "when": "approval"},
                ],
            }
        },
    )
    besides = {**granted, "id": "grt2", "grant": {"min": "5000.00"}}
    besides["phases"] = {
        "emergence": {
            **granted["phases"]["emergence"],
            "tranches": [
                *granted["phases"]["emergence"]["tranches"],
                {
                    "id": "pret",
                    "amount": "1000.00",
                    "purpose": "investment",
                    "when": "approval",
                    "instrument": {
                        "loan": {
                            "annual_rate": "0.01",
                            "grace": "P3M",
                            "term": "P12M",
                            "installment_every": "P3M",
                        }
                    },
                },
            ],
        }
    }
    for spec in (granted, besides):
        answer = await live.http.post("/v1/programmes", json=spec, headers=fondation)
        assert answer.status_code == 201, answer.text
    members = [
        {"id": "habitants", "name": "Collectif des habitants", "legal_form": "informal"},
        {"id": "emprunteur", "name": "SCIC du Bourg", "legal_form": "scic"},
    ]
    lent = {"programme": "grt2", "allocation": [{"payee": "emprunteur", "share": "1"}]}
    for n, line in enumerate(("grt", lent, "fdt-bis")):
        body = cooperation(
            f"propose-{n}-{w.ids[COOP]}", [line], fiscal_host="pole-107", members=members
        )
        answer = await live.http.post("/v1/cooperations", json=body, headers=anim)
        assert answer.status_code == 201, answer.text
    # A second version of fdt, for the diff.
    v2 = programme("fdt", FUNDER, budget="600000.00")
    v2["phases"]["emergence"]["check_in_grace"] = "P10D"
    v2["phases"]["emergence"]["tranches"][1]["amount"] = "7500.00"
    v2["phases"]["emergence"]["tranches"].pop(2)
    v2["phases"]["structuring"] = {"check_in_every": "P3M", "tranches": []}
    answer = await live.http.put("/v1/programmes/fdt", json=v2, headers=fondation)
    assert answer.status_code in (200, 201), answer.text
    coop = w.ids[COOP]
    async with live.pool.acquire() as conn:
        # Versements to pay (one late, one repeated), a convention awaited, an amendment.
        await conn.execute(
            "INSERT INTO ledger (idempotency_key, cooperation_id, line, tranche, occurrence,"
            " kind, purpose, amount, currency, payee, beneficiary, at, payable, due_by)"
            " VALUES ($1 || ':a', $1, 'fdt', 'coordination', 2, 'release', 'animation',"
            " 1234.50, 'EUR', 'pole-107', $1, now() - interval '3 days', true, current_date - 1),"
            " ($1 || ':c', $1, 'fdt', 'x', NULL, 'release', 'operating',"
            " 10, 'EUR', 'habitants', $1, now() - interval '1 days', true, NULL)",
            coop,
        )
        index = await conn.fetchval(
            "SELECT i - 1 FROM cooperations c, jsonb_array_elements(c.state->'lines')"
            " WITH ORDINALITY AS x(l, i) WHERE c.id = $1 AND l->>'line' = 'fdt'",
            coop,
        )
        await conn.execute(
            "UPDATE cooperations SET state = jsonb_set(jsonb_set(state,"
            " array['lines', $2::text, 'convention_awaited'], 'true'),"
            " array['lines', $2::text, 'amendment'],"
            ' \'{"seq": 40, "proposed_at": "2026-11-03T10:00:00Z",'
            ' "allocation": [{"payee": "habitants", "share": "1"}]}\')'
            " WHERE id = $1",
            coop,
            str(index),
        )
    compared = 0
    async with await site.signed_in("funder", FUNDER) as browser:
        for path in (
            "/programmes/fdt",
            "/programmes/grt",
            "/programmes/grt2",
            "/programmes/fdt-bis",
            "/programmes/pret",
            "/programmes/fdt/versions",
            "/programmes/fdt/versions?from=2&to=1",
            "/programmes/fdt/versions?from=1&to=1",
            "/programmes/pret/versions",
            "/programmes/fdt/budget",
            "/programmes/grt2/budget",
        ):
            before, after = await both(site, browser, path)
            assert before == after, path
            compared += 1
        fdt = await browser.get("/programmes/fdt")
        for seen in ("paid-on-2", "reference-1", "amendment-now-1", "plot-chart-forecast"):
            assert seen in fdt.text, seen
        grt2 = await browser.get("/programmes/grt2")
        assert "grant-1-hint" in grt2.text
        diff = await browser.get("/programmes/fdt/versions")
        assert 'class="diff"' in diff.text
    async with await site.signed_in("facilitator", FACILITATOR) as browser:
        before, after = await both(site, browser, "/register")
        assert before == after
        assert "grt2" in after
        compared += 1
    assert compared == 12
