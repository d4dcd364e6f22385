"""One pure-ASGI middleware for what every request needs before routing.

It negotiates the API version from the ``Baton-API-Version`` header, assigns a request id,
enforces the request body limit and the input contract (:mod:`baton_server.api.input_contract`:
every body is read and checked whole before any route or fast lane sees it), answers a failure
itself so the connection stays usable, and stamps the served version and the request id on the
response. It replaces Cadwyn's ``BaseHTTPMiddleware``-based version picker, whose per-request
task and stream plumbing costs more than our heartbeat handler itself.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import date
from typing import TYPE_CHECKING, Any

from cadwyn._internal.context_vars import CURRENT_DEPENDENCY_SOLVER_VAR, DEFAULT_API_VERSION_VAR
from cadwyn.middleware import VersionPickingMiddleware
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton_server.api.input_contract import ParsedBody, check_path_and_query, is_json_content, parse_json_body
from baton_server.api.reasons import (
    CLIENT_VERSION_TOO_NEW,
    INTERNAL_ERROR,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_API_VERSION,
)

if TYPE_CHECKING:  # the lanes use the routes' dependencies, which use this module's scope keys
    from baton_server.api.fast_lane import Answered, Lanes

log = logging.getLogger("baton_server.api")

VERSION_HEADER = "Baton-API-Version"
REQUEST_ID_HEADER = "X-Request-ID"
_VERSION_HEADER_B = VERSION_HEADER.lower().encode()
_REQUEST_ID_HEADER_B = REQUEST_ID_HEADER.lower().encode()
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

REFRESHED_TOKEN_HEADER = "Refreshed-API-Token"  # noqa: S105 - a header name
REFRESHED_TOKEN_SCOPE_KEY = "baton.refreshed_token"  # noqa: S105 - a scope key
_REFRESHED_TOKEN_HEADER_B = REFRESHED_TOKEN_HEADER.lower().encode()
REQUEST_ID_SCOPE_KEY = "baton.request_id"
VERSION_SCOPE_KEY = "baton.api_version"
JSON_BODY_SCOPE_KEY = "baton.json_body"
"""The request's JSON body as the input contract's check parsed it (absent for any other body)."""


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit; FastAPI re-raises HTTPExceptions."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds the limit of {limit} bytes")


def _error_response(
    status: int, reason: str, message: str, headers: list[tuple[bytes, bytes]]
) -> list[Message]:
    body = json.dumps({"reason": reason, "message": message}).encode()
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


def _is_date(value: str) -> bool:
    if not _DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def negotiate_version(requested: str | None, supported: Sequence[str]) -> tuple[str | None, str, str]:
    """Pick the version to serve: (version or None, error reason, error message)."""
    latest = supported[-1]
    if requested is None or requested == "":
        return latest, "", ""
    if requested in supported:
        return requested, "", ""
    listing = ", ".join(supported)
    if _is_date(requested) and requested > latest:
        return (
            None,
            CLIENT_VERSION_TOO_NEW.code,
            f"API version {requested} is newer than this server's latest version {latest}: "
            f"upgrade the server, or use a client for one of: {listing}",
        )
    return (
        None,
        UNSUPPORTED_API_VERSION.code,
        f"API version {requested!r} is not supported; supported: {listing}",
    )


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _send_answer(send: Send, answered: Answered, extra_headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*extra_headers, *answered.headers]
    if answered.body and not any(name == b"content-type" for name, _ in answered.headers):
        headers += [
            (b"content-length", str(len(answered.body)).encode()),
            (b"content-type", b"application/json"),
        ]
    if answered.refreshed_token is not None:
        headers.append((_REFRESHED_TOKEN_HEADER_B, answered.refreshed_token.encode()))
    await send({"type": "http.response.start", "status": answered.status, "headers": headers})
    await send({"type": "http.response.body", "body": answered.body})


async def _internal_error(
    send: Send, scope: Scope, request_id: str, extra_headers: list[tuple[bytes, bytes]]
) -> None:
    """500 for an unexpected error of a route or a fast lane, logged. Answered here, not by the outermost
    handler, which would also drop the connection: the client's next request on it must not fail for
    this one."""
    log.exception("unhandled error on %s %s (request id %s)", scope["method"], scope["path"], request_id)
    for msg in _error_response(
        500,
        INTERNAL_ERROR.code,
        "the server failed to handle this request; it has been logged",
        extra_headers,
    ):
        await send(msg)


def build_middleware(
    versions: Sequence[str], *, request_max_bytes: int, fast_lanes: Lanes | None = None
) -> type[VersionPickingMiddleware]:
    """Make the middleware class Cadwyn installs, bound to our versions, body limit and fast lanes."""
    lanes = fast_lanes
    supported = sorted(versions)

    class BatonRequestMiddleware(VersionPickingMiddleware):
        def __init__(
            self,
            app: ASGIApp,
            *,
            api_version_parameter_name: str,
            api_version_default_value: Any,
            api_version_var: ContextVar[Any],
            api_version_manager: Any,
            dispatch: Any = None,
        ) -> None:
            self.app = app
            self.api_version_var = api_version_var

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            requested: str | None = None
            requested_raw = b""
            version_headers = 0
            request_id: str | None = None
            content_length: int | None = None
            content_type: bytes | None = None
            for name, value in scope["headers"]:
                if name == _VERSION_HEADER_B:
                    version_headers += 1
                    if requested is None:
                        # The first, as the routes' version dependency and VersionedApp read it.
                        requested_raw = value
                        requested = value.decode("latin-1").strip()
                elif name == _REQUEST_ID_HEADER_B:
                    candidate = value.decode("latin-1")
                    if _REQUEST_ID_RE.match(candidate):
                        request_id = candidate
                elif name == b"content-type" and content_type is None:
                    content_type = value  # the first, as the routes read it (Starlette's headers.get)
                elif name == b"content-length":
                    try:
                        content_length = int(value)
                    except ValueError:
                        content_length = None
            if request_id is None:
                request_id = uuid.uuid4().hex
            scope[REQUEST_ID_SCOPE_KEY] = request_id
            rid_header = (_REQUEST_ID_HEADER_B, request_id.encode())

            version, reason, message = negotiate_version(requested, supported)
            if version is None:
                for msg in _error_response(400, reason, message, [rid_header]):
                    await send(msg)
                return
            if content_length is not None and content_length > request_max_bytes:
                for msg in _error_response(
                    413,
                    PAYLOAD_TOO_LARGE.code,
                    f"the request body is {content_length} bytes; the limit is {request_max_bytes}",
                    [rid_header],
                ):
                    await send(msg)
                return

            scope[VERSION_SCOPE_KEY] = version
            extra_headers = [(_VERSION_HEADER_B, version.encode()), rid_header]
            refusal = check_path_and_query(scope["path"], scope.get("query_string", b""))
            body = b""
            if refusal is None and scope["method"] not in _BODYLESS_METHODS:
                try:
                    read = await _read_body(receive, request_max_bytes)
                except BodyTooLargeError as exc:
                    for msg in _error_response(413, PAYLOAD_TOO_LARGE.code, str(exc.detail), extra_headers):
                        await send(msg)
                    return
                if read is None:
                    return  # the client went away
                body = read
                receive = _replay(body, receive)
                if is_json_content(content_type):
                    checked = parse_json_body(body)
                    if isinstance(checked, ParsedBody):
                        scope[JSON_BODY_SCOPE_KEY] = checked.document  # for a lane: parsed once
                    else:
                        refusal = checked
            if refusal is not None:
                for msg in _error_response(422, refusal.reason, refusal.message, extra_headers):
                    await send(msg)
                return
            lane = None if lanes is None else lanes.lane_for(version, scope)
            if lane is not None:
                try:
                    answered = await lane(scope, body)
                except Exception:
                    # As the route's failure below: the same answer, and the connection stays usable.
                    await _internal_error(send, scope, request_id, extra_headers)
                    return
                if answered is not None:
                    await _send_answer(send, answered, extra_headers)
                    return
            if version_headers != 1 or requested_raw != version.encode():
                # The routes' version dependency reads the header: give it the version we picked, once
                # (none was sent, or it was sent with whitespace around it, or more than once).
                scope["headers"] = [
                    *(h for h in scope["headers"] if h[0] != _VERSION_HEADER_B),
                    (_VERSION_HEADER_B, version.encode()),
                ]
            # Cadwyn keeps per-request state in context variables. Set them here and reset them on the
            # way out, so that a caller running the app in its own task (an in-process test client)
            # sees each request start afresh, as under uvicorn, where each request has its own task.
            version_token = self.api_version_var.set(version)
            # Without a header the unversioned utility routes (/openapi.json, /docs) stay reachable.
            default_token = DEFAULT_API_VERSION_VAR.set(version if not requested else None)
            solver_token = CURRENT_DEPENDENCY_SOLVER_VAR.set("fastapi")
            started = False

            async def send_with_headers(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    message["headers"] = [*message.get("headers", []), *extra_headers]
                    token = scope.get(REFRESHED_TOKEN_SCOPE_KEY)
                    if token is not None:
                        message["headers"].append((_REFRESHED_TOKEN_HEADER_B, token.encode()))
                await send(message)

            try:
                await self.app(scope, receive, send_with_headers)
            except Exception:
                if started:
                    raise
                await _internal_error(send, scope, request_id, extra_headers)
            finally:
                CURRENT_DEPENDENCY_SOLVER_VAR.reset(solver_token)
                DEFAULT_API_VERSION_VAR.reset(default_token)
                self.api_version_var.reset(version_token)

    return BatonRequestMiddleware
