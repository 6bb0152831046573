"""The collective's pages: its check-in (a narrative, needs and indicators), and a request
that its facilitator make a move (a pause, a restart, a pivot…)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData

from api.web.pages.common import CooperationForm, given, move_choices, text_of
from i18n import Words

router = APIRouter(include_in_schema=False)


# -- the check-in ---------------------------------------------------------------------------


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


CHECK_IN = CooperationForm(
    "check_in.html", "/check-ins", _check_in, "check_in", fields={"indicators": "indicator_name_0"}
)
CHECK_IN.serve(router, "/cooperations/{cooperation_id}/check-in")


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


def _request_body(form: FormData, _: Words) -> tuple[dict[str, Any], dict[str, str]]:
    body = given(form, "action", "reason", "to")
    if body.get("action") != "restart":
        body.pop("to", None)  # the phase is asked of a restart only
    return body, {}


REQUEST = CooperationForm(
    "request.html", "/transition-requests", _request_body, "request", choices=move_choices()
)
REQUEST.serve(router, "/cooperations/{cooperation_id}/request")
