"""The funder's pages: its home (its programmes), a programme's page (dashboard, inbox and
plots), and what it decides from there or from a cooperation's page: proposed lines
accepted (with the amount granted, rule 17) or declined, approval tranches, conventions
(rule 18), versements paid (rule 19) and amendments (avenants, rule 20)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api.models import Dashboard, Inbox, Page, ProgrammeShown
from api.web import charts
from api.web.client import Api, ApiProblem
from api.web.pages.common import (
    CooperationForm,
    SessionDep,
    act,
    back_to,
    field_errors,
    given,
    guarded,
    posted_form,
    programme_names,
    see,
    text_of,
    together,
)
from api.web.render import page
from api.web.session import Session, locale_of
from domain.forecast import Forecast, YearFigures
from domain.views import CooperationSummary
from i18n import Words

router = APIRouter(include_in_schema=False)


async def funder_home(request: Request, session: Session, api: Api) -> Response:
    """The home page (signin.home): the funder's programmes."""
    programmes = await api.read(
        "/v1/programmes", Page[ProgrammeShown], funder=session.subject, limit=200
    )
    return page(request, session, "funder_home.html", programmes=programmes.items)


# -- decisions on a cooperation's lines -----------------------------------------------------


@router.post("/cooperations/{cooperation_id}/lines/{programme}/decision")
async def decide_line(
    cooperation_id: str, programme: str, request: Request, session: SessionDep
) -> Response:
    async def build(api: Api) -> Response:
        form = await posted_form(request)
        accept = text_of(form, "accept") == "true"
        body: dict[str, Any] = {"accept": accept}
        # Rule 17: a granted programme's line is accepted with the amount its funder grants.
        if accept and text_of(form, "amount") is not None:
            body["amount"] = _money_typed(text_of(form, "amount") or "")
        try:
            await api.post(
                f"/v1/cooperations/{quote(cooperation_id)}/funding-lines/{quote(programme)}"
                "/decision",
                body,
                text_of(form, "form_key"),
            )
        except ApiProblem as problem:
            if problem.status in (403, 404) or not accept:
                raise
            # Refused (an amount missing or out of bounds, a budget too short): the inbox
            # again, the error by the line and its field, the amount as typed.
            errors = field_errors(problem)
            return await _programme_page(
                request,
                session,
                api,
                programme,
                status=problem.status,
                decision={
                    "cooperation": cooperation_id,
                    "errors": errors,
                    "amount": text_of(form, "amount") or "",
                },
            )
        return see(back_to(form), "accepted" if accept else "declined")

    return await guarded(request, session, build)


def _money_typed(text: str) -> str:
    """An amount as people type it (`33 333,33`, `33333.33 €`) as the API reads money."""
    compact = "".join(ch for ch in text if ch not in " \u202f\u00a0€")
    if "," in compact and "." not in compact:
        compact = compact.replace(",", ".")
    return compact


@router.post("/cooperations/{cooperation_id}/approvals")
async def approve(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    endpoint = f"/v1/cooperations/{quote(cooperation_id)}/approvals"
    return await act(request, session, endpoint, _approval)


def _approval(form: FormData) -> tuple[dict[str, Any], str]:
    return {"line": text_of(form, "line"), "tranche": text_of(form, "tranche")}, "approved"


# Rule 18: the line's funder records its convention (also from its inbox).
CONVENTION = CooperationForm(
    "convention.html",
    "/funding-lines/{programme}/convention",
    lambda form, _: (given(form, "reference", "signed_on", "ends_on"), {}),
    "convention",
    then="/programmes/{programme}",
    shown=("programme",),
)
CONVENTION.serve(router, "/cooperations/{cooperation_id}/lines/{programme}/convention")


@router.post("/cooperations/{cooperation_id}/payments")
async def record_paid(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    """Rule 19: the funder records the day a versement was paid (its inbox's form)."""

    endpoint = f"/v1/cooperations/{quote(cooperation_id)}/payments"
    return await act(request, session, endpoint, _paid)


def _paid(form: FormData) -> tuple[dict[str, Any], str]:
    body: dict[str, Any] = given(form, "line", "tranche", "payee", "paid_on")
    occurrence = text_of(form, "occurrence")
    if occurrence is not None:
        body["occurrence"] = int(occurrence) if occurrence.isdigit() else occurrence
    return body, "versement.paid"


@router.post("/cooperations/{cooperation_id}/lines/{programme}/amendment/decision")
async def decide_amendment(
    cooperation_id: str, programme: str, request: Request, session: SessionDep
) -> Response:
    """Rule 20: the line's funder accepts or declines the amendment the facilitator proposed
    (from its inbox or the cooperation's page)."""

    line = f"/v1/cooperations/{quote(cooperation_id)}/funding-lines/{quote(programme)}"
    return await act(request, session, f"{line}/amendments/decision", _amendment_decision)


def _amendment_decision(form: FormData) -> tuple[dict[str, Any], str]:
    accept = text_of(form, "accept") == "true"
    return {"accept": accept}, "amendment_accepted" if accept else "amendment_declined"


# -- a programme ----------------------------------------------------------------------------


@router.get("/programmes/{programme_id}")
async def programme(programme_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        return await _programme_page(request, session, api, programme_id)

    return await guarded(request, session, build)


def _forecast_years(forecast: Forecast) -> list[tuple[int, Decimal, Decimal, Decimal]]:
    """(year, accepted lines' releases, proposed lines' releases, repayments) of a forecast."""

    def total(year: YearFigures) -> Decimal:
        return sum(year.releases.values(), Decimal("0.00"))

    return [
        (y.year, total(a), total(q), y.repayments)
        for y, a, q in zip(
            forecast.years, forecast.accepted.years, forecast.proposed.years, strict=True
        )
    ]


async def _programme_page(
    request: Request,
    session: Session,
    api: Api,
    programme_id: str,
    status: int = 200,
    decision: dict[str, Any] | None = None,
) -> Response:
    """The funder's programme: dashboard, inbox and plots; `decision` is a refused decision
    on one proposed line (its cooperation, its errors by field, the amount as typed)."""
    base = f"/v1/programmes/{quote(programme_id)}"
    dashboard, inbox, funded, names, forecast = await together(
        api.read(f"{base}/dashboard", Dashboard),
        api.read(f"{base}/inbox", Inbox),
        api.read("/v1/cooperations", Page[CooperationSummary], programme=programme_id, limit=200),
        programme_names(api, [programme_id]),
        api.read(f"{base}/forecast", Forecast),
    )
    words = Words(locale_of(request))
    return page(
        request,
        session,
        "programme.html",
        status=status,
        programme_id=programme_id,
        programme_names=names,
        d=dashboard,
        inbox=inbox,
        # The plots take the answers' JSON, as sent: their tests give them hostile and
        # malformed JSON no model would let through (api/web/charts).
        plots=charts.dashboard_charts(dashboard.model_dump(mode="json"), words),
        forecast=forecast,
        forecast_plot=charts.forecast_releases(forecast.model_dump(mode="json"), words),
        forecast_years=_forecast_years(forecast),
        cooperations=funded.items,
        # The inbox's requests by their cooperations' names.
        cooperation_names={c.id: c.name for c in funded.items},
        decision=decision,
        back=f"/programmes/{quote(programme_id)}",
    )
