"""Every error response a test provokes must carry a reason the catalogue documents for its operation.

The server test clients (``ServerHarness.client``) run this on each answer: the suites then walk
the code's error paths against ``baton_server.api.reasons`` as a side effect of testing them.
"""

from __future__ import annotations

from typing import Any

import httpx
from baton_server.api.reasons import BY_CREDENTIAL, CATALOGUE, EVERY_OPERATION, ROUTELESS, reasons_of
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import Match


def operation_of(app: Any, request: httpx.Request) -> APIRoute | None:
    """The route of the request's version (the latest without a header) that answers it, if any."""
    routers = app.router.versioned_routers
    version = request.headers.get("Baton-API-Version") or max(routers)
    router = routers.get(version) or routers[max(routers)]
    scope = {"type": "http", "path": request.url.path, "method": request.method, "root_path": ""}
    for route in router.routes:
        if isinstance(route, APIRoute) and route.matches(scope)[0] is Match.FULL:
            return route
    return None


def _dependencies(dependant: Dependant) -> list[Dependant]:
    found = list(dependant.dependencies)
    for dependency in dependant.dependencies:
        found += _dependencies(dependency)
    return found


def documented(route: APIRoute, version: str | None = None) -> dict[int, set[str]]:
    """Status → reasons the catalogue documents for the route's operation in ``version``."""
    credentials = {getattr(d.call, "scheme_name", None) for d in _dependencies(route.dependant)} & set(
        BY_CREDENTIAL
    )
    has_body = route.body_field is not None
    has_input = has_body or bool(route.dependant.path_params or route.dependant.query_params)
    by_status = reasons_of(
        route.operation_id or route.name,
        credentials=credentials,
        has_input=has_input,
        has_body=has_body,
        version=version,
    )
    return {status: {r.code for r in reasons} for status, reasons in by_status.items()}


def make_hook(app: Any) -> Any:
    """An httpx response hook failing the request when an error's reason is not documented."""

    async def check(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        await response.aread()
        reason = response.json().get("reason") if response.content else None
        route = operation_of(app, response.request)
        if route is None:
            # No route: the middleware's answers (before routing) or the router's own.
            assert reason in {r.code for r in (*ROUTELESS, *EVERY_OPERATION)}, (reason, response.request.url)
            return
        version = response.headers.get("Baton-API-Version")
        allowed = documented(route, version).get(response.status_code, set())
        newer = CATALOGUE.get(str(reason))
        if newer is not None and newer.since is not None and newer.instead is None:
            # A refusal older deployments never meet keeps its newer code in older versions.
            allowed |= documented(route).get(response.status_code, set())
        assert reason in allowed, (
            f"{route.operation_id or route.name} answered {response.status_code} {reason!r}, which "
            f"baton_server/api/reasons.py does not list for it (it lists {sorted(allowed)})"
        )

    return check
