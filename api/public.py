"""The public site: where e-mailed links point (COOPFLOW_PUBLIC_URL, never the request's own
Host, which whoever sends the request chooses), and the check that a request that may send a
mail was addressed to that site."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from api.problems import Problem
from runtime.config import Settings
from runtime.connect import StartupError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def public_base(settings: Settings) -> str:
    """`https://coopflow.example.org` (no trailing slash); StartupError naming the setting when
    it is unset or not an http(s) URL with a host."""
    url = (settings.public_url or "").strip()
    if not url:
        raise StartupError(
            "COOPFLOW_PUBLIC_URL is not set: give the address people reach the web interface"
            " at (e.g. https://coopflow.example.org), on which e-mailed links are built"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise StartupError(
            f"COOPFLOW_PUBLIC_URL {url!r} is not an http:// or https:// URL with a host"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise StartupError(f"COOPFLOW_PUBLIC_URL {url!r}: a site's address only, no query")
    return url.rstrip("/")


def public_host(settings: Settings) -> tuple[str, int]:
    parts = urlsplit(public_base(settings))
    assert parts.hostname is not None
    return parts.hostname.lower(), parts.port or _DEFAULT_PORTS[parts.scheme]


def host_is_public(request: Request) -> bool:
    """Whether the request's Host (name and port) is the public site's."""
    settings: Settings = request.app.state.settings
    name, port = public_host(settings)
    given = request.headers.get("host", "").strip().lower()
    try:
        parts = urlsplit(f"//{given}")
        given_port = parts.port
    except ValueError:
        return False
    if not given or parts.hostname is None or parts.username is not None or parts.path:
        return False
    scheme = urlsplit(public_base(settings)).scheme
    return (parts.hostname, given_port or _DEFAULT_PORTS[scheme]) == (name, port)


def require_public_host(request: Request) -> None:
    """400 when a request that may send a mail names another site than the public one: a link
    is never built for, nor sent on behalf of, a Host the sender chose."""
    if not host_is_public(request):
        raise Problem(
            400,
            "this request must be addressed to the public site (COOPFLOW_PUBLIC_URL):"
            " its Host header names another",
        )
