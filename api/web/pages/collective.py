"""The collective's pages: its check-in (a narrative, needs and indicators), and a request
that its facilitator make a move (a pause, a restart, a pivot…)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api.web.pages.common import (
    SessionDep,
    given,
    move_choices,
    reading,
    send_form,
    show_form,
    text_of,
)
from i18n import Words

router = APIRouter(include_in_schema=False)


# -- the check-in ---------------------------------------------------------------------------


@router.get("/cooperations/{cooperation_id}/check-in")
async def check_in_form(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    return await show_form(request, session, "check_in.html", reading(cooperation_id))


@router.post("/cooperations/{cooperation_id}/check-in")
async def submit_check_in(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    return await send_form(
        request,
        session,
        template="check_in.html",
        read=reading(cooperation_id),
        endpoint=f"/v1/cooperations/{quote(cooperation_id)}/check-ins",
        body_of=_check_in,
        then=f"/cooperations/{quote(cooperation_id)}",
        done="check_in",
        fields={"indicators": "indicator_name_0"},
    )


def _check_in(form: FormData, words: Words) -> tuple[dict[str, Any], dict[str, str]]:
    indicators, bad = indicators_of(form)
    errors = {field: words(key) for field, key in bad.items()}
    body = {**given(form, "narrative", "needs"), "indicators": indicators}
    if "narrative" not in body:
        errors["narrative"] = words("web.form.required")
    return body, errors


INDICATOR_ROWS = 6


def indicators_of(form: FormData) -> tuple[dict[str, int | float | str], dict[str, str]]:
    """The indicator rows (name, value) as the API takes them: numbers where they read as
    numbers (a French decimal comma too), text otherwise; a value without a name, or a name
    without a value, is an error named by its row (a catalog key)."""
    indicators: dict[str, int | float | str] = {}
    errors: dict[str, str] = {}
    for i in range(INDICATOR_ROWS):
        name, value = text_of(form, f"indicator_name_{i}"), text_of(form, f"indicator_value_{i}")
        if name is None and value is None:
            continue
        if name is None:
            errors[f"indicator_name_{i}"] = "web.check_in.indicator_unnamed"
        elif value is None:
            errors[f"indicator_value_{i}"] = "web.check_in.indicator_empty"
        else:
            indicators[name] = _number(value)
    return indicators, errors


def _number(text: str) -> int | float | str:
    compact = text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
    try:
        return int(compact)
    except ValueError:
        pass
    try:
        number = float(compact.replace(",", "."))
    except ValueError:
        return text
    # "nan" and "inf" read as floats: what someone typed, kept as text.
    return number if math.isfinite(number) else text


# -- a request to the facilitator -----------------------------------------------------------


@router.get("/cooperations/{cooperation_id}/request")
async def request_form(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    return await show_form(
        request, session, "request.html", reading(cooperation_id), **move_choices()
    )


@router.post("/cooperations/{cooperation_id}/request")
async def ask_transition(cooperation_id: str, request: Request, session: SessionDep) -> Response:
    def body_of(form: FormData, _: Words) -> tuple[dict[str, Any], dict[str, str]]:
        body = given(form, "action", "reason", "to")
        if body.get("action") != "restart":
            body.pop("to", None)  # the phase is asked of a restart only
        return body, {}

    return await send_form(
        request,
        session,
        template="request.html",
        read=reading(cooperation_id),
        endpoint=f"/v1/cooperations/{quote(cooperation_id)}/transition-requests",
        body_of=body_of,
        then=f"/cooperations/{quote(cooperation_id)}",
        done="request",
        **move_choices(),
    )
