"""The table test_authorization_matrix.py runs (its docstring says how to read it): every
endpoint of the app, with the status each kind of caller gets, and the cases it generates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api import world as w
from tests.api.conftest import cooperation, programme
from tests.api.world import CALLERS, CLOSED, COOP, World

COLUMNS = tuple(CALLERS)

Body = Callable[[World, str], Any]
"""A request body from the world and the caller's subject ("" without a token)."""


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    """The route's path template, as the app registers it."""
    expected: str
    """One cell per column, separated by spaces."""
    body: Body | None = None
    params: dict[str, Any] = field(default_factory=dict)
    """Path parameters other than the defaults (see `_url`)."""

    @property
    def cells(self) -> dict[str, str]:
        cells = self.expected.split()
        assert len(cells) == len(COLUMNS), f"{self.method} {self.path}: {len(cells)} cells"
        return dict(zip(COLUMNS, cells, strict=True))

    @property
    def cooperation(self) -> str:
        return str(self.params.get("cooperation_id", COOP))


def _own_programme(_: World, subject: str) -> dict[str, Any]:
    return programme(f"neuf-{subject or 'x'}", subject or "x")


def _fondation_programme(_: World, __: str) -> dict[str, Any]:
    return programme("usurpe", w.FUNDER)


def _new_version(world: World, subject: str) -> dict[str, Any]:
    # The spec names the caller as its funder: only ownership of the programme can refuse it.
    return world.programmes["fdt"] | {"name": "Programme fdt, v2", "funder": subject or "x"}


def _own_cooperation(world: World, subject: str) -> dict[str, Any]:
    return cooperation(f"{world.coop}-neuve-{subject or 'x'}", [])


def _for_the_facilitator(world: World, __: str) -> dict[str, Any]:
    return cooperation(f"{world.coop}-pour-anim", [], facilitator=w.FACILITATOR)


def _const(value: Any) -> Body:
    return lambda _world, _subject: value


PUBLIC = "200 200 200 200 200 200 200 200 200 200"
ANY_TOKEN = "200 200 200 200 200 200 200 200 401 401"
OWNER_ONLY = "200 403 403 403 403 403 403 403 401 401"
# The cooperation read by everyone in scope, its fiscal host included.
EVERYONE = "200 200 404 200 404 200 200 404 401 401"
# The shared parts (check-ins, requests): not the fiscal host's.
SHARED = "200 200 404 200 404 404 200 404 401 401"
# The funder's own line: invisible to another funder.
OWN_LINE = "200 404 404 200 404 200 200 404 401 401"
NOTHING = "404 404 404 404 404 404 404 404 401 401"
WEBHOOK_OWNER = "200 404 404 404 404 404 404 404 401 401"

