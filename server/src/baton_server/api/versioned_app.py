"""Our Cadwyn application class: Cadwyn with an async API-version dependency, built in two stages.

Cadwyn adds a dependency that reads the version header to every versioned route. It is a plain
``def``, so FastAPI runs it in the thread pool on every request — a fixed toll that halved the
throughput of heartbeats in our measurements. We install the same dependency (same signature,
so the header is documented identically in every spec) as a coroutine. See
``docs/adr/0002-lean-request-path.md``.

Cadwyn generates every version's routes and models in one pass, the first time the app is called:
most of the server's start-up. We generate the **latest** version's first, alone (Cadwyn's own
transformer, told to stop after the newest version), and the **older** versions' afterwards, in a
thread, with Cadwyn's unmodified generation (whose latest version we discard). A request that
needs an older version — its header names one, or it asks for a document (``/openapi.json``,
``/docs``) — waits until they are all built; they are built once, whoever asks first. Nothing is
ever routed to a version whose routes are not in place, so no request gets a 404 or another
version's answer while they are being built.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from cadwyn import Cadwyn, VersionBundle
from cadwyn.applications import _materialize_routes
from cadwyn.middleware import _generate_api_version_dependency
from cadwyn.route_generation import _EndpointTransformer, generate_versioned_routers
from cadwyn.structure import Version
from fastapi import APIRouter, HTTPException, Request
from fastapi.params import Depends
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send


def _async_version_dependency(**kwargs: Any) -> Any:
    sync_dependency = _generate_api_version_dependency(**kwargs)

    async def api_version_dependency(**values: Any) -> Any:
        return next(iter(values.values()))

    api_version_dependency.__signature__ = sync_dependency.__signature__  # type: ignore[attr-defined]
    return api_version_dependency


def head_routes(routers: Iterable[APIRouter]) -> list[BaseRoute]:
    """The routes of HEAD ``routers`` as served: included routers flattened into their routes."""
    return [route for router in routers for route in _materialize_routes(router.routes)]


class _LatestVersionOnly:
    """The version bundle as Cadwyn's route generation sees it, iterating over the newest version only.

    Everything else — the models of every version, the request and response migrations the routes
    run, the context variable of the version — is the real bundle's, so the newest version's routes
    are the ones a full generation makes. Generation walks from the newest version back, each older
    one starting from the one before, so stopping after the first changes nothing in it.
    """

    def __init__(self, bundle: VersionBundle) -> None:
        self._bundle = bundle

    def __iter__(self) -> Iterator[Version]:
        yield self._bundle.versions[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bundle, name)


class VersionedApp(Cadwyn):
    """Cadwyn whose version dependency runs on the event loop, and whose latest version is built first."""

    def __init__(self, *, served_without_header: str | None = None, **kwargs: Any) -> None:
        """``served_without_header``: the version a request without a version header is served (by
        default the latest; an older one when the server is capped, BATON_MAX_API_VERSION)."""
        super().__init__(**kwargs)
        self._build_lock = threading.RLock()
        self._latest_built = False
        self._older_build: concurrent.futures.Future[None] | None = None
        self._older_build_thread: threading.Thread | None = None
        self._freeze_after_older_build = False
        self._build_older_after_first_request = False
        self._build_older_after_start: float | None = None
        self._latest_head_router: APIRouter | None = None
        self._version_header = self.api_version_parameter_name.lower().encode("latin-1")
        self._document_paths = {p for p in (self.openapi_url, self.docs_url, self.redoc_url) if p}
        self._served_without_header = served_without_header or self.latest_version

    @property
    def latest_version(self) -> str:
        """The newest API version: the one built first."""
        return str(self.versions.versions[0].value)

    @property
    def all_versions_built(self) -> bool:
        """Whether every version's routes are in place."""
        build = self._older_build
        return build is not None and build.done() and build.exception() is None

    def build_versions(self) -> None:
        """Generate every version's routes and models now; return once the thread that built the
        older ones has ended (the process may fork next)."""
        self.build_latest_version()
        self._older_versions_build().result()
        if self._older_build_thread is not None:
            self._older_build_thread.join()

    def build_latest_version(self) -> None:
        """Generate the latest version's routes and models now (the older ones are left for later)."""
        with self._build_lock:
            if self._latest_built:
                return
            transformer = _EndpointTransformer(
                self._latest_version_router,
                self.versions,
                self.webhooks,
                self.api_version_parameter_name,
                self._api_version_location,
                run_background_tasks_of_latest_version_dependencies=(
                    self.run_background_tasks_of_latest_version_dependencies
                ),
            )
            transformer.versions = _LatestVersionOnly(self.versions)  # type: ignore[assignment]
            # Routes that only older versions restore are checked by the full generation.
            transformer.routes_that_never_existed = []
            generated = transformer.transform()
            # Cadwyn files the by-path migrations of every version under id() of these HEAD routes:
            # kept alive with the app, so that no later object (the full generation's) reuses an id.
            self._latest_head_router = transformer.head_router
            latest = self.latest_version
            self._add_versioned_routers(generated.endpoints[latest], version=latest)
            self._versioned_webhook_routers[latest] = generated.webhooks[latest]
            self._latest_built = True
            # Cadwyn's own first-call initialisation (every version at once) is not wanted any more.
            self._cadwyn_initialized = True

    def build_older_versions_soon(self, *, after_seconds: float, freeze: bool) -> None:
        """Build the older versions in a thread once the first request was answered, or
        ``after_seconds`` after the server started (its lifespan's start-up completed).

        With ``freeze``, the garbage collector is off while that build runs, and what it made is
        then moved out of the collector's sight (``gc.freeze``), as ``serve`` does with what it
        built before listening.
        """
        self._freeze_after_older_build = freeze
        self._build_older_after_first_request = True
        self._build_older_after_start = after_seconds

    def _start_the_older_build_timer(self) -> None:
        if self._build_older_after_start is None:
            return
        timer = threading.Timer(self._build_older_after_start, self._older_versions_build)
        timer.daemon = True
        timer.start()

    async def wait_for_all_versions(self) -> None:
        """Wait until every version's routes are in place, building the older ones if nobody has yet."""
        await asyncio.wrap_future(self._older_versions_build())

    def _older_versions_build(self) -> concurrent.futures.Future[None]:
        # One build per app, whoever asks first: later callers get the same future.
        with self._build_lock:
            if self._older_build is None:
                self._older_build = concurrent.futures.Future()
                self._older_build_thread = threading.Thread(
                    target=self._build_older_versions, args=(self._older_build,), name="baton-older-versions"
                )
                self._older_build_thread.start()
            return self._older_build

    def _build_older_versions(self, future: concurrent.futures.Future[None]) -> None:
        freeze = self._freeze_after_older_build
        if freeze:
            gc.disable()  # as while the server started: what is built lives as long as the process
        try:
            self.build_latest_version()
            generated = generate_versioned_routers(
                self._latest_version_router,
                webhooks=self.webhooks,
                versions=self.versions,
                api_version_parameter_name=self.api_version_parameter_name,
                api_version_location=self._api_version_location,
                run_background_tasks_of_latest_version_dependencies=(
                    self.run_background_tasks_of_latest_version_dependencies
                ),
            )
            latest = self.latest_version
            for version, router in generated.endpoints.items():
                if version != latest:  # the latest version keeps the routes it is already served with
                    self._add_versioned_routers(router, version=version)
            for version, router in generated.webhooks.items():
                if version != latest:
                    self._versioned_webhook_routers[version] = router
            if freeze:
                gc.collect()
                gc.freeze()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(None)
        finally:
            if freeze:
                gc.enable()

    def _cadwyn_initialize(self) -> None:
        self.build_versions()

    def _needs_older_versions(self, scope: Scope) -> bool:
        if scope["type"] not in ("http", "websocket"):
            return False
        if scope["path"] in self._document_paths:
            return True  # a document may be asked for any version
        requested = ""
        for name, value in scope["headers"]:
            if name == self._version_header:
                requested = value.decode("latin-1").strip()
                break
        return (requested or self._served_without_header) != self.latest_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._latest_built:
            self.build_latest_version()
        if scope["type"] == "lifespan" and not self.all_versions_built:
            await super().__call__(scope, receive, self._timer_at_startup(send))
            return
        if not self.all_versions_built:
            if self._needs_older_versions(scope):
                # Raises, for this request and the next ones alike, if their build failed.
                await self.wait_for_all_versions()
            elif scope["type"] == "http" and self._build_older_after_first_request:
                try:
                    await super().__call__(scope, receive, send)
                finally:
                    self._older_versions_build()
                return
        await super().__call__(scope, receive, send)

    def _timer_at_startup(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self._start_the_older_build_timer()
            await send(message)

        return sending

    async def openapi_jsons(self, req: Request) -> JSONResponse:
        """A version's OpenAPI document; none (404) for a version newer than this server serves
        (``BATON_MAX_API_VERSION``), whose requests it refuses."""
        version = req.query_params.get("version") or req.headers.get(self.router.api_version_parameter_name)
        if version in self.router.versioned_routers and version > self._served_without_header:
            raise HTTPException(status_code=404, detail=f"OpenApi file with version `{version}` not found")
        return await super().openapi_jsons(req)

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
