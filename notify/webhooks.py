"""Webhooks as the Standard Webhooks specification says (webhook-id, webhook-timestamp,
webhook-signature: HMAC-SHA256 with the subscription's secret), signed by its reference
library, so receivers verify with off-the-shelf code."""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)
TIMEOUT = httpx.Timeout(10.0)


def secret_problem(secret: str) -> str | None:
    """Why a subscription's secret would not do, if it would not: the specification's form,
    `whsec_` and 24 to 64 random bytes in base64."""
    if not secret.startswith(SECRET_PREFIX):
        return f"must start with {SECRET_PREFIX!r} (the Standard Webhooks form)"
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return f"must be {SECRET_PREFIX} followed by base64"
    low, high = SECRET_BYTES
    if not low <= len(key) <= high:
        return f"must hold {low} to {high} bytes once decoded, not {len(key)}"
    return None


def message_id(delivery_id: int) -> str:
    """The same for every attempt of one delivery: receivers drop what they have seen."""
    return f"msg_{delivery_id}"


def signed(secret: str, msg_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
    moment = now or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, body),
        "content-type": "application/json",
        "user-agent": "coopflow-webhooks/1",
    }


def body_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class Sent:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


async def send(
    client: httpx.AsyncClient, url: str, secret: str, msg_id: str, payload: dict[str, Any]
) -> Sent:
    """One attempt: delivered on a 2xx answer."""
    body = body_of(payload)
    started = time.monotonic()
    try:
        response = await client.post(
            url, content=body.encode(), headers=signed(secret, msg_id, body), timeout=TIMEOUT
        )
    except httpx.HTTPError as error:
        elapsed = int((time.monotonic() - started) * 1000)
        return Sent(False, None, f"{type(error).__name__}: {error}"[:500], elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    if 200 <= response.status_code < 300:
        return Sent(True, response.status_code, None, elapsed)
    return Sent(False, response.status_code, f"answered {response.status_code}", elapsed)