# fmt: off
TABLE: tuple[Row, ...] = (
    # Columns:                                          fnd co  out fac ofa hst col oco -   rev
    Row("GET", "/healthz", PUBLIC),
    Row("GET", "/livez", PUBLIC),
    Row("GET", "/openapi.json", PUBLIC),
    Row("GET", "/docs", PUBLIC),
    Row("GET", "/docs/static/start.js", PUBLIC),
    Row("GET", "/docs/static/{name}", PUBLIC, params={"name": "swagger-ui.css"}),
    Row("GET", "/v1/me", ANY_TOKEN),
    # -- programmes: read by all, configured by their funder ----------------------------------
    Row("POST", "/v1/programmes",                       "201 201 201 403 403 403 403 403 401 401",
        _own_programme),
    Row("POST", "/v1/programmes",                       "201 403 403 403 403 403 403 403 401 401",
        _fondation_programme),
    Row("GET", "/v1/programmes", ANY_TOKEN),
    Row("GET", "/v1/programmes/{programme_id}", ANY_TOKEN),
    Row("GET", "/v1/programmes/{programme_id}", NOTHING, params={"programme_id": "inconnu"}),
    Row("PUT", "/v1/programmes/{programme_id}", OWNER_ONLY, _new_version),
    Row("GET", "/v1/programmes/{programme_id}/versions", OWNER_ONLY),
    Row("POST", "/v1/programmes/{programme_id}/budget", OWNER_ONLY, _const({"amount": "10.00"})),
    Row("GET", "/v1/programmes/{programme_id}/dashboard", OWNER_ONLY),
    Row("GET", "/v1/programmes/{programme_id}/forecast", OWNER_ONLY),
    Row("GET", "/v1/programmes/{programme_id}/inbox", OWNER_ONLY),
    # -- cooperations: registered by facilitators, read by everyone in scope -----------------
    Row("POST", "/v1/cooperations",                     "403 403 403 201 201 201 403 403 401 401",
        _own_cooperation),
    Row("POST", "/v1/cooperations",                     "403 403 403 201 403 403 403 403 401 401",
        _for_the_facilitator),
    Row("GET", "/v1/cooperations", ANY_TOKEN),
    Row("GET", "/v1/cooperations/{cooperation_id}", EVERYONE),
    Row("GET", "/v1/cooperations/{cooperation_id}", NOTHING, params={"cooperation_id": "inconnue"}),
    # Closed, its workflow ended: read from PostgreSQL with the same scope.
    Row("GET", "/v1/cooperations/{cooperation_id}", EVERYONE, params={"cooperation_id": CLOSED}),
    Row("GET", "/v1/cooperations/{cooperation_id}/schedule", EVERYONE),
    Row("GET", "/v1/cooperations/{cooperation_id}/ledger", EVERYONE),
    Row("GET", "/v1/cooperations/{cooperation_id}/ledger", EVERYONE,
        params={"cooperation_id": CLOSED}),
    Row("GET", "/v1/cooperations/{cooperation_id}/events", EVERYONE),
    # An event about the funder's line: the co-funder reads its seq, type and date only.
    Row("GET", "/v1/cooperations/{cooperation_id}/events/{seq}", EVERYONE),
    # -- funding lines ------------------------------------------------------------------------
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines",
                                                        "403 403 404 201 404 403 403 404 401 401",
        _const({"programme": "fdt-bis"})),
    Row("GET", "/v1/cooperations/{cooperation_id}/funding-lines", EVERYONE),
    Row("GET", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}", OWN_LINE),
    Row("GET", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}",
                                                        "404 200 404 200 404 200 200 404 401 401",
        params={"programme": "reg"}),
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/decision",
                                                        "ok  404 404 403 404 403 403 404 401 401",
        _const({"accept": True})),
    # Rule 18: the line's funder records its convention (a second one is 409).
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/convention",
                                                        "201 404 404 403 404 403 403 404 401 401",
        _const({"reference": "CONV-1", "signed_on": "2026-01-05"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/convention",
                                                        "404 201 404 403 404 403 403 404 401 401",
        _const({"reference": "CONV-2", "signed_on": "2026-01-05"}), params={"programme": "reg"}),
    # Rule 20: an amendment (avenant) of the funder's line fdt, proposed by the facilitator and
    # decided by the line's funder (another funder does not see the line); the hosting cannot
    # end while reg still pays the host.
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/amendments",
                                                        "403 404 404 201 404 403 403 404 401 401",
        _const({"allocation": [{"payee": "emprunteur", "share": "1"}]})),
    Row("POST", "/v1/cooperations/{cooperation_id}/funding-lines/{programme}/amendments/decision",
                                                        "200 404 404 403 404 403 403 404 401 401",
        _const({"accept": True})),
    Row("POST", "/v1/cooperations/{cooperation_id}/hosting/end",
                                                        "403 403 404 409 404 403 403 404 401 401"),
    # -- moves and requests -------------------------------------------------------------------
    # Foreseen by whoever may make the move, changing nothing.
    Row("POST", "/v1/cooperations/{cooperation_id}/transitions/preview",
                                                        "403 403 404 200 404 403 403 404 401 401",
        _const({"action": "advance"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/transitions/preview", NOTHING,
        _const({"action": "advance"}), params={"cooperation_id": "inconnue"}),
    # Closed, its workflow ended: the rules' refusal, as the move itself would get.
    Row("POST", "/v1/cooperations/{cooperation_id}/transitions/preview",
                                                        "403 403 404 409 404 403 403 404 401 401",
        _const({"action": "advance"}), params={"cooperation_id": CLOSED}),
    Row("POST", "/v1/cooperations/{cooperation_id}/transitions",
                                                        "403 403 404 200 404 403 403 404 401 401",
        _const({"action": "pivot", "objectives": "Atelier vélo", "reason": "Nouveau local"})),
    Row("GET", "/v1/cooperations/{cooperation_id}/transition-requests", SHARED),
    Row("GET", "/v1/cooperations/{cooperation_id}/transition-requests/{seq}", SHARED),
    Row("POST", "/v1/cooperations/{cooperation_id}/transition-requests/{seq}/decline",
                                                        "403 403 404 ok  404 404 403 404 401 401",
        _const({"reason": "Pas encore"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/transition-requests",
                                                        "403 403 404 403 404 404 201 404 401 401",
        _const({"action": "pause", "reason": "Saison des récoltes"})),
    # -- members ------------------------------------------------------------------------------
    Row("POST", "/v1/cooperations/{cooperation_id}/members",
                                                        "403 403 404 201 404 403 403 404 401 401",
        _const({"id": "nouveau", "name": "Nouveau membre", "legal_form": "association"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/members/{member}/formalise",
                                                        "403 403 404 200 404 403 403 404 401 401",
        _const({"legal_form": "association", "rna": "W123456789"})),
    Row("GET", "/v1/cooperations/{cooperation_id}/members", EVERYONE),
    Row("GET", "/v1/cooperations/{cooperation_id}/members/{member}", EVERYONE),
    Row("DELETE", "/v1/cooperations/{cooperation_id}/members/{member}",
                                                        "403 403 404 200 404 403 403 404 401 401",
        params={"member": "partant"}),
    # -- check-ins and reviews ----------------------------------------------------------------
    Row("GET", "/v1/cooperations/{cooperation_id}/check-ins", SHARED),
    Row("GET", "/v1/cooperations/{cooperation_id}/check-ins/{check_in_id}", SHARED),
    Row("POST", "/v1/cooperations/{cooperation_id}/check-ins/{check_in_id}/review",
                                                        "403 403 404 200 404 404 403 404 401 401",
        _const({"decision": "accepted"})),
    # Period 1 now holds a reviewed check-in: the rules refuse (409) once the collective is in.
    Row("POST", "/v1/cooperations/{cooperation_id}/check-ins",
                                                        "403 403 404 403 404 404 409 404 401 401",
        _const({"narrative": "Encore un atelier."})),
    Row("GET", "/v1/check-ins",                         "403 403 403 200 200 200 403 403 401 401"),
    # Facilitator tokens only; a facilitator hosting nothing gets an empty list.
    Row("GET", "/v1/fiscal-host/funds",                 "403 403 403 200 200 200 403 403 401 401"),
    Row("GET", "/v1/transition-requests",               "200 200 200 200 200 200 403 403 401 401"),
    # -- approvals, repayments, write-offs ----------------------------------------------------
    # A grant's approval tranche: its funder or the facilitator (not paid by the line).
    Row("POST", "/v1/cooperations/{cooperation_id}/approvals",
                                                        "200 404 404 ok  404 403 403 404 401 401",
        _const({"line": "fdt", "tranche": "feu-vert"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/approvals",
                                                        "404 200 404 ok  404 403 403 404 401 401",
        _const({"line": "reg", "tranche": "feu-vert"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/repayments",
                                                        "201 404 404 403 404 403 403 404 401 401",
        _const({"line": "pret", "tranche": "pret", "amount": "100.00"})),
    Row("POST", "/v1/cooperations/{cooperation_id}/write-offs",
                                                        "201 404 404 403 404 403 403 404 401 401",
        _const({"line": "pret", "tranche": "pret", "reason": "Projet arrêté"})),
    # Rule 19: a versement recorded paid by its line's funder alone.
    Row("POST", "/v1/cooperations/{cooperation_id}/payments",
                                                        "201 404 404 403 404 403 403 404 401 401",
        lambda _world, _subject: {"line": "fdt", "tranche": "amorcage",
                                  "paid_on": datetime.now(UTC).date().isoformat()}),
    # -- reports (of the closed cooperation, whose collective is the one in scope) ------------
    # The fiscal host lists the reports of the lines that pay it (checked below).
    Row("GET", "/v1/cooperations/{cooperation_id}/reports", EVERYONE,
        params={"cooperation_id": CLOSED}),
    # The funder's line's report: the co-funder's lines have their own; the line pays the
    # fiscal host, which reads it.
    Row("GET", "/v1/reports/{report_id}",               "200 404 404 200 404 200 200 404 401 401",
        params={"cooperation_id": CLOSED}),
    # The co-funder's line pays a member, not the host: its report is not the host's.
    Row("GET", "/v1/reports/{report_id}",               "404 200 404 200 404 404 200 404 401 401",
        params={"cooperation_id": CLOSED, "report_id": "reg"}),
    # -- notifications: contacts for every subject, webhooks for funders and facilitators -----
    Row("PUT", "/v1/me/contacts", ANY_TOKEN, _const({"emails": ["suivi@example.org"]})),
    Row("GET", "/v1/me/contacts", ANY_TOKEN),
    # An invitation of the cooperation's collective by e-mail: its facilitator's only.
    Row("POST", "/v1/cooperations/{cooperation_id}/invitations",
                                                        "403 403 404 202 404 403 403 404 401 401",
        _const({"email": "collectif@example.org"})),
    Row("POST", "/v1/webhooks",                         "201 201 201 201 201 201 403 403 401 401",
        lambda _world, _subject: w.webhook_body()),
    Row("GET", "/v1/webhooks",                          "200 200 200 200 200 200 403 403 401 401"),
    # One's own subscription only: another's is not found.
    Row("GET", "/v1/webhooks/{webhook_id}", WEBHOOK_OWNER),
    Row("GET", "/v1/webhooks/{webhook_id}/deliveries", WEBHOOK_OWNER),
    Row("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", WEBHOOK_OWNER),
    Row("DELETE", "/v1/webhooks/{webhook_id}", WEBHOOK_OWNER),
)
# fmt: on


def _url(row: Row, world: World) -> str:
    values: dict[str, Any] = {
        "cooperation_id": COOP,
        "programme_id": "fdt",
        "programme": "fdt",
        "seq": world.event,
        "check_in_id": world.check_in,
        "member": "habitants",
        "report_id": world.report,
        "webhook_id": world.webhook,
        "delivery_id": world.delivery,
    }
    if "transition-requests/{seq}" in row.path:
        values["seq"] = world.request
    values |= row.params
    if "report_id" in row.params:
        values["report_id"] = world.reports[row.params["report_id"]]
    values["cooperation_id"] = world.id(values["cooperation_id"])
    return row.path.format(**values)


class _Ids(dict[str, Any]):
    """Test ids show the path template, with the parameters a row overrides."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


CASES = [
    pytest.param(
        row, column, id=f"{row.method} {row.path.format_map(_Ids(row.params))} as {column}"
    )
    for row in TABLE
    for column in COLUMNS
]
