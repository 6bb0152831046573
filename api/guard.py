"""What no request may bring, and what every answer carries (DESIGN.md, "Who may get in, and
what nobody may abuse").

`InputGuard` refuses, before any route or parser sees them, a NUL or a lone surrogate (or
any byte sequence that is not UTF-8) in a path, a query or a body's strings, and a JSON or
YAML body nested past MAX_DEPTH levels (or a YAML body whose aliases expand past
MAX_ALIAS_NODES nodes): PostgreSQL refuses NUL and non-UTF-8 text, and Python's parsers and
validators recurse. `SecurityHeaders` is the one place the answers' security headers come
from: pages, the API, files, redirects and the errors sent before any route."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import yaml
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import read_body, replay
from api.problems import PROBLEM, Problem, problem_body
from domain.limits import text_problem

MAX_DEPTH = 64
"""Arrays and objects (sequences and mappings) inside one another: 64 levels at most."""
MAX_ALIAS_NODES = 10_000
"""What a YAML body's aliases may add to it, in nodes: anchors reused, never a bomb."""

HSTS = "max-age=63072000; includeSubDomains"
# Nothing from elsewhere, no inline script; styles inline only as attributes of the plots'
# SVG. `form-action 'self'` keeps a tampered page from posting a form away.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self';"
    " script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none';"
    " object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
"""Every HTML answer's; any other answer gets nosniff (and HSTS where cookies are Secure)."""

