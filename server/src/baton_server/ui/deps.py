"""The UI's request plumbing: its runtime, database sessions, the operator, forms, and rendering."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.runtime import Runtime
from baton_server.ui.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Operator,
    SessionSigner,
    check_csrf,
    identify,
    signer_for,
)
from baton_server.ui.views import SYMBOLS, state_name

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
HTMX_FILE = "htmx-2.0.11.min.js"
MAX_FORM_FIELDS = 20

NOTICES = {
    "triggered": "Run triggered.",
    "paused": "DAG paused: no scheduled runs until it is unpaused.",
    "unpaused": "DAG unpaused.",
    "cleared": "Cleared: the scheduler queues it again as a new try.",
    "marked": "State set.",
    "cancelled": "Run cancelled.",
    "deleted": "DAG deleted with its runs, logs and XComs.",
}
"""The only messages a redirect may ask a page to show: nothing from the query string is echoed."""


def segment(value: object) -> str:
    """A value quoted to stand as one URL path segment."""
    return quote(str(value), safe="")


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "—"
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def make_environment() -> Environment:
    """The templates, every value autoescaped."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(seg=segment, when=_when, state=state_name)
    env.globals.update(duration=_duration, symbols=SYMBOLS, htmx_file=HTMX_FILE, csrf_field=CSRF_FIELD)
    return env


@dataclass(frozen=True, slots=True)
class UiState:
    """What the UI app holds: how to reach the server's runtime, and its templates."""

    runtime_of: Callable[[], Runtime]
    templates: Environment


def ui_state(request: Request) -> UiState:
    """The UI app's state."""
    state: UiState = request.app.state.ui
    return state


def root(request: Request) -> str:
    """Where the UI is mounted (``/ui``): every link the pages write starts with it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


async def get_runtime(request: Request) -> Runtime:
    """The server's runtime, built by its lifespan."""
    return ui_state(request).runtime_of()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A database session for one UI request."""
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def signer(runtime: Runtime) -> SessionSigner:
    """The session signer of this server."""
    key = runtime.settings.encryption_key
    assert key is not None  # resolved by Runtime.create
    return signer_for(key.get_secret_value())


async def get_operator(request: Request, session: SessionDep, runtime: RuntimeDep) -> Operator:
    """The admin behind the request, or LoginRequiredError (a redirect to the login page, or 401)."""
    return await identify(
        session,
        signer(runtime),
        request.headers.get("authorization"),
        request.cookies.get(SESSION_COOKIE),
    )


OperatorDep = Annotated[Operator, Depends(get_operator)]


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form body's fields (the first value of each); empty for any other body."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        return {}
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


async def checked_form(request: Request, operator: OperatorDep) -> dict[str, str]:
    """The form of a state-changing request, once its CSRF token matched the session's."""
    form = await read_form(request)
    check_csrf(operator, form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER))
    return form


FormDep = Annotated[dict[str, str], Depends(checked_form)]


def render(
    request: Request,
    template: str,
    operator: Operator | None = None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page or fragment rendered with the UI's common context."""
    notice = NOTICES.get(request.query_params.get("notice", ""))
    html = (
        ui_state(request)
        .templates.get_template(template)
        .render(
            ui=root(request),
            operator=operator,
            csrf_token=operator.csrf_token if operator is not None else None,
            notice=notice,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(request: Request, path: str, notice: str | None = None) -> RedirectResponse:
    """303 to a UI path (after a form's POST, so that reloading the page does not post it again)."""
    url = root(request) + path
    if notice is not None:
        url += f"?notice={notice}"
    return RedirectResponse(url, status_code=303)
