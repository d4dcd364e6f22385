"""The only app factory: ``create_app(settings)`` builds the versioned Baton API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter
from fastapi.routing import APIRoute

from baton_server import __version__
from baton_server.api.errors import install_error_handlers
from baton_server.api.fast_lane import lanes
from baton_server.api.middleware import VERSION_HEADER, build_middleware
from baton_server.api.observe import ObservingMiddleware
from baton_server.api.openapi import document_api
from baton_server.api.routes.admin import backfills as admin_backfills
from baton_server.api.routes.admin import connections as admin_connections
from baton_server.api.routes.admin import controls as admin_controls
from baton_server.api.routes.admin import dags as admin_dags
from baton_server.api.routes.admin import pools as admin_pools
from baton_server.api.routes.admin import task_instances as admin_task_instances
from baton_server.api.routes.admin import variables as admin_variables
from baton_server.api.routes.admin import workers as admin_workers
from baton_server.api.routes.execution import connections as ex_connections
from baton_server.api.routes.execution import logs as ex_logs
from baton_server.api.routes.execution import task_instances as ex_task_instances
from baton_server.api.routes.execution import variables as ex_variables
from baton_server.api.routes.execution import xcoms as ex_xcoms
from baton_server.api.routes.health import health_router
from baton_server.api.routes.workers import dags as worker_dags
from baton_server.api.routes.workers import workloads as worker_workloads
from baton_server.api.versioned_app import VersionedApp, head_routes
from baton_server.api.versions import VERSIONS
from baton_server.background import repeating
from baton_server.config import Settings
from baton_server.db.migrate import prepare_database
from baton_server.presence import marking
from baton_server.runtime import Runtime
from baton_server.wakeup_relay import relaying

log = logging.getLogger("baton_server")

EXECUTION_PREFIX = "/execution"
WORKERS_PREFIX = "/workers"
ADMIN_PREFIX = "/api"
UI_PREFIX = "/ui"


def _operation_id(route: APIRoute) -> str:
    # Handlers are named verb_noun; the name is the operation id and so the generated method name.
    return route.name


def build_routers() -> list[APIRouter]:
    """The HEAD routers of the three APIs, mounted under their prefixes."""
    execution = APIRouter(prefix=EXECUTION_PREFIX)
    execution.include_router(health_router("check_execution_health", "health"))
    for module in (ex_task_instances, ex_logs, ex_variables, ex_connections, ex_xcoms):
        execution.include_router(module.router)
    workers = APIRouter(prefix=WORKERS_PREFIX)
    workers.include_router(health_router("check_workers_health", "health"))
    for module in (worker_dags, worker_workloads):
        workers.include_router(module.router)
    admin = APIRouter(prefix=ADMIN_PREFIX)
    admin.include_router(health_router("check_admin_health", "health"))
    for module in (
        admin_variables,
        admin_connections,
        admin_task_instances,
        admin_dags,
        admin_workers,
        admin_controls,
        admin_pools,
        admin_backfills,
    ):
        admin.include_router(module.router)
    return [execution, workers, admin]


@asynccontextmanager
async def reload_signing_keys(runtime: Runtime) -> AsyncIterator[None]:
    """Load the rotated signing keys, and reload them in the background while the block runs."""
    await runtime.load_signing_keys()
    async with repeating(
        "baton-signing-keys",
        runtime.load_signing_keys,
        runtime.settings.signing_key_refresh,
        at_once=False,
        log=log,
        failed="could not reload the signing keys; the keys held keep serving",
    ):
        yield


@asynccontextmanager
async def run_scheduler_beside(runtime: Runtime) -> AsyncIterator[None]:
    """Run the scheduler as a background task for the duration of the block, when the settings ask for it."""
    if not runtime.settings.run_scheduler:
        yield
        return
    from baton_server.scheduler import Scheduler

    stop = asyncio.Event()
    task = asyncio.create_task(Scheduler(runtime).run_until(stop), name="baton-scheduler")
    try:
        yield
    finally:
        stop.set()
        await task


def create_app(
    settings: Settings, *, database_prepared: bool = False, mark_presence: bool = True
) -> VersionedApp:
    """Build the Cadwyn app: every API version, error handling and the request middleware.

    Its lifespan checks the database and migrates it (``prepare_database``) unless
    ``database_prepared`` says the caller just did (``baton-server serve``, before it listens), and
    marks that a server is up every few seconds (:mod:`baton_server.presence`) unless
    ``mark_presence`` is False (an app in a test that drives the scheduler itself).
    """

    @asynccontextmanager
    async def lifespan(app: VersionedApp) -> AsyncIterator[None]:
        # Which of the server's processes this is (baton_server.processes sets it in each child).
        runtime = Runtime.create(settings.for_process(app.state.process_index))
        runtime.metrics.watch_pool(runtime.engine)
        app.state.runtime = runtime
        try:
            if not database_prepared:
                await prepare_database(runtime)
            async with (
                relaying(runtime.relay),
                reload_signing_keys(runtime),
                marking(runtime) if mark_presence else contextlib.nullcontext(),
                run_scheduler_beside(runtime),
            ):
                yield
        finally:
            await runtime.close()

    routers = build_routers()
    app = VersionedApp(
        versions=VERSIONS,
        served_without_header=settings.served_api_versions[-1],
        title="Baton API",
        description=(
            "The Task Execution API (/execution), the Worker API (/workers) and the admin API (/api). "
            f"Every request names its API version in the `{VERSION_HEADER}` header."
        ),
        version=__version__,
        api_version_parameter_name=VERSION_HEADER,
        versioning_middleware_class=build_middleware(
            settings.served_api_versions,
            request_max_bytes=settings.request_max_bytes,
            fast_lanes=lanes(VERSIONS, head_routes(routers)),
        ),
        generate_unique_id_function=_operation_id,
        openapi_customizer=document_api,
        lifespan=lifespan,
        separate_input_output_schemas=False,
    )
    app.state.process_index = 0
    install_error_handlers(app)
    # Added last, so outermost: it sees every request, the fast lanes' included.
    app.add_middleware(ObservingMiddleware)
    for router in routers:
        app.generate_and_include_versioned_routers(router)
    if settings.ui_enabled:
        from baton_server.ui import create_ui_app

        # Mounted outside the versioned routers: no API version, no OpenAPI document (docs/ui.md).
        app.mount(UI_PREFIX, create_ui_app(lambda: app.state.runtime))
    return app
