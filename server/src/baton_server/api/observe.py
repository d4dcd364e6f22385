"""The outermost request layer: metrics of every request, the request's scope for log lines, and ``/metrics``.

It wraps everything, the fast lanes included, and stays cheap: two clock reads, one path match
(the heartbeat's first) and a counter and a histogram whose label children are cached.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from collections.abc import Iterable, MutableMapping
from contextvars import ContextVar
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton_server.api.middleware import REQUEST_ID_SCOPE_KEY, VERSION_SCOPE_KEY
from baton_server.api.reasons import METHOD_NOT_ALLOWED, METRICS_TOKEN_INVALID
from baton_server.metrics import CONTENT_TYPE
from baton_server.runtime import Runtime

log = logging.getLogger("baton_server.api")

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
"""The operation label of a request no route has."""
UI_OPERATION = "ui"
"""The operation label of every web UI request (``/ui``; docs/ui.md)."""

REQUEST_SCOPE: ContextVar[MutableMapping[str, Any] | None] = ContextVar("baton_request_scope", default=None)
"""The ASGI scope of the request being served, so that log lines can name its request id."""

_HEARTBEAT_RE = re.compile(r"^/execution/task-instances/[^/]+/heartbeat$")


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request, or before it was assigned)."""
    scope = REQUEST_SCOPE.get()
    return None if scope is None else scope.get(REQUEST_ID_SCOPE_KEY)


class _Operations:
    """Maps a method and path to the operation id of the route that serves it."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        seen: set[tuple[str, str]] = set()
        self._routes: list[tuple[frozenset[str], re.Pattern[str], str]] = []
        for route in routes:
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            methods = frozenset(route.methods or ())
            key = (route.path, ",".join(sorted(methods)))
            if key in seen:
                continue  # the same route in another version
            seen.add(key)
            self._routes.append((methods, route.path_regex, route.name))

    def of(self, method: str, path: str) -> str:
        if method == "PUT" and _HEARTBEAT_RE.match(path):
            return "heartbeat_task_instance"
        if path == "/ui" or path.startswith("/ui/"):
            return UI_OPERATION
        for methods, regex, name in self._routes:
            if method in methods and regex.match(path):
                return name
        return UNMATCHED


class ObservingMiddleware:
    """Counts and times every HTTP request by operation and version, and serves ``GET /metrics``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._operations: _Operations | None = None
        self._routes_seen = 0

    def _operation(self, scope: Scope) -> str:
        routes = scope["app"].routes
        # Read again when routes were added: the older API versions' are built after the server starts.
        if self._operations is None or len(routes) != self._routes_seen:
            self._operations = _Operations(routes)
            self._routes_seen = len(routes)
        return self._operations.of(scope["method"], scope["path"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        if runtime is None:
            await self.app(scope, receive, send)
            return
        if scope["path"] == METRICS_PATH and runtime.settings.metrics_enabled:
            await _serve_metrics(runtime, scope, send)
            return
        started = time.perf_counter()
        status = 500
        scope_token = REQUEST_SCOPE.set(scope)

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            REQUEST_SCOPE.reset(scope_token)
            runtime.metrics.observe_request(
                self._operation(scope),
                scope.get(VERSION_SCOPE_KEY) or "none",
                status,
                time.perf_counter() - started,
            )


def _error(reason: str, message: str) -> bytes:
    return json.dumps({"reason": reason, "message": message}).encode()


def _authorized(runtime: Runtime, scope: Scope) -> bool:
    expected = runtime.settings.metrics_token
    if expected is None:
        return True
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(
                token.strip().encode(), expected.get_secret_value().encode()
            )
    return False


async def _serve_metrics(runtime: Runtime, scope: Scope, send: Send) -> None:
    if scope["method"] not in ("GET", "HEAD"):
        status, body = 405, _error(METHOD_NOT_ALLOWED.code, "/metrics answers GET only")
        content_type = b"application/json"
    elif not _authorized(runtime, scope):
        status, body = 401, _error(METRICS_TOKEN_INVALID.code, "/metrics needs the metrics bearer token")
        content_type = b"application/json"
    else:
        try:
            await runtime.metrics.refresh(runtime.engine, runtime.sessions)
        except Exception:  # the process's own metrics are still worth answering with
            log.warning("metrics: could not read the database gauges", exc_info=True)
        status, body, content_type = 200, runtime.metrics.render(), CONTENT_TYPE.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body if scope["method"] != "HEAD" else b""})
