"""A facilitator registers a cooperation from a form (`POST /v1/cooperations`, the API's own
endpoint): the cooperation, its members with their legal forms, its fiscal host, and the
funding lines it asks for, each with its allocation and its angle.

The form's inputs are named by the API's own field paths (`members.1.legal_form`,
`funding_lines.0.allocation.1.share`), so an error the API names lands on its input. Rows are
a fixed number plus "add one" buttons that post the form back (no JavaScript); empty rows are
left out of the body, so a body index is not always the form's row: `Registration.rows` keeps
which row each part of the body came from, and `input_of` turns the API's path back into the
input's name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.models import Page, ProgrammeShown
from api.web.client import Api, ApiProblem
from api.web.pages.common import SessionDep, guarded, posted_form, see
from api.web.render import page
from api.web.session import Session, locale_of
from domain.cooperation import EconomicModel, Kind
from domain.lifecycle.graduation import LEGAL_FORMS
from domain.programme import Phase
from i18n import Words

router = APIRouter(include_in_schema=False)

TOP = ("id", "name", "kind", "model", "economic_model", "start_phase", "fiscal_host", "lead")
MEMBER = ("id", "name", "legal_form")
ANGLE = ("angle.summary", "angle.indicators", "angle.members")
ROWS = {"members": 3, "funding_lines": 1, "payees": 2}
"""Rows a new form shows; one more each time its "add" button is pressed."""
MAX_ROWS = 50


@dataclass(frozen=True)
class Layout:
    """How many rows of each the form shows."""

    members: int = ROWS["members"]
    lines: int = ROWS["funding_lines"]
    payees: tuple[int, ...] = (ROWS["payees"],)

    def payees_of(self, line: int) -> int:
        return self.payees[line] if line < len(self.payees) else ROWS["payees"]

    def inputs(self) -> set[str]:
        """Every name an error may be shown at: the inputs, and the groups (fieldsets)."""
        names = {*TOP, "members", "funding_lines"}
        for i in range(self.members):
            names |= {f"members.{i}.{f}" for f in MEMBER}
        for i in range(self.lines):
            line = f"funding_lines.{i}"
            names |= {f"{line}.programme", f"{line}.allocation"}
            names |= {f"{line}.{f}" for f in ANGLE}
            for j in range(self.payees_of(i)):
                names |= {f"{line}.allocation.{j}.payee", f"{line}.allocation.{j}.share"}
        return names


def layout_of(values: Mapping[str, str], step: str | None = None) -> Layout:
    """The rows the form had (its hidden counts, or more if more were typed), plus the one
    its "add" button asked for."""

    def count(name: str, default: int, typed: int) -> int:
        given = values.get(name, "")
        n = int(given) if given.isdigit() else default
        return max(1, min(max(n, typed), MAX_ROWS))

    members = count("rows.members", ROWS["members"], _typed_rows(values, "members."))
    lines = count(
        "rows.funding_lines", ROWS["funding_lines"], _typed_rows(values, "funding_lines.")
    )
    payees = [
        count(
            f"rows.funding_lines.{i}.allocation",
            ROWS["payees"],
            _typed_rows(values, f"funding_lines.{i}.allocation."),
        )
        for i in range(lines)
    ]
    if step == "add_member":
        members = min(members + 1, MAX_ROWS)
    elif step == "add_line" and lines < MAX_ROWS:
        lines += 1
        payees.append(ROWS["payees"])
    elif step and step.startswith("add_payee."):
        line = step.removeprefix("add_payee.")
        if line.isdigit() and int(line) < lines:
            payees[int(line)] = min(payees[int(line)] + 1, MAX_ROWS)
    return Layout(members, lines, tuple(payees))


def _typed_rows(values: Mapping[str, str], prefix: str) -> int:
    """1 + the highest row index typed under `prefix` (0 when none)."""
    rows = [
        int(rest.split(".")[0])
        for name, value in values.items()
        if name.startswith(prefix) and value.strip()
        for rest in [name.removeprefix(prefix)]
        if rest.split(".")[0].isdigit()
    ]
    return max(rows) + 1 if rows else 0


@dataclass
class Registration:
    """The API's body, what is wrong before sending it (by input name), and the form's row of
    each member, line and payee the body holds (`rows["members"][k]`: the row of body member
    k; `rows["funding_lines.2.allocation"][k]`: of line 2's payee k, by the line's row)."""

    body: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)


def _typed(values: Mapping[str, str], name: str) -> str | None:
    value = values.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _words_list(text: str | None) -> list[str]:
    """Items typed one a line or separated by commas."""
    return [w.strip() for w in re.split(r"[,\n]", text or "") if w.strip()]


def share_of(text: str) -> str | None:
    """A percentage as people type it (`50`, `33,5 %`) as the API's share: a decimal fraction
    (`0.5`, `0.335`); None when it is not a percentage above 0 and at most 100."""
    try:
        value = Decimal(text.replace(",", ".").replace("%", "").replace("\u00a0", "").strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or not 0 < value <= 100:
        return None
    return format((value / 100).normalize(), "f")


def registration_body(values: Mapping[str, str], words: Words, layout: Layout) -> Registration:
    """The form as `POST /v1/cooperations` takes it. What the API checks is left to it (its
    errors come back by field); only what cannot be sent as typed is refused here: a share
    that is not a percentage, a line's angle or payees without its programme."""
    reg = Registration(body={}, rows={"members": [], "funding_lines": []})
    for name in TOP:
        if (value := _typed(values, name)) is not None:
            reg.body[name] = value
    members = []
    for i in range(layout.members):
        row = {f: v for f in MEMBER if (v := _typed(values, f"members.{i}.{f}")) is not None}
        # A legal form alone is not a member: the select always holds one.
        if set(row) - {"legal_form"}:
            members.append(row)
            reg.rows["members"].append(i)
    reg.body["members"] = members
    lines = []
    for i in range(layout.lines):
        line = _line(values, words, layout, i, reg)
        if line is not None:
            lines.append(line)
            reg.rows["funding_lines"].append(i)
    reg.body["funding_lines"] = lines
    return reg


