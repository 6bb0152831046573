"""Webhooks as the Standard Webhooks specification says (webhook-id, webhook-timestamp,
webhook-signature: HMAC-SHA256 with the subscription's secret), signed by its reference
library, so receivers verify with off-the-shelf code.

Each attempt checks its URL's host again (`notify.addresses`: DNS may have changed since the
subscription) and connects only to the addresses it checked, the URL's name kept for the
Host header, TLS's SNI and the certificate's check. What the subscriber reads of an attempt
is a plain reason ("timed out", "answered 503"), never the connection's error text: that
text describes the worker's network. Redirects are not followed."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import json
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpcore
import httpx
from standardwebhooks.webhooks import Webhook

from notify import addresses, sealing
from notify.addresses import Guard, Refused
from notify.sealing import SealingError, SecretBox
from runtime.config import Settings

SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)
# The longest an attempt may take, its address's check included: the outbox starts one only
# while its lease covers that much. httpx's timeouts are per operation (a receiver answering
# a byte at a time would hold an attempt for ever), hence this bound on the whole.
TIMEOUT = 10.0


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
class Policy:
    """What deliveries and subscriptions need from the settings: where webhooks may go, and
    the key of their secrets."""

    guard: Guard
    box: SecretBox

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        """From the settings; a StartupError naming the setting that is missing or wrong."""
        from runtime.connect import StartupError

        try:
            allow = addresses.parse_networks(settings.webhook_allow_networks)
        except ValueError as error:
            raise StartupError(f"{addresses.SETTING}: {error}") from None
        key = settings.secrets_key.get_secret_value() if settings.secrets_key else ""
        if not key.strip():
            raise StartupError(
                f"{sealing.SETTING} is not set: webhook secrets are encrypted at rest with it "
                "(make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            )
        try:
            box = SecretBox(key)
        except SealingError as error:
            raise StartupError(str(error)) from None
        return cls(Guard(allow), box)


@dataclass(frozen=True)
class Sent:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


# The addresses checked for the attempt under way, by (host, port) as the URL names them:
# the connection pool's network backend connects to these and nothing else.
_checked: contextvars.ContextVar[dict[tuple[str, int], list[str]]] = contextvars.ContextVar(
    "coopflow_webhook_checked"
)


class UncheckedHost(Exception):
    """A connection asked for a host no check was made for: never opened."""


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        pinned = _checked.get({}).get((host, port))
        if not pinned:
            raise UncheckedHost(host)
        failure: Exception | None = None
        for ip in pinned:
            try:
                return await self._inner.connect_tcp(
                    ip, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UncheckedHost(path)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the network backend above. A kept-alive connection (its pool
    is keyed by the URL's host) was opened to an address checked by the same rules."""

    def __init__(self) -> None:
        # No proxy from the environment: a proxy would connect wherever the URL says.
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_PinnedBackend(),
        )


class Sender:
    """Sends deliveries by the policy's rules: `async with Sender(policy) as sender`."""

    def __init__(self, policy: Policy, timeout: float | None = None) -> None:
        self.policy = policy
        self.timeout = TIMEOUT if timeout is None else timeout
        self._client = httpx.AsyncClient(
            transport=PinnedTransport(), follow_redirects=False, trust_env=False
        )

    async def __aenter__(self) -> Sender:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._client.__aexit__(kind, error, trace)

    async def send(
        self, url: str, stored_secret: str, msg_id: str, payload: dict[str, Any]
    ) -> Sent:
        """One attempt, over within the sender's `timeout` whatever the receiver does:
        delivered on a 2xx answer; anything else a plain reason."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                return await self._send(url, stored_secret, msg_id, payload, started)
        except TimeoutError:
            return Sent(False, None, "timed out", int((time.monotonic() - started) * 1000))

    async def _send(
        self, url: str, stored_secret: str, msg_id: str, payload: dict[str, Any], started: float
    ) -> Sent:
        def sent(ok: bool, status: int | None, error: str | None) -> Sent:
            return Sent(ok, status, error, int((time.monotonic() - started) * 1000))

        try:
            target = httpx.URL(url)
            host = target.raw_host.decode("ascii")
            port = target.port or (443 if target.scheme == "https" else 80)
            if target.scheme not in ("http", "https") or not host:
                return sent(False, None, "invalid URL")
            pinned = await self.policy.guard.addresses(host, port)
        except Refused as refused:
            return sent(False, None, refused.reason)
        except (httpx.InvalidURL, UnicodeError):
            return sent(False, None, "invalid URL")
        try:
            secret = self.policy.box.open(stored_secret)
        except SealingError:
            return sent(False, None, "secret unreadable")
        body = body_of(payload)
        token = _checked.set({(host, port): pinned})
        try:
            # The answer's body is not read: a receiver cannot make the worker hold it.
            async with self._client.stream(
                "POST",
                target,
                content=body.encode(),
                headers=signed(secret, msg_id, body),
                timeout=self.timeout,
            ) as response:
                status = response.status_code
        except (httpx.HTTPError, UncheckedHost, OSError) as error:
            return sent(False, None, plain_reason(error))
        finally:
            _checked.reset(token)
        if 200 <= status < 300:
            return sent(True, status, None)
        if 300 <= status < 400:
            return sent(False, status, "redirect not followed")
        return sent(False, status, f"answered {status}")


def plain_reason(error: BaseException) -> str:
    """What went wrong, in words that say nothing of the network beyond it."""
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, UncheckedHost):
        return "refused: address not checked"
    causes: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and len(causes) < 10:
        causes.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        return "TLS error"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    if isinstance(error, httpx.ConnectError):
        if any("refused" in str(c).lower() for c in causes):
            return "connection refused"
        return "could not connect"
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "connection lost"
    return "delivery failed"
