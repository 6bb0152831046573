"""The web interface's only way to the data: the JSON API itself, called in process with the
session's own bearer token. Scope, rules and refusals are the API's; a page shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar, cast

import httpx
from pydantic import TypeAdapter
from starlette.types import ASGIApp


@dataclass
class ApiProblem(Exception):
    """A problem+json answer of the API: its status, detail and the bad fields by path."""

    status: int
    detail: str
    errors: dict[str, str] = field(default_factory=dict)
    typed: list[tuple[str, str, str]] = field(default_factory=list)
    """Every bad field as (path, message, pydantic's type): a union's branches name the same
    field more than once (api/web/forms.py tells them apart)."""

    @classmethod
    def of(cls, response: httpx.Response) -> ApiProblem:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        errors = {
            str(e.get("path", "")): str(e.get("message", ""))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        }
        typed = [
            (str(e.get("path", "")), str(e.get("message", "")), str(e.get("type", "")))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        detail = str(body.get("detail") or response.reason_phrase)
        return cls(response.status_code, detail, errors, typed)


M = TypeVar("M")


def _adapter(shape: type[M]) -> TypeAdapter[M]:
    adapter: TypeAdapter[M] = _adapters(cast(Any, shape))
    return adapter


@cache
def _adapters(shape: Any) -> Any:
    # One adapter per shape: building one compiles its validator.
    return TypeAdapter(shape)


class Api:
    """`await api.get("/v1/…")`, `await api.post("/v1/…", body, key=…)`: the decoded answer,
    or ApiProblem. `key` is the form's Idempotency-Key: a form sent twice acts once."""

    def __init__(
        self, app: ASGIApp, token: str | None, forwarded: dict[str, str] | None = None
    ) -> None:
        """`forwarded`: headers of the person's own request the API must see, for a call that
        sends a mail: its Host (already checked to be the public site's, api/public.py) and
        the language the mail is written in."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        headers |= forwarded or {}
        self._http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", headers=headers
        )

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def get(self, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self._answer(await self._http.get(path, params=query))

    async def read(self, path: str, shape: type[M], **params: Any) -> M:
        """`get`, the answer read as the route's own response model (`shape`: a model, or a
        list or page of them), so a page reads attributes the schema states."""
        return _adapter(shape).validate_python(await self.get(path, **params))

    async def text(self, path: str, accept: str) -> str:
        response = await self._http.get(path, headers={"accept": accept})
        if response.is_error:
            raise ApiProblem.of(response)
        return response.text

    async def post(
        self, path: str, body: Any, key: str | None = None, host: str | None = None
    ) -> Any:
        """`host`: the Host the page was asked on, for an endpoint that may send a mail and
        so answers only on the public site's (the page checked it first)."""
        headers = {"idempotency-key": f"web-{key}"} if key else {}
        if host:
            headers["host"] = host
        return self._answer(await self._http.post(path, json=body, headers=headers))

    async def send(self, method: str, path: str, document: bytes, media_type: str) -> Any:
        """A document as it was written (a programme's YAML), under its media type."""
        response = await self._http.request(
            method, path, content=document, headers={"content-type": media_type}
        )
        return self._answer(response)

    async def put(self, path: str, body: Any) -> Any:
        return self._answer(await self._http.put(path, json=body))

    async def delete(self, path: str) -> Any:
        return self._answer(await self._http.delete(path))

    @staticmethod
    def _answer(response: httpx.Response) -> Any:
        if response.is_error:
            raise ApiProblem.of(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
