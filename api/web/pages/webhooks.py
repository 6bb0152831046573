"""The funder's webhooks: its subscriptions, each one's deliveries and their attempts, one
sent again, one deleted. Every page reads and writes through the JSON API."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.models import Deliveries, WebhookShown
from api.web.client import Api, ApiProblem
from api.web.forms import form_errors
from api.web.pages.common import SessionDep, act, guarded, number, only, posted_form, see, text_of
from api.web.render import page
from api.web.session import Session
from domain.events import EVENT_TYPES

router = APIRouter(include_in_schema=False)


def _new_secret() -> str:
    """A secret as the API takes it (`whsec_` and 32 random bytes in base64): offered on the
    form, to be kept by the receiver; the API never shows it again."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def _webhooks_page(
    request: Request,
    session: Session,
    api: Api,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    hooks = await api.read("/v1/webhooks", list[WebhookShown])
    return page(
        request,
        session,
        "webhooks.html",
        status=status,
        hooks=hooks,
        event_types=EVENT_TYPES,
        values=values or {"secret": _new_secret()},
        errors=errors or {},
    )


@router.get("/webhooks")
async def webhooks(request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        return await _webhooks_page(request, session, api)

    return await guarded(request, session, build)


@router.post("/webhooks")
async def subscribe(request: Request, session: SessionDep) -> Response:
    """A subscription: its URL (public Internet only: the API checks it), the events it takes
    (all when none is ticked) and its secret."""

    async def build(api: Api) -> Response:
        form = await posted_form(request)
        chosen = [e for e in form.getlist("events") if isinstance(e, str)]
        body: dict[str, Any] = {"url": text_of(form, "url"), "secret": text_of(form, "secret")}
        if chosen:
            body["events"] = chosen
        try:
            await api.post("/v1/webhooks", body, text_of(form, "form_key"))
        except ApiProblem as problem:
            if problem.status in (403, 404):
                raise
            values: dict[str, Any] = {
                "url": text_of(form, "url"),
                "secret": text_of(form, "secret") or "",
                "events": chosen,
            }
            errors = form_errors(problem.typed, {"url", "secret", "events"}, problem.detail)
            return await _webhooks_page(request, session, api, values, errors, 422)
        return see("/webhooks", "webhook_created")

    return await guarded(request, session, build)


@router.get("/webhooks/{webhook_id}")
async def webhook(webhook_id: str, request: Request, session: SessionDep) -> Response:
    """A subscription's deliveries, each with its attempts; one failed or waiting may be sent
    again."""

    async def build(api: Api) -> Response:
        base = f"/v1/webhooks/{quote(webhook_id)}"
        hook = await api.read(base, WebhookShown)
        after = number(request.query_params.get("after"), 0)
        found = await api.read(f"{base}/deliveries", Deliveries, after=after, limit=50)
        return page(
            request,
            session,
            "webhook.html",
            hook=hook,
            deliveries=found.items,
            next_after=found.next_after if len(found.items) == 50 else None,
        )

    return await guarded(request, session, build)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry")
async def send_again(
    webhook_id: str, delivery_id: int, request: Request, session: SessionDep
) -> Response:
    hook = f"/webhooks/{quote(webhook_id)}"
    endpoint = f"/v1{hook}/deliveries/{delivery_id}/retry"
    return await act(request, session, endpoint, only("delivery_again", {}), hook)


@router.post("/webhooks/{webhook_id}/delete")
async def unsubscribe(webhook_id: str, request: Request, session: SessionDep) -> Response:
    async def build(api: Api) -> Response:
        await posted_form(request)
        await api.delete(f"/v1/webhooks/{quote(webhook_id)}")
        return see("/webhooks", "webhook_deleted")

    return await guarded(request, session, build)
