"""Webhook subscriptions of funders and facilitators (Standard Webhooks), within their scope:
a subscriber never receives an event about a cooperation or a line it may not see. The
secret is given once, stored encrypted, never shown again and wiped with its subscription;
every delivery attempt is kept, with a plain reason for a failure. A URL must reach the
public Internet (or a network the operator allows): its host, and every address its name
resolves to, is checked here and again at each delivery (`notify.addresses`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import Field, field_validator

from api.auth import Caller, CallerDep
from api.deps import PoolDep
from api.models import Body, Deliveries, Delivery, Resent, WebhookDeleted, WebhookShown
from api.problems import Problem, field_error
from domain.events import EVENT_TYPES, instant
from notify.addresses import Refused, literal
from notify.webhooks import Policy, secret_problem
from store import delivery

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


_B64 = "[A-Za-z0-9+/]"
SECRET_FORM = (
    f"^whsec_(({_B64}{{4}}){{8,20}}({_B64}{{2}}==|{_B64}{{3}}=)?"
    f"|({_B64}{{4}}){{21}}({_B64}{{2}}==)?)$"
)
"""`whsec_` and the base64 of 24 to 64 bytes (`notify.webhooks.secret_problem`), for the schema."""


URL_FORM = r"^https?://[A-Za-z0-9]([A-Za-z0-9.-]{0,250}[A-Za-z0-9])?(:[1-9]\d{0,3})?(/[!-~]*)?$"
"""An http(s) URL with a host and no user (`Subscription._http`); whether the host reaches the
public Internet is the server's to find (422 naming `url` when it does not)."""


class Subscription(Body):
    url: Annotated[
        str, Field(min_length=1, max_length=2000, json_schema_extra={"pattern": URL_FORM})
    ]
    events: (
        Annotated[
            list[str],
            Field(min_length=1, json_schema_extra={"items": {"enum": list(EVENT_TYPES)}}),
        ]
        | None
    ) = None
    """Event types to receive (rule 13's names); all of them when left out."""
    secret: Annotated[
        str, Field(min_length=1, max_length=200, json_schema_extra={"pattern": SECRET_FORM})
    ]
    """`whsec_` and 24 to 64 random bytes in base64; write-only."""

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http or https URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry a user or password (sign with the secret)")
        try:
            httpx.URL(value)
        except (httpx.InvalidURL, UnicodeError):
            raise ValueError("must be an http or https URL with a host") from None
        return value

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = sorted(set(value) - set(EVENT_TYPES))
        if unknown or not value:
            raise ValueError(f"unknown event types {unknown}" if unknown else "empty: leave out")
        return sorted(set(value))

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        problem = secret_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def _shown(hook: delivery.Webhook) -> WebhookShown:
    return WebhookShown(
        id=hook.id, url=hook.url, events=hook.events, created_at=instant(hook.created_at)
    )


def _subscriber(caller: Caller) -> None:
    if caller.role == "collective":
        raise Problem(403, "webhooks are for funders and facilitators")


async def _own(pool: PoolDep, caller: Caller, webhook_id: str) -> delivery.Webhook:
    async with pool.acquire() as conn:
        hook = await delivery.owned_webhook(conn, caller.role, caller.subject, webhook_id)
    if hook is None:
        raise Problem(404, f"no webhook {webhook_id!r}")
    return hook


async def _reachable(policy: Policy, url: str) -> None:
    """422 naming `url` unless its host is, or resolves only to, addresses a webhook may
    reach. A name that does not resolve is refused too, in the same words as one that
    resolves inside: otherwise the answer would tell which internal names exist."""
    target = httpx.URL(url)
    host = target.raw_host.decode("ascii")
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        await policy.guard.addresses(host, port)
    except Refused as refused:
        if refused.reason == "invalid host":
            why = f"{host!r} is not a host name"
        elif literal(host) is not None:
            why = f"{host} is a {refused.reason.removeprefix('refused: ')}"
        else:
            why = f"{host} does not resolve to public addresses only"
        message = f"must reach the public Internet: {why}"
        raise Problem(
            422, f"url: {message}", errors=[field_error("url", message, "url_not_public")]
        ) from None


@router.post("", status_code=201, response_model=WebhookShown)
async def subscribe(
    body: Subscription, caller: CallerDep, pool: PoolDep, request: Request, response: Response
) -> WebhookShown:
    _subscriber(caller)
    policy: Policy = request.app.state.webhook_policy
    await _reachable(policy, body.url)
    try:
        async with pool.acquire() as conn:
            hook = await delivery.create_webhook(
                conn,
                caller.role,
                caller.subject,
                body.url,
                policy.box.seal(body.secret),
                body.events,
            )
    except delivery.TooManyWebhooks:
        raise Problem(
            409,
            f"at most {delivery.MAX_WEBHOOKS} webhook subscriptions per subject: delete one first",
        ) from None
    response.headers["Location"] = f"/v1/webhooks/{hook.id}"
    return _shown(hook)


@router.get("", response_model=list[WebhookShown])
async def subscriptions(caller: CallerDep, pool: PoolDep) -> list[WebhookShown]:
    _subscriber(caller)
    async with pool.acquire() as conn:
        return [_shown(h) for h in await delivery.owned_webhooks(conn, caller.role, caller.subject)]


@router.get("/{webhook_id}", response_model=WebhookShown)
async def subscription(webhook_id: str, caller: CallerDep, pool: PoolDep) -> WebhookShown:
    return _shown(await _own(pool, caller, webhook_id))


@router.delete("/{webhook_id}", response_model=WebhookDeleted)
async def unsubscribe(webhook_id: str, caller: CallerDep, pool: PoolDep) -> WebhookDeleted:
    hook = await _own(pool, caller, webhook_id)
    async with pool.acquire() as conn:
        await delivery.delete_webhook(conn, hook.id)
    return WebhookDeleted(**_shown(hook).model_dump())


@router.get("/{webhook_id}/deliveries", response_model=Deliveries)
async def deliveries(
    webhook_id: str,
    caller: CallerDep,
    pool: PoolDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Deliveries:
    """Every delivery of the subscription with each attempt (status code, error, duration)."""
    hook = await _own(pool, caller, webhook_id)
    async with pool.acquire() as conn:
        found = await delivery.deliveries_of(conn, hook.id, after, limit)
    items = [
        Delivery.model_validate(
            asdict(d)
            | {
                "next_attempt_at": instant(d.next_attempt_at) if d.status == "pending" else None,
                "delivered_at": d.delivered_at and instant(d.delivered_at),
            }
        )
        for d in found
    ]
    return Deliveries(items=items, next_after=items[-1].id if items else after)


@router.post("/{webhook_id}/deliveries/{delivery_id}/retry", response_model=Resent)
async def send_again(
    webhook_id: str,
    delivery_id: Annotated[int, Path(ge=1, le=2**62)],
    caller: CallerDep,
    pool: PoolDep,
) -> Resent:
    """A delivery that failed (or still waits) is sent again now."""
    hook = await _own(pool, caller, webhook_id)
    async with pool.acquire() as conn:
        if not await delivery.send_again(conn, hook.id, delivery_id):
            raise Problem(404, f"no delivery {delivery_id} of webhook {webhook_id!r} to send again")
    return Resent(id=delivery_id)
