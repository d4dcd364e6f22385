"""Fast lanes for a task's and a worker's requests, when they succeed: a heartbeat, an attempt's start
(``run``), log upload and final ``state``, a claim, a worker's heartbeat, and every task route that only
reads or idempotently writes with the caller's running attempt (variables, connections, XComs, the run's
facts).

Every route is declared like any other, so it is in every version's spec and every generated
client, and all its errors come from the one error path. But a request that can be answered with
success is answered here, ahead of the framework's routing, Cadwyn's two dependency solves and its
response migration: one token check, the route's own validation, and the same service functions
(or the same answer builders, :mod:`baton_server.api.answers`) the routes call. Anything
else — a malformed body, a missing or bad token, a 404 or 409 — is replayed untouched to the
declared route, which gives the canonical answer; a database that cannot be reached is the one
error a lane answers itself (503 with Retry-After, as the routes do), rather than trying twice. An
unexpected error is raised to the middleware, which answers it 500 as it answers a route's.

Most of them are *route lanes*: built from the declared route itself (its path, query and body
parameters, its endpoint function, its response model and class), with its dependencies — the
runtime, a bare connection, the running attempt or its check — provided without FastAPI's solve. Only routes
whose method is GET, PUT or DELETE qualify: a refusal after a write is then safe to replay. The
rest are hand-written, each its own part of :func:`_serve`.

A lane serves the API versions in which its route is HEAD's, and older ones whose route differs only
in models Cadwyn migrates by schema: the body validated with that version's route and migrated to
HEAD's, the answer migrated back and rendered with that version's route, with the same migration
functions Cadwyn runs (:class:`_Plan`). See docs/adr/0002-lean-request-path.md.
"""

from __future__ import annotations

import functools
import json
import re
import typing
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cadwyn import RequestInfo, ResponseInfo, VersionBundle, VersionChange
from cadwyn.structure.versions._aliases import _rescue_body
from cadwyn.structure.versions._json import _get_route_json_values_plan
from cadwyn.structure.versions._migration_targets import (
    _get_request_body_target,
    _get_schema_migration_target,
    _get_schema_migrations,
    _no_union_member,
)
from cadwyn.structure.versions._request_body import _dump_request_body
from cadwyn.structure.versions._responses import _prepare_response_content, _rescue_response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.routing import APIRoute, serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import Scope

from baton_server.api.answers import claimed_workloads, finish_attempt, start_attempt, store_logs
from baton_server.api.deps import attempt_check, get_runtime, get_task_connection, running_attempt
from baton_server.api.input_contract import is_json_content
from baton_server.api.middleware import JSON_BODY_SCOPE_KEY, VERSION_SCOPE_KEY
from baton_server.api.routes._orchestration import CLIENT_RUNTIMES_HEADER, worker_model
from baton_server.api.schemas.execution import (
    DagRunInfo,
    LogBatch,
    LogBatchAccepted,
    LogLine,
    TaskInstanceIdentity,
    TIHeartbeatPayload,
    TIRunContext,
    TIRunPayload,
    TIStatePayload,
    TIStateResponse,
)
from baton_server.api.schemas.orchestration import (
    ClaimedWorkloads,
    ClaimWorkloadsPayload,
    ExecuteTaskWorkload,
    Worker,
)
from baton_server.db.availability import RETRY_AFTER_SECONDS, is_database_unavailable
from baton_server.db.direct import transaction
from baton_server.errors import DomainError, SecretUnreadableError
from baton_server.runtime import Runtime
from baton_server.services.task_instances import AttemptCheck, heartbeat, load_attempt
from baton_server.services.tokens import TaskClaims
from baton_server.services.workloads import ClaimRequest, claim_workloads_by_token, heartbeat_worker_by_token

HEARTBEAT_PATH = "/execution/task-instances/{task_instance_id}/heartbeat"
RUN_PATH = "/execution/task-instances/{task_instance_id}/run"
STATE_PATH = "/execution/task-instances/{task_instance_id}/state"
LOGS_PATH = "/execution/task-instances/{task_instance_id}/logs"
CLAIMS_PATH = "/workers/{worker_id}/claims"
WORKER_HEARTBEAT_PATH = "/workers/{worker_id}/heartbeat"
_HEARTBEAT_RE = re.compile(r"^/execution/task-instances/([0-9a-fA-F-]{32,36})/heartbeat$")
_ATTEMPT_RE = re.compile(r"^/execution/task-instances/([^/]{1,64})/(run|state|logs)$")
_CLAIMS_RE = re.compile(r"^/workers/([^/]{1,64})/claims$")
_WORKER_HEARTBEAT_RE = re.compile(r"^/workers/([^/]{1,64})/heartbeat$")
_CLIENT_RUNTIMES_HEADER = CLIENT_RUNTIMES_HEADER.lower().encode()
_HEARTBEAT_PAYLOAD = TypeAdapter(TIHeartbeatPayload)
_CLAIM_PAYLOAD = TypeAdapter(ClaimWorkloadsPayload)
_CLAIMED = TypeAdapter(ClaimedWorkloads)
_WORKER = TypeAdapter(Worker)
_UUID = TypeAdapter(uuid.UUID)
_RUN_PAYLOAD = TypeAdapter(TIRunPayload)
_RUN_CONTEXT = TypeAdapter(TIRunContext)
_STATE_PAYLOAD = TypeAdapter(TIStatePayload)
_STATE_RESPONSE = TypeAdapter(TIStateResponse)
_LOG_BATCH = TypeAdapter(LogBatch)
_LOG_BATCH_ACCEPTED = TypeAdapter(LogBatchAccepted)
_JSON_CONTENT_TYPE = (b"content-type", b"application/json")