def _line(
    values: Mapping[str, str], words: Words, layout: Layout, i: int, reg: Registration
) -> dict[str, Any] | None:
    at = f"funding_lines.{i}"
    programme = _typed(values, f"{at}.programme")
    line: dict[str, Any] = {"programme": programme}
    summary = _typed(values, f"{at}.angle.summary")
    indicators = _words_list(values.get(f"{at}.angle.indicators"))
    first = _words_list(values.get(f"{at}.angle.members"))
    if summary or indicators or first:
        angle: dict[str, Any] = {"indicators": indicators, "members": first}
        if summary:
            angle["summary"] = summary
        line["angle"] = angle
    allocation, rows = [], []
    for j in range(layout.payees_of(i)):
        payee = _typed(values, f"{at}.allocation.{j}.payee")
        typed_share = _typed(values, f"{at}.allocation.{j}.share")
        if payee is None and typed_share is None:
            continue
        share: dict[str, Any] = {}
        if payee is not None:
            share["payee"] = payee
        if typed_share is not None:
            fraction = share_of(typed_share)
            if fraction is None:
                reg.errors[f"{at}.allocation.{j}.share"] = words("web.register.share_invalid")
            else:
                share["share"] = fraction
        allocation.append(share)
        rows.append(j)
    if allocation:
        line["allocation"] = allocation
        reg.rows[f"{at}.allocation"] = rows
    if programme is None:
        if len(line) > 1:
            reg.errors[f"{at}.programme"] = words("web.register.programme_needed")
        return None
    return line


_LINE_IN_MESSAGE = re.compile(r"funding_lines\[(\d+)\][^:]*: (.*)", re.S)


