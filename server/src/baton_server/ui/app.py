"""The UI app: a plain FastAPI app mounted at ``/ui``, outside the versioned API and its documents."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton_server.db.availability import RETRY_AFTER_SECONDS, is_database_unavailable
from baton_server.errors import DomainError
from baton_server.runtime import Runtime
from baton_server.ui import actions, pages
from baton_server.ui.auth import CsrfRefusedError, LoginRequiredError
from baton_server.ui.deps import STATIC, UiState, make_environment, render, root

log = logging.getLogger("baton_server.ui")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_TITLES = {
    401: "Log in first",
    403: "Refused",
    404: "Not found",
    405: "Method not allowed",
    409: "Not possible now",
    422: "Invalid input",
    500: "Server error",
    503: "Database unavailable",
}


class SecurityHeaders:
    """Adds the UI's security headers to every answer, and keeps pages and fragments out of caches.

    An unexpected error before the answer began is answered here, with the error page and the same
    headers: Starlette's own answer to it comes from outside this middleware, a plain-text 500
    without them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(f"{scope.get('root_path', '')}/static/")
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
                if not static:
                    message["headers"].append((b"cache-control", b"no-store"))
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception as exc:
            if started:
                raise
            await _server_error(Request(scope), exc)(scope, receive, with_headers)


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    title = _TITLES.get(status, "Error")
    return render(request, "error.html", status_code=status, title=title, message=message)


async def _login_required(request: Request, exc: Exception) -> Response:
    login = f"{root(request)}/login"
    if request.headers.get("hx-request") == "true":
        # htmx follows HX-Redirect: an expired session's poll takes the page to the login form.
        return Response(status_code=401, headers={"HX-Redirect": login})
    if request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{login}?next={quote(target, safe='/')}", status_code=303)
    return _error_page(request, 401, "Log in with an admin token first.")


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return _error_page(
        request,
        403,
        str(exc) or "The form's CSRF token is missing or does not match this session: reload the page.",
    )


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return _error_page(request, exc.status_code, exc.message)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in exc.errors()[:5])
    return _error_page(request, 422, f"Invalid input: {fields}.")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return _error_page(request, exc.status_code, str(exc.detail))


def _server_error(request: Request, exc: Exception) -> Response:
    """The answer to an error nothing expected: logged with its traceback, a 500 page that says so."""
    log.exception("web UI: unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(request, 500, "The server failed to handle this request; it has been logged.")


async def _database_error(request: Request, exc: Exception) -> Response:
    if not is_database_unavailable(exc):
        return _server_error(request, exc)
    log.warning("web UI: the database is unavailable (%s %s)", request.method, request.url.path)
    response = _error_page(request, 503, "The database does not answer; try again in a moment.")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def create_ui_app(runtime_of: Callable[[], Runtime]) -> FastAPI:
    """The web UI, reading the server's runtime through ``runtime_of`` (set up by the server's lifespan)."""
    ui = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    ui.state.ui = UiState(runtime_of=runtime_of, templates=make_environment())
    ui.include_router(pages.router)
    ui.include_router(actions.router)
    ui.mount("/static", StaticFiles(directory=STATIC), name="static")
    ui.add_exception_handler(LoginRequiredError, _login_required)
    ui.add_exception_handler(CsrfRefusedError, _csrf_refused)
    ui.add_exception_handler(DomainError, _domain_error)
    ui.add_exception_handler(RequestValidationError, _validation_error)
    ui.add_exception_handler(StarletteHTTPException, _http_error)
    ui.add_exception_handler(SQLAlchemyError, _database_error)
    ui.add_middleware(SecurityHeaders)
    return ui