def _touches_schema(change: type[VersionChange], schema: type[BaseModel]) -> bool:
    return (
        any(getattr(i, "schema", None) is schema for i in change.alter_schema_instructions)
        or schema in change.alter_request_by_schema_instructions
        or schema in change.alter_response_by_schema_instructions
    )


def _touches_path(change: type[VersionChange], path: str, *, but_requests: bool = False) -> bool:
    """Whether ``change`` alters the route at ``path`` itself (with ``but_requests``: other than by a
    request migration by path, which a lane that takes the headers it sets repeats)."""
    return (
        any(getattr(i, "endpoint_path", None) == path for i in change.alter_endpoint_instructions)
        or (path in change.alter_request_by_path_instructions and not but_requests)
        or path in change.alter_response_by_path_instructions
    )


def _touches(change: type[VersionChange], schema: type[BaseModel], path: str) -> bool:
    return _touches_schema(change, schema) or _touches_path(change, path)


def _head_shaped(bundle: VersionBundle, schemas: Iterable[type[BaseModel]], path: str) -> frozenset[str]:
    """The versions in which the route at ``path`` and its ``schemas`` (bodies, nested too) are HEAD's."""
    schemas = tuple(schemas)
    served: set[str] = set()
    for version in bundle.versions:  # newest first
        served.add(str(version.value))
        if any(_touches(change, schema, path) for change in version.changes for schema in schemas):
            break  # this version's changes migrate from older ones: those are not HEAD-shaped
    return frozenset(served)