def input_of(path: str, message: str, reg: Registration, layout: Layout) -> str:
    """The input (or group) an error the API names at `path` (of the body) is shown at; `_`
    (on top of the form) when it names none of them."""
    path = re.sub(r"\[(\d+)\]", r".\1", path)
    if path == "funding_lines" and (m := _LINE_IN_MESSAGE.match(message)):
        # The line's checks name the list and say the line in the message.
        part = "angle.members" if m.group(2).startswith("angle") else "allocation"
        path = f"funding_lines.{m.group(1)}.{part}"
    parts = path.split(".")
    body_line = None
    if len(parts) > 1 and parts[0] in ("members", "funding_lines") and parts[1].isdigit():
        k = int(parts[1])
        body_line = k if parts[0] == "funding_lines" else None
        rows = reg.rows.get(parts[0], [])
        parts[1] = str(rows[k]) if k < len(rows) else parts[1]
    if body_line is not None and len(parts) > 3 and parts[2] == "allocation" and parts[3].isdigit():
        k = int(parts[3])
        rows = reg.rows.get(f"funding_lines.{parts[1]}.allocation", [])
        parts[3] = str(rows[k]) if k < len(rows) else parts[3]
    if len(parts) == 2 and parts[1].isdigit():
        # The whole row: an unknown programme, a member that is not one.
        parts.append("programme" if parts[0] == "funding_lines" else "id")
    known = layout.inputs()
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts) if parts else "_"


def api_errors(problem: ApiProblem, reg: Registration, layout: Layout) -> dict[str, str]:
    """The API's bad fields by the form's inputs (two at one input: both said)."""
    errors: dict[str, str] = {}
    for path, message in problem.errors.items():
        name = input_of(path, message, reg, layout)
        if m := _LINE_IN_MESSAGE.match(message):
            # Said at the line's own input: its place in the body would only confuse.
            message = m.group(2)
        errors[name] = f"{errors[name]} {message}" if name in errors else message
    if not errors:
        errors["_"] = problem.detail
    return errors


# -- the pages ------------------------------------------------------------------------------


def _choices() -> dict[str, Any]:
    return {
        "kinds": [k.value for k in Kind],
        "economic_models": [m.value for m in EconomicModel],
        "phases": [p.value for p in Phase],
        "legal_forms": LEGAL_FORMS,
    }


def _form_page(
    request: Request,
    session: Session,
    programmes: list[ProgrammeShown],
    values: Mapping[str, str],
    errors: Mapping[str, str],
    layout: Layout,
    status: int = 200,
) -> Response:
    payees = [v for k in ("fiscal_host",) if (v := _typed(values, k))]
    payees += [
        v for i in range(layout.members) if (v := _typed(values, f"members.{i}.id")) is not None
    ]
    return page(
        request,
        session,
        "register.html",
        status=status,
        values=values,
        errors=errors,
        layout=layout,
        programmes=programmes,
        known_payees=list(dict.fromkeys(payees)),
        **_choices(),
    )


async def _programmes(api: Api) -> list[ProgrammeShown]:
    return (await api.read("/v1/programmes", Page[ProgrammeShown], limit=200)).items


def _facilitator_only(request: Request, session: Session) -> None:
    if session.role != "facilitator":
        raise ApiProblem(403, Words(locale_of(request))("web.register.facilitators_only"))


@router.get("/register")
async def register_form(request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        _facilitator_only(request, session)
        return _form_page(request, session, await _programmes(api), {}, {}, Layout())

    return await guarded(request, session, build)


@router.post("/register")
async def register(request: Request, session: SessionDep) -> Response:
    """An "add" button shows the form again with one more row; the main button sends it. A
    refusal shows the form again with everything typed and each error at its input."""

    async def build(api: Api) -> Response:
        _facilitator_only(request, session)
        form = await posted_form(request)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        step = values.get("step") or "register"
        layout = layout_of(values, step)
        if step != "register":
            return _form_page(request, session, await _programmes(api), values, {}, layout)
        reg = registration_body(values, Words(locale_of(request)), layout)
        errors = reg.errors
        if not errors:
            try:
                await api.post("/v1/cooperations", reg.body, values.get("form_key"))
                return see(f"/cooperations/{quote(reg.body.get('id', ''))}", "registered")
            except ApiProblem as problem:
                if problem.status in (403, 404):
                    raise
                errors = api_errors(problem, reg, layout)
        programmes = await _programmes(api)
        return _form_page(request, session, programmes, values, errors, layout, status=422)

    return await guarded(request, session, build)