JSON_TYPES = ("", "application/json")
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's when installed: the guard reads the events the routes then load (api/deps.py),
with the same parser (libyaml refuses an escaped lone surrogate; PyYAML's own takes it)."""
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"
_WITH_BODY = ("POST", "PUT", "PATCH")


class SecurityHeaders:
    """Outermost (around Starlette's own error handling, so a 500 gets them too): adds to each
    answer the headers it lacks (a header a route set itself is kept as it set it)."""

    def __init__(self, app: ASGIApp, *, strict_transport: bool) -> None:
        self.app = app
        self.strict_transport = strict_transport

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": self.secured(message.get("headers") or [])}
            await send(message)

        await self.app(scope, receive, send_secured)

    def secured(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        wanted = dict(PAGE_HEADERS) if content_type.startswith(b"text/html") else {}
        wanted["X-Content-Type-Options"] = "nosniff"
        if self.strict_transport:
            wanted["Strict-Transport-Security"] = HSTS
        added = [
            (name.lower().encode(), value.encode())
            for name, value in wanted.items()
            if name.lower().encode() not in present
        ]
        return [*headers, *added]


def install(app: Any, *, strict_transport: bool) -> None:
    """The guard inside the RequestGate (which bounds the body first), the headers around
    everything: Starlette builds its middleware stack on the first request, so the headers'
    middleware wraps what it builds."""
    app.add_middleware(InputGuard)
    build = app.build_middleware_stack

    def build_secured() -> ASGIApp:
        return SecurityHeaders(build(), strict_transport=strict_transport)

    app.build_middleware_stack = build_secured


# -- the input ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """What is wrong with a text: where (a dotted path; "" for the body itself) and why."""

    where: str
    why: str
    pointer: str = ""


def text_fault(value: str) -> str | None:
    """Why PostgreSQL or UTF-8 would refuse this text, if it would (the door's words, length
    aside: that is each field's own rule); never the text itself."""
    return text_problem(value, max_length=sys.maxsize)


def bytes_fault(raw: bytes) -> str | None:
    """Why these bytes (a path or query once percent-decoded) are not acceptable text."""
    if b"\x00" in raw:
        return "must not contain the NUL character (%00)"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "must be UTF-8 (no lone surrogate, no stray byte)"
    return None


def path_problem(scope: Scope) -> Problem | None:
    raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    fault = bytes_fault(unquote_to_bytes(raw))
    if fault:
        return Problem(400, f"the path {fault}")
    return None


def query_problem(query: bytes) -> Problem | None:
    for bad in _pairs_faults(query):
        return Problem(
            400, f"the query parameter {bad.where or '?'} {bad.why}", errors=[_error(bad)]
        )
    return None


def _pairs_faults(encoded: bytes) -> Iterator[Bad]:
    """A query string or an urlencoded form: each name and value, percent-decoded."""
    for part in re.split(rb"[&;]", encoded):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        name_bytes = unquote_to_bytes(name.replace(b"+", b" "))
        value_bytes = unquote_to_bytes(value.replace(b"+", b" "))
        name_fault = bytes_fault(name_bytes)
        shown = "" if name_fault else name_bytes.decode("utf-8")
        if name_fault:
            yield Bad("", f"(a name) {name_fault}")
            return
        value_fault = bytes_fault(value_bytes)
        if value_fault:
            yield Bad(shown, value_fault)
            return


def _error(bad: Bad) -> dict[str, Any]:
    return {
        "path": bad.where,
        "pointer": bad.pointer or ("/" + _escape(bad.where) if bad.where else ""),
        "message": bad.why,
        "type": "unsafe_text",
    }


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


# JSON: a string (to its end, or to the body's end if it never closes: one pass, never a
# rescan) or a bracket; everything else is left to the parser.
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)|[\[\]{}]', re.DOTALL)
# An escaped NUL or surrogate (an escaped backslash before `u` is not one): without any, no
# string needs decoding here.
_SUSPECT_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def json_problem(body: bytes) -> Problem | None:
    """Too deep (counted over the bytes, before any parser recurses), or a string that
    PostgreSQL would refuse (named by its path). A body that is not JSON is the route's."""
    if b"\x00" in body:
        return Problem(400, "the body is not valid JSON: it holds a NUL byte")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return Problem(400, "the body is not UTF-8 (a lone surrogate or a stray byte)")
    depth = 0
    # Checked (and found safe) already when no escape is suspect.
    unsafe = False
    suspect = _SUSPECT_ESCAPE.search(body) is not None
    for token in _JSON_TOKEN.finditer(body):
        text = token.group()
        if text in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                return too_deep()
        elif text in (b"]", b"}"):
            depth = max(depth - 1, 0)
        elif suspect and not unsafe and b"\\u" in text:
            try:
                unsafe = text_fault(json.loads(text)) is not None
            except ValueError:
                continue  # not a JSON string: the parser will say so
    if not unsafe:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return Problem(422, "the body holds a NUL (\\u0000) or a lone surrogate")
    bad = next(_document_faults(document, []), Bad("", "holds a NUL or a lone surrogate"))
    return unsafe_field(bad)


def _document_faults(value: Any, at: list[str]) -> Iterator[Bad]:
    if isinstance(value, str):
        fault = text_fault(value)
        if fault:
            yield Bad(".".join(at), fault, _pointer(at))
    elif isinstance(value, dict):
        for i, (key, item) in enumerate(value.items()):
            key_text = key if isinstance(key, str) else str(key)
            fault = text_fault(key_text)
            if fault:
                # The key itself is at fault: named by its position, never repeated.
                yield Bad(".".join(at), f"key #{i + 1}: {fault}", _pointer(at))
                return
            yield from _document_faults(item, [*at, key_text])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _document_faults(item, [*at, str(i)])


def _pointer(at: list[str]) -> str:
    return "".join("/" + _escape(part) for part in at)


def unsafe_field(bad: Bad) -> Problem:
    return Problem(422, f"invalid fields: {bad.where or '(body)'}", errors=[_error(bad)])


def too_deep() -> Problem:
    return Problem(400, f"the body is nested more than {MAX_DEPTH} levels deep")


def yaml_problem(body: bytes) -> Problem | None:
    """YAML's events, never its objects: depth (through aliases too), what aliases expand
    to, and each scalar's text, named by its path. A body that is not YAML is the route's."""
    # Per open collection: [key expected next?, current key or index, anchor, nodes, depth].
    frames: list[_Frame] = []
    anchors: dict[str, tuple[int, int]] = {}  # anchor → (nodes, levels)
    expanded = 0
    try:
        for event in yaml.parse(body, Loader=YAML_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                if len(frames) + 1 > MAX_DEPTH:
                    return too_deep()
                mapping = isinstance(event, yaml.MappingStartEvent)
                frames.append(_Frame(mapping, event.anchor, _at(frames)))
            elif isinstance(event, yaml.CollectionEndEvent):
                done = frames.pop()
                if done.anchor:
                    anchors[done.anchor] = (done.nodes + 1, done.levels + 1)
                if frames:
                    frames[-1].took(done.nodes + 1, done.levels + 1)
            elif isinstance(event, yaml.ScalarEvent):
                top = frames[-1] if frames else None
                is_key = top is not None and top.mapping and top.expects_key
                fault = text_fault(event.value)
                if fault and top is not None and is_key:
                    why = f"key #{top.index + 1}: {fault}"
                    return unsafe_field(Bad(".".join(top.at), why, _pointer(top.at)))
                if fault:
                    at = _at(frames)
                    return unsafe_field(Bad(".".join(at), fault, _pointer(at)))
                if event.anchor:
                    anchors[event.anchor] = (1, 0)
                if top is not None and is_key:
                    top.key = event.value
                    top.expects_key = False
                    top.nodes += 1
                elif top is not None:
                    top.took(1, 0)
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    return Problem(400, "the body's YAML refers to an anchor not defined before")
                nodes, levels = anchors[event.anchor]
                expanded += nodes
                if expanded > MAX_ALIAS_NODES:
                    return Problem(
                        400, f"the body's YAML aliases expand past {MAX_ALIAS_NODES} nodes"
                    )
                if len(frames) + levels > MAX_DEPTH:
                    return too_deep()
                if frames:
                    frames[-1].took(nodes, levels)
    except (yaml.YAMLError, UnicodeDecodeError):
        return None  # not YAML: document_body says so (400)
    except RecursionError:  # pragma: no cover - the depth check stops before any recursion
        return too_deep()
    return None


@dataclass
class _Frame:
    mapping: bool
    anchor: str | None
    at: list[str]
    expects_key: bool = True
    key: str = ""
    index: int = 0
    nodes: int = 0
    levels: int = 0

    def took(self, nodes: int, levels: int) -> None:
        """A child (a scalar, a collection, an alias) ended: counted, and the next is a key
        (mapping) or the next item (sequence)."""
        self.nodes += nodes
        self.levels = max(self.levels, levels)
        if self.mapping:
            if self.expects_key:  # a collection (or alias) as a key: its value comes next
                self.expects_key = False
                self.key = "?"
                return
            self.expects_key = True
        self.index += 1


def _at(frames: list[_Frame]) -> list[str]:
    """The path of the node being read now."""
    if not frames:
        return []
    top = frames[-1]
    return [*top.at, top.key if top.mapping else str(top.index)]


def body_problem(media_type: str, body: bytes) -> Problem | None:
    if media_type in JSON_TYPES or media_type.endswith("+json"):
        return json_problem(body)
    if media_type in YAML_TYPES:
        return yaml_problem(body)
    if media_type == FORM_TYPE:
        for bad in _pairs_faults(body):
            return unsafe_field(bad)
    if media_type == MULTIPART_TYPE:
        # No form here takes a file: every part is text, and the whole body must be.
        fault = bytes_fault(body)
        if fault:
            return Problem(400, f"the form {fault}")
    return None


class InputGuard:
    """Pure ASGI, inside the RequestGate (which has bounded and read the body once): the
    path, the query and the body checked, the body handed on as it came."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = path_problem(scope) or query_problem(scope.get("query_string", b""))
        if problem is None and scope["method"] in _WITH_BODY:
            body = await read_body(receive)
            receive = replay(body)
            problem = body_problem(_media_type(scope), body)
        if problem is None:
            await self.app(scope, receive, send)
            return
        await _refuse(scope, send, problem)


def _media_type(scope: Scope) -> str:
    value: bytes
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


async def _refuse(scope: Scope, send: Send, problem: Problem) -> None:
    from api.web import is_page

    # The path is shown back only once made safe (its NUL and stray bytes replaced).
    raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    path = unquote_to_bytes(raw).decode("utf-8", "replace")
    path = path.replace("\x00", "\ufffd")
    if is_page(path):
        await _refuse_page(scope, send, problem)
        return
    body = json.dumps(problem_body(problem, path)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", PROBLEM.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _refuse_page(scope: Scope, send: Send, problem: Problem) -> None:
    """Said as a page, in the reader's language, as any refused form is."""
    from api.web.client import ApiProblem
    from api.web.render import page

    safe = {**scope, "path": "/", "raw_path": b"/", "query_string": b""}
    detail = problem.detail + "".join(f" ({e['path']})" for e in problem.errors if e["path"])
    request = Request(safe, replay(b""))
    response = page(
        request,
        None,
        "error.html",
        status=problem.status,
        problem=ApiProblem(problem.status, detail),
    )
    await response(safe, replay(b""), send)