def _models_in(annotation: Any, seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    """Every pydantic model an annotation names, the models its fields name included."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in seen:
            seen.add(annotation)
            yield annotation
            for info in annotation.model_fields.values():
                yield from _models_in(info.annotation, seen)
        return
    for argument in typing.get_args(annotation):
        yield from _models_in(argument, seen)


_PROVIDED: dict[Any, str] = {
    get_runtime: "runtime",
    get_task_connection: "connection",
    running_attempt: "attempt",
    attempt_check: "check",
}
"""The dependencies a route lane provides itself, by the function the route depends on."""
_ROUTE_LANE_METHODS = frozenset({"GET", "PUT", "DELETE"})


def _laneable(route: APIRoute) -> bool:
    """Whether a route lane can answer for ``route``: a task route of an idempotent method whose every
    dependency the lane provides, with nothing read from headers, cookies or the raw request."""
    dependant = route.dependant
    return (
        route.path.startswith("/execution/")
        and len(route.methods or ()) == 1
        and set(route.methods or ()) <= _ROUTE_LANE_METHODS
        and not (dependant.header_params or dependant.cookie_params)
        and dependant.request_param_name is None
        and dependant.response_param_name is None
        and dependant.background_tasks_param_name is None
        and all(dep.call in _PROVIDED and dep.name for dep in dependant.dependencies)
        and any(_PROVIDED.get(dep.call) in ("attempt", "check") for dep in dependant.dependencies)
    )


def _migrated(
    bundle: VersionBundle,
    requests: Iterable[type[BaseModel]],
    responses: Iterable[type[BaseModel]],
    path: str,
    *,
    requests_too: bool = False,
    request_paths_too: bool = False,
) -> frozenset[str]:
    """The versions older than HEAD's shape of the route at ``path`` that a lane answers as Cadwyn's
    route answers there: a version whose response models (``responses``, nested ones too) differ from
    HEAD's, and with ``requests_too`` one whose request body (``requests``) differs too — validated
    with the version's own model and migrated to HEAD's with Cadwyn's migrations by schema, as the
    route does; with ``request_paths_too`` also one whose request a migration by path changes (the
    lane runs it and takes the headers it sets). Any other change to the route itself (its path,
    parameters, a migration of its answer by path) ends them."""
    requests, responses = tuple(requests), tuple(responses)
    served: set[str] = set()
    migrating = False
    for version in bundle.versions:  # newest first; a version's changes migrate to older ones
        if migrating:
            served.add(str(version.value))
        for change in version.changes:
            if _touches_path(change, path, but_requests=request_paths_too) or (
                not requests_too and any(_touches_schema(change, m) for m in requests)
            ):
                return frozenset(served)
            migrating = (
                migrating
                or any(_touches_schema(change, m) for m in (*requests, *responses))
                or path in change.alter_request_by_path_instructions
            )
    return frozenset(served)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How a lane answers one older version as the route does there: that version's route, HEAD's, and
    the migrations Cadwyn runs for them — the request's to HEAD by schema and by path (oldest version
    first), the answer's back to the version by schema (newest first). Built once per lane and version."""

    route: APIRoute
    head: APIRoute
    bundle: VersionBundle
    to_head: tuple[Callable[[RequestInfo], None], ...]
    to_version: tuple[Callable[[ResponseInfo], None], ...]


def _plan(app: Any, head: APIRoute, version: str) -> _Plan | None:
    """The plan of ``head``'s route in ``version`` of ``app``; None when Cadwyn would do more than a lane
    repeats (a union body or answer, ``Json`` values, more than one body parameter)."""
    route = next(
        (
            candidate
            for candidate in app.router.versioned_routers[version].routes
            if isinstance(candidate, APIRoute)
            and candidate.path == head.path
            and candidate.methods == head.methods
        ),
        None,
    )
    if route is None:
        return None
    bundle: VersionBundle = app.versions
    embed = bool(getattr(route, "_embed_body_fields", False))
    target = None
    if route.dependant.body_params or head.dependant.body_params:
        if len(route.dependant.body_params) != 1 or len(head.dependant.body_params) != 1 or embed:
            return None
        head_model = head.dependant.body_params[0].field_info.annotation
        target = _get_request_body_target(head_model, head)
        json_values = _get_route_json_values_plan(head.dependant, route, embed_body_fields=False)
        if target.union_members or json_values is not None:
            return None
    newer = bundle.reversed_versions[bundle.reversed_version_values.index(version) + 1 :]
    to_head: list[Callable[[RequestInfo], None]] = [
        migration
        for newer_version in newer  # oldest first, as Cadwyn runs them: by schema, then by path
        for change in newer_version.changes
        for migration in (
            *(
                _get_schema_migrations(change.alter_request_by_schema_instructions, target, _no_union_member)
                if target is not None
                else ()  # a request without a body: its migrations by path only
            ),
            *(
                by_path
                for by_path in change.alter_request_by_path_instructions.get(head.path, ())
                if by_path.methods & (head.methods or set())
            ),
        )
    ]
    to_version: list[Callable[[ResponseInfo], None]] = []
    if head.response_model is not None:
        target = _get_schema_migration_target(head.response_model)
        if target.union_members:
            return None
        to_version = [
            migration
            for newer_version in bundle.versions[: bundle.version_values.index(version)]  # newest first
            for change in newer_version.changes
            for migration in _get_schema_migrations(
                change.alter_response_by_schema_instructions, target, _no_union_member
            )
        ]
    return _Plan(route, head, bundle, tuple(to_head), tuple(to_version))


async def _head_body(
    plan: _Plan, scope: Scope, body: bytes, taken: dict[bytes, str | None] | None = None
) -> Any:
    """An older version's request body as HEAD's route gets it through Cadwyn: validated with the
    version's route, dumped, migrated to HEAD by schema and validated with HEAD's model. A body either
    refuses is left to the route (ValueError), as is a migration that changes the request's headers,
    but for those named in ``taken``: their values after the migrations are put there, for the lane to
    act on as the route would."""
    received = _json_or_absent(scope, body)
    if received is None:
        raise ValueError("no body: the route says how it refuses it")
    (param,) = plan.route.dependant.body_params
    values, errors = await request_body_to_args([param], received, False)
    if errors:
        raise ValueError("the version's route refuses this body")
    given = values[param.name]
    dumped = _dump_request_body(given) if isinstance(given, BaseModel) else given
    if plan.to_head:
        dumped = _migrated_to_head(plan, scope, dumped, taken)
        if dumped is None:
            raise ValueError("a migration took the body away: the route applies it")
    (head_param,) = plan.head.dependant.body_params
    dumped = plan.bundle._to_head_values(dumped, plan.route, plan.head.dependant, plan.head)
    dumped = _rescue_body(head_param, dumped)
    values, errors = await request_body_to_args([head_param], dumped, False)
    if errors:
        raise ValueError("HEAD's route refuses the migrated body")
    return values[head_param.name]


class _LaneRequestInfo(RequestInfo):
    """Cadwyn's RequestInfo for a lane's request migrations, with the request's headers and body. A lane
    takes neither cookies nor query parameters: a migration that reads them (to change them) is left to
    the route (ValueError), and they are not parsed for the migrations that do not."""

    __slots__ = ()

    def __init__(self, request: Request, body: Any) -> None:  # RequestInfo's, but for cookies and query
        self._body = body
        self._body_is_assigned = False
        self.headers = request.headers.mutablecopy()
        self._request = request
        self._form = None

    @property
    def cookies(self) -> dict[str, str]:
        """Refused: the route applies a migration that reads the request's cookies."""
        raise ValueError("a migration reads the request's cookies: the route applies it")

    @property
    def query_params(self) -> dict[str, str]:
        """Refused: the route applies a migration that reads the request's query parameters."""
        raise ValueError("a migration reads the request's query parameters: the route applies it")


def _migrated_to_head(
    plan: _Plan, scope: Scope, body: Any, taken: dict[bytes, str | None] | None = None
) -> Any:
    """``body`` (None: a request without one) after the plan's request migrations, run as Cadwyn runs
    them. A migration that changes the request's headers is left to the route (ValueError), but for
    those named in ``taken``: their values after the migrations are put there."""
    request = Request(scope)
    info = _LaneRequestInfo(request, body)
    for migration in plan.to_head:
        migration(info)
    taken = {} if taken is None else taken
    if [h for h in info.headers.raw if h[0] not in taken] != [
        h for h in request.headers.raw if h[0] not in taken
    ]:
        raise ValueError("the migration changed more than the body: the route applies it")
    for name in taken:
        taken[name] = info.headers.get(name.decode("latin-1"))
    return info.body


def _sub_response(status: int) -> Response:
    """A response as FastAPI's sub-response starts out for Cadwyn's migrations (no body, no headers, the
    route's status), without rendering an empty body and its headers only to delete them again."""
    sub = Response.__new__(Response)
    sub.status_code, sub.body, sub.background, sub.raw_headers = status, b"", None, []
    return sub


async def _versioned_answer(plan: _Plan, raw: Any, refreshed_token: str | None) -> Answered:
    """The answer the version's route makes of HEAD's endpoint's answer ``raw``: dumped as Cadwyn
    dumps it, migrated back to the version by schema (a migration may set the status or headers, as
    it does on the route's sub-response) and serialized with the version's response model."""
    head = plan.head
    content = _prepare_response_content(
        raw,
        exclude_unset=head.response_model_exclude_unset,
        exclude_defaults=head.response_model_exclude_defaults,
        exclude_none=head.response_model_exclude_none,
    )
    sub: Response | None = None
    if plan.to_version:
        sub = _sub_response(plan.route.status_code or 200)
        info = ResponseInfo(sub, content)
        for migration in plan.to_version:
            migration(info)
        content = info.body
    if plan.route.response_field is not None:
        content = _rescue_response(plan.route.response_field, head.response_model, raw, content)
    return await _render_route_answer(plan.route, content, refreshed_token, sub)


def _kept_plan(
    plans: dict[str, _Plan | None], app: Any, route: APIRoute | None, version: str
) -> _Plan | None:
    """``route``'s plan for ``version`` of ``app``, made once and kept in ``plans`` (None: no plan)."""
    try:
        return plans[version]
    except KeyError:
        plan = plans[version] = None if route is None else _plan(app, route, version)
        return plan


@dataclass(frozen=True, slots=True)
class RouteLane:
    """A lane built from a declared route: the versions it serves as HEAD's route, those it serves
    with the response migrated to the version (``migrated``), and how it answers."""

    route: APIRoute
    method: str
    versions: frozenset[str]
    migrated: frozenset[str] = frozenset()
    _plans: dict[str, _Plan | None] = field(default_factory=dict, compare=False, repr=False)

    def serves(self, version: str) -> bool:
        """Whether this lane answers requests of ``version``."""
        return version in self.versions or version in self.migrated

    def plan(self, app: Any, version: str) -> _Plan | None:
        """How this lane answers ``version`` of ``app``, one of its ``migrated`` versions."""
        return _kept_plan(self._plans, app, self.route, version)

    async def __call__(self, scope: Scope, body: bytes) -> Answered | None:
        """Answer as the route would if it succeeds; None lets the declared route answer instead."""
        return await try_route(self, scope, body)


def route_lanes(bundle: VersionBundle, routes: Iterable[BaseRoute]) -> tuple[RouteLane, ...]:
    """A lane for every route in ``routes`` that one can serve, in the versions where it is HEAD's."""
    found = []
    for route in routes:
        if not isinstance(route, APIRoute) or not _laneable(route):
            continue
        requests = [
            model
            for param in route.dependant.body_params
            for model in _models_in(param.field_info.annotation, set())
        ]
        responses = (
            list(_models_in(route.response_field.field_info.annotation, set()))
            if route.response_field is not None
            else []
        )
        (method,) = tuple(route.methods or ())
        found.append(
            RouteLane(
                route,
                method,
                _head_shaped(bundle, [*requests, *responses], route.path),
                _migrated(bundle, requests, responses, route.path),
            )
        )
    return tuple(found)


Lane = Callable[[Scope, bytes], Awaitable["Answered | None"]]
"""A fast lane: (scope, body) to its answer, or None to leave the request to the declared route."""

_MIGRATED_LANE_KEY = "baton.migrated_lane"
"""Where a hand lane finds, in the scope of a request of one of its ``migrated`` versions, its HandLane."""


@dataclass(frozen=True, slots=True)
class HandLane:
    """Which versions a hand-written lane serves: those in which its route is HEAD's (``versions``),
    and the older ones it serves with the request migrated to HEAD's and the answer back to the
    version's, as Cadwyn migrates them for the route (``migrated``; needs the declared ``route``)."""

    versions: frozenset[str] = frozenset()
    migrated: frozenset[str] = frozenset()
    route: APIRoute | None = None
    _plans: dict[str, _Plan | None] = field(default_factory=dict, compare=False, repr=False)

    def serves(self, version: str) -> bool:
        """Whether this lane answers requests of ``version``."""
        return version in self.versions or version in self.migrated

    def plan(self, app: Any, version: str) -> _Plan | None:
        """How this lane answers ``version`` of ``app``, one of its ``migrated`` versions."""
        return _kept_plan(self._plans, app, self.route, version)


def _hand_lane(
    bundle: VersionBundle,
    routes: dict[tuple[str, str], APIRoute],
    method: str,
    path: str,
    requests: tuple[type[BaseModel], ...],
    responses: tuple[type[BaseModel], ...],
    *,
    request_paths_too: bool = False,
) -> HandLane:
    route = routes.get((method, path))
    migrated = _migrated(
        bundle, requests, responses, path, requests_too=True, request_paths_too=request_paths_too
    )
    return HandLane(
        _head_shaped(bundle, (*requests, *responses), path),
        migrated if route is not None else frozenset(),
        route,
    )


def _hand(lane: HandLane, version: str, scope: Scope, answer: Lane) -> Lane:
    if version in lane.migrated:
        scope[_MIGRATED_LANE_KEY] = lane
    return answer


@dataclass(frozen=True, slots=True)
class Lanes:
    """The hand-written fast lanes, and the route lanes."""

    heartbeat: HandLane = HandLane()
    run: HandLane = HandLane()
    state: HandLane = HandLane()
    logs: HandLane = HandLane()
    claims: HandLane = HandLane()
    worker_heartbeat: HandLane = HandLane()
    routes: tuple[RouteLane, ...] = ()

    def lane_for(self, version: str, scope: Scope) -> Lane | None:
        """The lane that may answer this request, if any."""
        method, path = scope["method"], scope["path"]
        if method == "PUT" and self.heartbeat.serves(version) and _HEARTBEAT_RE.match(path):
            return _hand(self.heartbeat, version, scope, try_heartbeat)
        if method == "POST" and self.claims.serves(version) and _CLAIMS_RE.match(path):
            return _hand(self.claims, version, scope, try_claim)
        if method == "PUT" and self.worker_heartbeat.serves(version) and _WORKER_HEARTBEAT_RE.match(path):
            return _hand(self.worker_heartbeat, version, scope, try_worker_heartbeat)
        attempt = _ATTEMPT_RE.match(path) if method in ("PATCH", "POST") else None
        if attempt is not None:
            kind = attempt.group(2)
            if method == "PATCH" and kind == "run" and self.run.serves(version):
                return _hand(self.run, version, scope, try_run)
            if method == "PATCH" and kind == "state" and self.state.serves(version):
                return _hand(self.state, version, scope, try_finish)
            if method == "POST" and kind == "logs" and self.logs.serves(version):
                return _hand(self.logs, version, scope, try_upload_logs)
            return None
        for lane in self.routes:
            if lane.method == method and lane.serves(version) and lane.route.path_regex.match(path):
                return lane
        return None

    def route_lane(self, method: str, path: str) -> RouteLane:
        """The route lane of the route declared at ``method`` ``path`` (KeyError if there is none)."""
        for lane in self.routes:
            if (lane.method, lane.route.path) == (method, path):
                return lane
        raise KeyError(f"no route lane for {method} {path}")


def lanes(bundle: VersionBundle, routes: Iterable[BaseRoute] = ()) -> Lanes:
    """The fast lanes of ``bundle``: each serves the versions whose route is HEAD's, and the hand lanes
    of ``routes`` (the HEAD routers' routes) the older versions whose route differs only in models
    Cadwyn migrates by schema; a route lane for each of ``routes`` that one can serve."""
    routes = tuple(routes)
    declared = {
        (method, route.path): route
        for route in routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    return Lanes(
        heartbeat=_hand_lane(bundle, declared, "PUT", HEARTBEAT_PATH, (TIHeartbeatPayload,), ()),
        run=_hand_lane(
            bundle,
            declared,
            "PATCH",
            RUN_PATH,
            (TIRunPayload,),
            (TIRunContext, TaskInstanceIdentity, DagRunInfo),
        ),
        state=_hand_lane(bundle, declared, "PATCH", STATE_PATH, (TIStatePayload,), (TIStateResponse,)),
        logs=_hand_lane(bundle, declared, "POST", LOGS_PATH, (LogBatch, LogLine), (LogBatchAccepted,)),
        claims=_hand_lane(
            bundle,
            declared,
            "POST",
            CLAIMS_PATH,
            (ClaimWorkloadsPayload,),
            (ClaimedWorkloads, ExecuteTaskWorkload, TaskInstanceIdentity),
            # An older version's claim names the runtimes it can express in a header (by path): the
            # lane takes it and checks the worker's runtime as the route does.
            request_paths_too=True,
        ),
        # An older version's heartbeat names the runtimes it can express in a header too.
        worker_heartbeat=_hand_lane(
            bundle, declared, "PUT", WORKER_HEARTBEAT_PATH, (), (Worker,), request_paths_too=True
        ),
        routes=route_lanes(bundle, routes),
    )


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _runtime(scope: Scope) -> Runtime | None:
    runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
    return runtime if runtime is not None and runtime.settings.fast_lanes else None


@dataclass(frozen=True, slots=True)
class Answered:
    """The lane's answer; ``refreshed_token`` goes out when the caller's token nears expiry."""

    status: int
    body: bytes
    refreshed_token: str | None
    headers: tuple[tuple[bytes, bytes], ...] = ()


_UNAVAILABLE = Answered(
    503,
    json.dumps(
        {
            "reason": "database_unavailable",
            "message": "the metadata database cannot be reached right now; try again shortly",
        }
    ).encode(),
    None,
    ((b"retry-after", str(RETRY_AFTER_SECONDS).encode()),),
)


def _unavailable_or_raise(error: Exception) -> Answered:
    if is_database_unavailable(error):
        return _UNAVAILABLE
    raise error


def _render(content: Any) -> bytes:
    """A JSON answer rendered as FastAPI's JSONResponse renders the route's answer, byte for byte."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def _request_body(scope: Scope, body: bytes, adapter: TypeAdapter[Any]) -> Any:
    """The body validated as FastAPI validates it (JSON parsed, then the model in Python mode)."""
    received = _json_or_absent(scope, body)
    if received is None:
        raise ValueError("no body: the route says how it refuses it")
    return adapter.validate_python(received, from_attributes=True)


def _migration(scope: Scope) -> _Plan | None:
    """The plan of a request of one of its lane's ``migrated`` versions; None for HEAD's route."""
    lane: HandLane | None = scope.get(_MIGRATED_LANE_KEY)
    if lane is None:
        return None
    plan = lane.plan(scope["app"], scope[VERSION_SCOPE_KEY])
    if plan is None:
        raise ValueError("Cadwyn does more for this version's route than a lane repeats")
    return plan


async def _lane_body(
    scope: Scope,
    body: bytes,
    plan: _Plan | None,
    adapter: TypeAdapter[Any],
    taken: dict[bytes, str | None] | None = None,
) -> Any:
    """The body as HEAD's route gets it: validated with HEAD's model, or for an older version with its
    own and migrated to HEAD's (``plan``; ``taken``: as for :func:`_head_body`)."""
    if plan is None:
        return _request_body(scope, body, adapter)
    return await _head_body(plan, scope, body, taken)


async def _lane_answer(
    plan: _Plan | None, adapter: TypeAdapter[Any], answer: Any, refreshed_token: str | None
) -> Answered:
    """HEAD's answer rendered as HEAD's route renders it, or for an older version migrated and rendered
    as that version's route does (``plan``)."""
    if plan is None:
        return Answered(
            200, _render(adapter.dump_python(answer, mode="json", by_alias=True)), refreshed_token
        )
    return await _versioned_answer(plan, answer, refreshed_token)


LaneAnswer = Callable[[Runtime, str, re.Match[str], Scope, bytes], Awaitable[Answered | None]]
"""A lane's own part: (runtime, bearer token, the path's match, scope, body) to its answer, or
None to leave the request to the route. It raises a validation or domain error for anything the
route refuses, and checks the token itself (with the token service) where its request needs it."""


async def _serve(pattern: re.Pattern[str], answer: LaneAnswer, scope: Scope, body: bytes) -> Answered | None:
    """The one way every lane answers: a request with a bearer token on the lane's path, its answer if
    it succeeds as is; every refusal (a malformed body or id, a bad token, a 403, 404 or 409) left to
    the declared route for the canonical answer; an unreachable database answered 503."""
    runtime, token, match = _runtime(scope), _bearer(scope), pattern.match(scope["path"])
    if runtime is None or token is None or match is None:
        return None
    try:
        return await answer(runtime, token, match, scope, body)
    except (ValueError, ValidationError, DomainError, SecretUnreadableError):
        # A refusal changed nothing, or only what the route repeats alike: a start or a final state
        # replays as a repeated call, a log batch is written last, a claim that found nothing writes
        # only the worker's sign of life and the release of what it does not hold. A secret the
        # server cannot decrypt (a connection's, the token's signing key's) is read before any write.
        return None
    except Exception as exc:  # only an unreachable database is answered; the rest re-raised
        return _unavailable_or_raise(exc)


def _refreshed(runtime: Runtime, claims: TaskClaims, within: int | None = None) -> str | None:
    return runtime.tokens.fresh_if_due(
        claims, within=runtime.settings.token_refresh_before if within is None else within
    )


async def _heartbeat(
    runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes
) -> Answered:
    task_instance_id = uuid.UUID(match.group(1))
    plan = _migration(scope)
    payload: Any = (
        _HEARTBEAT_PAYLOAD.validate_json(body) if plan is None else await _head_body(plan, scope, body)
    )
    claims = await runtime.tokens.verify_async(token)
    async with runtime.autocommit.connect() as conn:
        await heartbeat(
            conn,
            claims,
            task_instance_id,
            hostname=payload.hostname,
            pid=payload.pid,
            heartbeat_timeout=runtime.settings.heartbeat_timeout,
        )
    return Answered(204, b"", _refreshed(runtime, claims, runtime.settings.heartbeat_refresh_before))


async def _run(runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes) -> Answered:
    task_instance_id = _UUID.validate_python(match.group(1))
    plan = _migration(scope)
    payload: TIRunPayload = await _lane_body(scope, body, plan, _RUN_PAYLOAD)
    claims = await runtime.tokens.verify_async(token)
    context, execution_token = await start_attempt(runtime, claims, task_instance_id, payload)
    return await _lane_answer(plan, _RUN_CONTEXT, context, execution_token)


async def _finish(runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes) -> Answered:
    task_instance_id = _UUID.validate_python(match.group(1))
    plan = _migration(scope)
    payload: TIStatePayload = await _lane_body(scope, body, plan, _STATE_PAYLOAD)
    claims = await runtime.tokens.verify_async(token)
    answer = await finish_attempt(runtime, claims, task_instance_id, payload)
    return await _lane_answer(plan, _STATE_RESPONSE, answer, None)


async def _logs(runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes) -> Answered:
    task_instance_id = _UUID.validate_python(match.group(1))
    plan = _migration(scope)
    batch: LogBatch = await _lane_body(scope, body, plan, _LOG_BATCH)
    claims = await runtime.tokens.verify_async(token)
    refreshed: list[str | None] = [None]

    def refresh_if_due() -> None:  # only while the attempt runs: a late batch's token is not renewed
        refreshed[0] = _refreshed(runtime, claims)

    answer = await store_logs(runtime, claims, task_instance_id, batch, when_running=refresh_if_due)
    return await _lane_answer(plan, _LOG_BATCH_ACCEPTED, answer, refreshed[0])


def _client_runtimes_sent(scope: Scope) -> dict[bytes, str | None]:
    """The runtimes the client's version can express, as sent (None: every one), keyed by their header:
    the ``taken`` of :func:`_migrated_to_head`, which puts there what an older version's migration sets."""
    sent = next((value for name, value in scope["headers"] if name == _CLIENT_RUNTIMES_HEADER), None)
    return {_CLIENT_RUNTIMES_HEADER: None if sent is None else sent.decode("latin-1")}


async def _claim(
    runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes
) -> Answered | None:
    """Only a claim that finds work at its first look is answered here: one that would wait, and every
    refusal, goes to the route, which repeats the sign of life and the release of unheld workloads
    (both harmless twice) and gives the canonical answer."""
    worker_id = _UUID.validate_python(match.group(1))
    plan = _migration(scope)
    taken = _client_runtimes_sent(scope)  # an older version's migration names them
    payload: ClaimWorkloadsPayload = await _lane_body(scope, body, plan, _CLAIM_PAYLOAD, taken)
    # A bare connection in a transaction (the claim's statements are Core): no session to close after;
    # on PostgreSQL the driver's transaction, the statements run on the driver, with their generic plans
    # (PostgreSQL planned the look and the claim again on every call: more than running them).
    async with transaction(runtime.autocommit, generic_plans=True) as conn:
        claimed = await claim_workloads_by_token(
            conn,
            runtime.tokens,
            token,
            ClaimRequest(
                worker_id=worker_id,
                max_workloads=payload.max_workloads,
                wait_seconds=0,
                queues=payload.queues,
                held=payload.held_task_instance_ids,
                client_runtimes=taken[_CLIENT_RUNTIMES_HEADER],
            ),
        )
    if not claimed:  # None: the credential or the worker does not match; the route says which
        return None
    runtime.metrics.claimed([w.task_instance.queue for w in claimed])
    return await _lane_answer(plan, _CLAIMED, claimed_workloads(claimed), None)


async def _worker_heartbeat(
    runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes
) -> Answered | None:
    """A worker's sign of life in one statement that checks its credential, and its runtime against the
    ones the client's version can express. Every refusal goes to the route: a credential that does not
    own the worker (401, 403, 404), a worker of another runtime (409)."""
    worker_id = _UUID.validate_python(match.group(1))
    plan = _migration(scope)
    taken = _client_runtimes_sent(scope)  # an older version's migration names them
    if plan is not None:
        _migrated_to_head(plan, scope, None, taken)
    async with runtime.autocommit.connect() as conn:
        worker = await heartbeat_worker_by_token(conn, token, worker_id, taken[_CLIENT_RUNTIMES_HEADER])
    if worker is None:
        return None
    return await _lane_answer(plan, _WORKER, worker_model(worker), None)


async def try_heartbeat(scope: Scope, body: bytes) -> Answered | None:
    """Record a heartbeat if it succeeds as is; None lets the declared route answer instead."""
    return await _serve(_HEARTBEAT_RE, _heartbeat, scope, body)


async def try_run(scope: Scope, body: bytes) -> Answered | None:
    """Start an attempt if it starts as asked; None lets the declared route answer instead."""
    return await _serve(_ATTEMPT_RE, _run, scope, body)


async def try_finish(scope: Scope, body: bytes) -> Answered | None:
    """Finish an attempt if it finishes as asked; None lets the declared route answer instead."""
    return await _serve(_ATTEMPT_RE, _finish, scope, body)


async def try_upload_logs(scope: Scope, body: bytes) -> Answered | None:
    """Store a batch of log lines if it is taken as is; None lets the declared route answer instead."""
    return await _serve(_ATTEMPT_RE, _logs, scope, body)


async def try_claim(scope: Scope, body: bytes) -> Answered | None:
    """Hand out the workloads ready now; None lets the declared route answer (and long-poll) instead."""
    return await _serve(_CLAIMS_RE, _claim, scope, body)


async def try_worker_heartbeat(scope: Scope, body: bytes) -> Answered | None:
    """Record a worker's sign of life if its credential owns it; None lets the declared route answer."""
    return await _serve(_WORKER_HEARTBEAT_RE, _worker_heartbeat, scope, body)


_UNPARSED = object()


def _json_or_absent(scope: Scope, body: bytes) -> Any:
    """The body as FastAPI reads it for a JSON body parameter: parsed when it is JSON, else absent."""
    if not body:
        return None
    content_type = next((value for name, value in scope["headers"] if name == b"content-type"), None)
    if not is_json_content(content_type):
        raise ValueError("not a JSON body: the route says how it refuses it")
    # The middleware's check of the input contract parsed it already, as json.loads does.
    parsed = scope.get(JSON_BODY_SCOPE_KEY, _UNPARSED)
    return json.loads(body) if parsed is _UNPARSED else parsed


async def _route(
    lane: RouteLane, runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes
) -> Answered | None:
    """A route lane's answer: the route's parameters validated as FastAPI validates them, its
    dependencies provided (one token check, one bare connection, the running attempt or its check),
    its endpoint called and its answer serialized as FastAPI serializes it."""
    route, dependant = lane.route, lane.route.dependant
    convertors = route.param_convertors
    path = {name: convertors[name].convert(value) for name, value in match.groupdict().items()}
    values, errors = request_params_to_args(dependant.path_params, path)
    query, query_errors = request_params_to_args(
        dependant.query_params, QueryParams(scope.get("query_string", b""))
    )
    if errors or query_errors:
        return None
    values.update(query)
    if dependant.body_params:
        received = _json_or_absent(scope, body)
        embed = bool(getattr(route, "_embed_body_fields", False))
        body_values, body_errors = await request_body_to_args(dependant.body_params, received, embed)
        if body_errors:
            return None
        values.update(body_values)
    claims = await runtime.tokens.verify_async(token)
    async with runtime.autocommit.connect() as conn:
        for dependency in dependant.dependencies:
            provides = _PROVIDED[dependency.call]
            if provides == "attempt":
                provided: Any = await load_attempt(conn, claims)
            elif provides == "check":  # the route's statement checks the attempt; a success refreshes below
                provided = AttemptCheck(claims)
            else:
                provided = runtime if provides == "runtime" else conn
            values[str(dependency.name)] = provided
        assert dependant.call is not None
        raw = await dependant.call(**values)
    version = scope.get(VERSION_SCOPE_KEY, "")
    if version in lane.migrated:
        plan = lane.plan(scope["app"], version)
        if plan is None or isinstance(raw, Response):
            return None  # the route answers: Cadwyn does more for it than a lane repeats
        return await _versioned_answer(plan, raw, _refreshed(runtime, claims))
    return await _render_route_answer(route, raw, _refreshed(runtime, claims))


async def _render_route_answer(
    route: APIRoute, raw: Any, refreshed_token: str | None, sub: Response | None = None
) -> Answered:
    """The response FastAPI makes of an endpoint's return value for ``route`` (same bytes, same headers);
    ``sub`` is the route's sub-response, when a migration may have set its status or headers. A JSON
    answer's bytes and headers are made as its response class makes them, without making the response."""
    status = route.status_code or 200
    if sub is not None and sub.status_code:
        status = sub.status_code
    dump_json = route.response_field is not None and isinstance(route.response_class, DefaultPlaceholder)
    content = await serialize_response(
        field=route.response_field,
        response_content=raw,
        include=route.response_model_include,
        exclude=route.response_model_exclude,
        by_alias=route.response_model_by_alias,
        exclude_unset=route.response_model_exclude_unset,
        exclude_defaults=route.response_model_exclude_defaults,
        exclude_none=route.response_model_exclude_none,
        is_coroutine=True,
        dump_json=dump_json,
    )
    response_class = route.response_class
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    if dump_json or response_class is JSONResponse:
        # Response(content, media_type="application/json") and JSONResponse(content) render and head it so.
        body = content if dump_json else _render(content)
        headers = [_JSON_CONTENT_TYPE]
        if status >= 200 and status not in (204, 304):
            headers.insert(0, (b"content-length", str(len(body)).encode()))
    else:
        response = response_class(content, status_code=status)
        status, body, headers = response.status_code, bytes(response.body), response.raw_headers
    if not is_body_allowed_for_status_code(status):
        body = b""
    if sub is not None:
        headers = [*headers, *sub.raw_headers]
    return Answered(status, body, refreshed_token, tuple(headers))


async def try_route(lane: RouteLane, scope: Scope, body: bytes) -> Answered | None:
    """Answer as ``lane``'s route would if it succeeds; None lets the declared route answer instead."""
    return await _serve(lane.route.path_regex, functools.partial(_route, lane), scope, body)
