"""The errors the Baton client raises; every one is a :class:`BatonError`.

    BatonError
    ├── TransportError            the server could not be reached (after the retries)
    ├── InvalidKeyError           a key or id the API cannot take (refused before anything is sent)
    ├── DagDefinitionError        a DAG or task is defined wrongly (raised while the bundle loads)
    ├── BundleError               a bundle cannot be loaded, or a task's entry point not found in it
    ├── NoTaskContextError        Variable, Connection, XCom or get_context used outside a running task
    ├── VariableNotFoundError     no such variable (worker environment, secrets file, then the API)
    ├── ConnectionNotFoundError   no such connection, or not granted to this DAG
    ├── XComNotFoundError         no such XCom in this DAG run
    ├── ConnectionURIError        a connection URI (or its JSON form) that cannot be read
    ├── SecretsFileError          the worker's secrets file cannot be read
    ├── WorkerError               the worker cannot go on (credential refused, bad configuration)
    └── APIError                  the server answered with an error status
        ├── BadRequestError           400
        │   └── VersionMismatchError      the server does not serve this client's API version
        │       └── ServerTooOldError         ... because the client is newer: upgrade the server
        ├── UnauthorizedError         401
        ├── ForbiddenError            403
        ├── NotFoundError             404
        ├── ConflictError             409
        ├── PayloadTooLargeError      413
        ├── InvalidRequestError       422
        └── ServerError               5xx

An :class:`APIError` carries the HTTP status, the server's ``reason`` and ``message`` and the
request id (``X-Request-ID``) to quote when reporting a problem. The three "not found" errors of
the task SDK keep the :class:`APIError` that caused them (if the API was asked) as ``__cause__``.

:class:`TaskSkipped` is no error: a task raises it to end its attempt as ``skipped``.
"""

from __future__ import annotations

import json

REQUEST_ID_HEADER = "X-Request-ID"
CLIENT_VERSION_TOO_NEW = "client_version_too_new"
UNSUPPORTED_API_VERSION = "unsupported_api_version"


class BatonError(Exception):
    """Base class of every error the client raises."""


class TransportError(BatonError):
    """The request did not get an HTTP answer (connection refused, timed out, reset)."""


class InvalidKeyError(BatonError, ValueError):
    """A variable key, connection id or XCom address (DAG, run, task, key) the API cannot take:
    empty, past 250 characters, or with a character it does not allow (``/`` among them)."""


class APIError(BatonError):
    """The server answered with an error status and a ``{"reason", "message"}`` body."""

    def __init__(self, status: int, reason: str, message: str, request_id: str | None) -> None:
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{status} {reason}: {message}{suffix}")
        self.status = status
        self.reason = reason
        self.message = message
        self.request_id = request_id


class BadRequestError(APIError):
    """400: the request was refused before it reached a handler."""


class VersionMismatchError(BadRequestError):
    """400: the server does not serve the API version this client was generated for."""


class ServerTooOldError(VersionMismatchError):
    """400: this client speaks a newer API version than the server knows; upgrade the server."""

    def __init__(self, status: int, reason: str, message: str, request_id: str | None) -> None:
        super().__init__(status, reason, f"upgrade the Baton server: {message}", request_id)


class UnauthorizedError(APIError):
    """401: the token is missing, invalid, expired or revoked."""


class ForbiddenError(APIError):
    """403: the token may not touch this resource."""


class NotFoundError(APIError):
    """404: no such resource (or route, in this API version)."""


class ConflictError(APIError):
    """409: the resource is not in a state that allows this request."""


class PayloadTooLargeError(APIError):
    """413: the request body is over the server's limit."""


class InvalidRequestError(APIError):
    """422: the request body or parameters are not valid for this API version."""


class ServerError(APIError):
    """5xx: the server failed; idempotent requests were already retried."""


class DagDefinitionError(BatonError):
    """A DAG or task definition is invalid: a bad id, a cycle, a task used outside a DAG."""


class BundleError(BatonError):
    """A bundle cannot be loaded, or a workload's entry point does not name a task in it."""


class NoTaskContextError(BatonError):
    """A task-only facility (Variable, Connection, XCom, get_context) was used outside a running task."""


class VariableNotFoundError(BatonError, KeyError):
    """No variable of that key in the worker's environment, the secrets file or the API."""

    def __init__(self, key: str) -> None:
        super().__init__(f"variable {key!r} is not set")
        self.key = key

    def __str__(self) -> str:
        return str(self.args[0])


class ConnectionNotFoundError(BatonError, KeyError):
    """No connection of that id, or the server does not grant it to this DAG."""

    def __init__(self, conn_id: str, detail: str = "") -> None:
        super().__init__(f"connection {conn_id!r} is not defined{detail}")
        self.conn_id = conn_id

    def __str__(self) -> str:
        return str(self.args[0])


class XComNotFoundError(BatonError, KeyError):
    """No XCom at that address in this DAG run."""

    def __init__(self, task_id: str, key: str) -> None:
        super().__init__(f"no XCom {key!r} of task {task_id!r} in this DAG run")
        self.task_id = task_id
        self.key = key

    def __str__(self) -> str:
        return str(self.args[0])


class ConnectionURIError(BatonError, ValueError):
    """A connection URI (or its JSON-object form) that cannot be read."""


class SecretsFileError(BatonError):
    """The worker's secrets file cannot be read or does not have the documented shape."""


class WorkerError(BatonError):
    """The worker cannot go on: its credential was refused, or it is configured wrongly."""


class TaskSkipped(Exception):  # noqa: N818 - a signal, not an error: the attempt ends as skipped
    """Raise inside a task to end the attempt as ``skipped`` (downstream tasks follow trigger rules)."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: InvalidRequestError,
}


def error_from_response(status: int, body: bytes, request_id: str | None) -> APIError:
    """The typed error for an error response's status and ``{"reason", "message"}`` body."""
    reason, message = _parse_body(status, body)
    cls: type[APIError]
    if status == 400 and reason == CLIENT_VERSION_TOO_NEW:
        cls = ServerTooOldError
    elif status == 400 and reason == UNSUPPORTED_API_VERSION:
        cls = VersionMismatchError
    elif status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, APIError)
    return cls(status, reason, message, request_id)


def _parse_body(status: int, body: bytes) -> tuple[str, str]:
    # Not Baton's error body (a proxy's or another server's page): its text in one line, shortened.
    text = " ".join(body.decode("utf-8", "replace").split())
    fallback = (f"http_{status}", (text if len(text) <= 200 else text[:199] + "…") or f"HTTP {status}")
    try:
        data = json.loads(body)
    except ValueError:
        return fallback
    if isinstance(data, dict) and isinstance(data.get("reason"), str):
        return data["reason"], str(data.get("message", ""))
    return fallback
