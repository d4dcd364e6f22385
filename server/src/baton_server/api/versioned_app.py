"""Our Cadwyn application class: Cadwyn with an async API-version dependency.

Cadwyn adds a dependency that reads the version header to every versioned route. It is a plain
``def``, so FastAPI runs it in the thread pool on every request — a fixed toll that halved the
throughput of heartbeats in our measurements. We install the same dependency (same signature,
so the header is documented identically in every spec) as a coroutine. See
``docs/adr/0002-lean-request-path.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cadwyn import Cadwyn
from cadwyn.applications import _materialize_routes
from cadwyn.middleware import _generate_api_version_dependency
from fastapi import APIRouter
from fastapi.params import Depends
from starlette.routing import BaseRoute


def _async_version_dependency(**kwargs: Any) -> Any:
    sync_dependency = _generate_api_version_dependency(**kwargs)

    async def api_version_dependency(**values: Any) -> Any:
        return next(iter(values.values()))

    api_version_dependency.__signature__ = sync_dependency.__signature__  # type: ignore[attr-defined]
    return api_version_dependency


def head_routes(routers: Iterable[APIRouter]) -> list[BaseRoute]:
    """The routes of HEAD ``routers`` as served: included routers flattened into their routes."""
    return [route for router in routers for route in _materialize_routes(router.routes)]


class VersionedApp(Cadwyn):
    """Cadwyn whose per-route version dependency runs on the event loop, not the thread pool."""

    def build_versions(self) -> None:
        """Generate every version's routes and models now (Cadwyn does it on the first call otherwise)."""
        if not self._cadwyn_initialized:
            self._cadwyn_initialize()

    def _add_versioned_routers(self, router: APIRouter, *, version: str) -> None:
        added_routes: list[BaseRoute] = []
        versioned_router = self.router.versioned_routers[version]
        if self.openapi_url is not None:
            versioned_router.add_route(
                path=self.openapi_url, endpoint=self.openapi_jsons, include_in_schema=False
            )
            added_routes.append(versioned_router.routes[-1])
        count_before = len(versioned_router.routes)
        versioned_router.include_router(
            router,
            dependencies=[
                Depends(
                    _async_version_dependency(
                        api_version_parameter_name=self.api_version_parameter_name,
                        api_version_pythonic_parameter_name=self.api_version_pythonic_parameter_name,
                        default_value=version,
                        fastapi_depends_class=self._api_version_fastapi_depends_class,
                        validation_data_type=self.api_version_validation_data_type,
                        title=self.api_version_title,
                        description=self.api_version_description,
                    )
                )
            ],
        )
        new_routes = _materialize_routes(versioned_router.routes[count_before:])
        versioned_router.routes[count_before:] = new_routes
        versioned_router._mark_routes_changed()
        added_routes.extend(new_routes)
        self.router.extend_routes(added_routes)
