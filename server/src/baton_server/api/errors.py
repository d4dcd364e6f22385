"""Turn every error into ``{"reason": "<snake_case>", "message": "<sentence>"}`` with the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from baton_server.api.reasons import (
    BAD_REQUEST,
    CATALOGUE,
    DATABASE_UNAVAILABLE,
    ENCRYPTION_KEY_NOT_HELD,
    INTERNAL_ERROR,
    INVALID_JSON,
    METHOD_NOT_ALLOWED,
    NO_SUCH_ROUTE,
    PAYLOAD_TOO_LARGE,
    VALIDATION_ERROR,
    in_version,
)
from baton_server.db.availability import RETRY_AFTER_SECONDS, is_database_unavailable
from baton_server.errors import DomainError, SecretUnreadableError

log = logging.getLogger("baton_server.api")

# The statuses of the HTTP exceptions the framework raises itself: a body it cannot parse, an unknown
# path or method, and a streamed body over the limit. Every reason is in the catalogue (api/reasons.py).
_REASONS_BY_STATUS = {
    400: BAD_REQUEST.code,  # FastAPI: "There was an error parsing the body"
    404: NO_SUCH_ROUTE.code,
    405: METHOD_NOT_ALLOWED.code,
    413: PAYLOAD_TOO_LARGE.code,
}


class ErrorBody(BaseModel):
    """The body of every error response."""

    reason: str = Field(
        description="Stable snake_case code a client can branch on; each operation's error responses list "
        "the codes they send.",
        examples=["variable_not_found"],
    )
    message: str = Field(description="A sentence for humans.", examples=["Variable 'x' does not exist."])


def _json_error(status: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"reason": reason, "message": message})


def _describe_validation(exc: RequestValidationError) -> str:
    parts: list[str] = []
    for error in exc.errors()[:5]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {error.get('msg', 'invalid')}")
    more = len(exc.errors()) - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "invalid request: " + "; ".join(parts)


def reason_for_version(code: str, version: str | None) -> str:
    """The code a client of ``version`` gets for ``code``: itself, or the older code it replaced there."""
    reason = CATALOGUE.get(code)
    return code if reason is None else in_version(reason, version).code


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    from baton_server.api.middleware import VERSION_SCOPE_KEY

    reason = reason_for_version(exc.reason, request.scope.get(VERSION_SCOPE_KEY))
    return _json_error(exc.status_code, reason, exc.message)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if errors and errors[0].get("type") == "json_invalid":
        return _json_error(422, INVALID_JSON.code, "the request body is not valid JSON")
    return _json_error(422, VALIDATION_ERROR.code, _describe_validation(exc))


def _allowed_methods(request: Request) -> str | None:
    """Every method the request's path answers in its API version (Starlette names only one route's)."""
    from baton_server.api.middleware import VERSION_SCOPE_KEY

    version = request.scope.get(VERSION_SCOPE_KEY)
    routers = getattr(request.app.router, "versioned_routers", {})
    router = routers.get(version) if version is not None else None
    if router is None:
        return None
    methods: set[str] = set()
    for route in router.routes:
        match, _ = route.matches({**request.scope, "method": "\x00"})
        if match is Match.PARTIAL and isinstance(route, APIRoute) and route.methods:
            methods |= route.methods
    return ", ".join(sorted(methods)) if methods else None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    reason = _REASONS_BY_STATUS.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else reason.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "no such route in this API version"
    response = _json_error(exc.status_code, reason, message)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            response.headers["Allow"] = allowed
    return response


def database_unavailable_response() -> JSONResponse:
    """503 with Retry-After: the database cannot be reached now, the request was not done."""
    response = _json_error(
        503, DATABASE_UNAVAILABLE.code, "the metadata database cannot be reached right now; try again shortly"
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if is_database_unavailable(exc):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return database_unavailable_response()
    return await _unexpected_error(request, exc)


async def _secret_unreadable(request: Request, exc: Exception) -> JSONResponse:
    """503: the server's settings, not the request, are at fault; the log line names the setting."""
    assert isinstance(exc, SecretUnreadableError)
    from baton_server.api.middleware import VERSION_SCOPE_KEY

    log.error("%s %s: %s", request.method, request.url.path, exc)
    reason = reason_for_version(ENCRYPTION_KEY_NOT_HELD.code, request.scope.get(VERSION_SCOPE_KEY))
    message = (
        f"the server cannot decrypt {exc.what}: its {exc.setting} does not hold the key that encrypted it; "
        "an operator must add that key (the server's log says more)"
    )
    return _json_error(503, reason, message)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json_error(
        500, INTERNAL_ERROR.code, "the server failed to handle this request; it has been logged"
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same body shape."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(SecretUnreadableError, _secret_unreadable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Answered in the app (not by the outermost 500 handler), so the connection stays usable.
    for kind in (SQLAlchemyError, OSError, TimeoutError):
        app.add_exception_handler(kind, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
