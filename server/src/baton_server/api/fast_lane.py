"""Fast lanes for a task's requests, when they succeed: a heartbeat, an attempt's start (``run``),
log upload and final ``state``, a claim, and every task route that only reads or idempotently
writes with the caller's running attempt (variables, connections, XComs, the run's facts).

Every route is declared like any other, so it is in every version's spec and every generated
client, and all its errors come from the one error path. But a request that can be answered with
success is answered here, ahead of the framework's routing, Cadwyn's two dependency solves and its
response migration: one token check, the route's own validation, and the same service functions
(or the same answer builders, :mod:`baton_server.api.answers`) the routes call. Anything
else — a malformed body, a missing or bad token, a 404 or 409 — is replayed untouched to the
declared route, which gives the canonical answer; a database that cannot be reached is the one
error a lane answers itself (503 with Retry-After, as the routes do), rather than trying twice.

Most of them are *route lanes*: built from the declared route itself (its path, query and body
parameters, its endpoint function, its response model and class), with its dependencies — the
runtime, a task session, the running attempt — provided without FastAPI's solve. Only routes
whose method is GET, PUT or DELETE qualify: a refusal after a write is then safe to replay. The
rest are hand-written, each its own part of :func:`_serve`. See docs/adr/0002-lean-request-path.md.
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

from cadwyn import VersionBundle, VersionChange, migrate_response_body
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.routing import APIRoute, serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Scope

from baton_server.api.answers import claimed_workloads, finish_attempt, start_attempt, store_logs
from baton_server.api.deps import get_runtime, get_task_session, running_attempt
from baton_server.api.input_contract import is_json_content
from baton_server.api.middleware import VERSION_SCOPE_KEY
from baton_server.api.routes._orchestration import CLIENT_RUNTIMES_HEADER
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
)
from baton_server.db.availability import RETRY_AFTER_SECONDS, is_database_unavailable
from baton_server.errors import DomainError
from baton_server.runtime import Runtime
from baton_server.services.credentials import authenticate
from baton_server.services.task_instances import heartbeat, load_attempt
from baton_server.services.tokens import TaskClaims
from baton_server.services.workloads import ClaimRequest, claim_workloads

HEARTBEAT_PATH = "/execution/task-instances/{task_instance_id}/heartbeat"
RUN_PATH = "/execution/task-instances/{task_instance_id}/run"
STATE_PATH = "/execution/task-instances/{task_instance_id}/state"
LOGS_PATH = "/execution/task-instances/{task_instance_id}/logs"
CLAIMS_PATH = "/workers/{worker_id}/claims"
_HEARTBEAT_RE = re.compile(r"^/execution/task-instances/([0-9a-fA-F-]{32,36})/heartbeat$")
_ATTEMPT_RE = re.compile(r"^/execution/task-instances/([^/]{1,64})/(run|state|logs)$")
_CLAIMS_RE = re.compile(r"^/workers/([^/]{1,64})/claims$")
_CLIENT_RUNTIMES_HEADER = CLIENT_RUNTIMES_HEADER.lower().encode()
_HEARTBEAT_PAYLOAD = TypeAdapter(TIHeartbeatPayload)
_CLAIM_PAYLOAD = TypeAdapter(ClaimWorkloadsPayload)
_CLAIMED = TypeAdapter(ClaimedWorkloads)
_UUID = TypeAdapter(uuid.UUID)
_RUN_PAYLOAD = TypeAdapter(TIRunPayload)
_RUN_CONTEXT = TypeAdapter(TIRunContext)
_STATE_PAYLOAD = TypeAdapter(TIStatePayload)
_STATE_RESPONSE = TypeAdapter(TIStateResponse)
_LOG_BATCH = TypeAdapter(LogBatch)
_LOG_BATCH_ACCEPTED = TypeAdapter(LogBatchAccepted)


def _touches_schema(change: type[VersionChange], schema: type[BaseModel]) -> bool:
    return (
        any(getattr(i, "schema", None) is schema for i in change.alter_schema_instructions)
        or schema in change.alter_request_by_schema_instructions
        or schema in change.alter_response_by_schema_instructions
    )


def _touches_path(change: type[VersionChange], path: str) -> bool:
    return (
        any(getattr(i, "endpoint_path", None) == path for i in change.alter_endpoint_instructions)
        or path in change.alter_request_by_path_instructions
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


_PROVIDED: dict[Any, str] = {get_runtime: "runtime", get_task_session: "session", running_attempt: "attempt"}
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
        and any(_PROVIDED.get(dep.call) == "attempt" for dep in dependant.dependencies)
    )


def _response_migrated(
    bundle: VersionBundle,
    requests: Iterable[type[BaseModel]],
    responses: Iterable[type[BaseModel]],
    path: str,
) -> frozenset[str]:
    """The versions older than HEAD's shape of the route at ``path`` whose route differs from HEAD's
    only in its response models (``responses``, nested ones too): not in its path, parameters or
    request body (``requests``). Cadwyn migrates such a response by its schema alone."""
    requests, responses = tuple(requests), tuple(responses)
    served: set[str] = set()
    migrating = False
    for version in bundle.versions:  # newest first; a version's changes migrate to older ones
        if migrating:
            served.add(str(version.value))
        for change in version.changes:
            if _touches_path(change, path) or any(_touches_schema(change, m) for m in requests):
                return frozenset(served)
            migrating = migrating or any(_touches_schema(change, m) for m in responses)
    return frozenset(served)


@dataclass(frozen=True, slots=True)
class RouteLane:
    """A lane built from a declared route: the versions it serves as HEAD's route, those it serves
    with the response migrated to the version (``migrated``), and how it answers."""

    route: APIRoute
    method: str
    versions: frozenset[str]
    migrated: frozenset[str] = frozenset()
    _versioned: dict[str, APIRoute] = field(default_factory=dict, compare=False, repr=False)

    def serves(self, version: str) -> bool:
        """Whether this lane answers requests of ``version``."""
        return version in self.versions or version in self.migrated

    def versioned_route(self, app: Any, version: str) -> APIRoute:
        """The route ``app`` serves for ``version`` at this lane's path and method (its response model)."""
        route = self._versioned.get(version)
        if route is None:
            route = next(
                candidate
                for candidate in app.router.versioned_routers[version].routes
                if isinstance(candidate, APIRoute)
                and candidate.path == self.route.path
                and candidate.methods == self.route.methods
            )
            self._versioned[version] = route
        return route

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
                _response_migrated(bundle, requests, responses, route.path),
            )
        )
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Lanes:
    """Which versions each hand-written fast lane serves, and the route lanes."""

    heartbeat: frozenset[str] = frozenset()
    run: frozenset[str] = frozenset()
    state: frozenset[str] = frozenset()
    logs: frozenset[str] = frozenset()
    claims: frozenset[str] = frozenset()
    routes: tuple[RouteLane, ...] = ()

    def lane_for(
        self, version: str, scope: Scope
    ) -> Callable[[Scope, bytes], Awaitable[Answered | None]] | None:
        """The lane that may answer this request, if any."""
        method, path = scope["method"], scope["path"]
        if method == "PUT" and version in self.heartbeat and _HEARTBEAT_RE.match(path):
            return try_heartbeat
        if method == "POST" and version in self.claims and _CLAIMS_RE.match(path):
            return try_claim
        attempt = _ATTEMPT_RE.match(path) if method in ("PATCH", "POST") else None
        if attempt is not None:
            kind = attempt.group(2)
            if method == "PATCH" and kind == "run" and version in self.run:
                return try_run
            if method == "PATCH" and kind == "state" and version in self.state:
                return try_finish
            if method == "POST" and kind == "logs" and version in self.logs:
                return try_upload_logs
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
    """The fast lanes of ``bundle``: each serves the versions whose route is HEAD's; a route lane for
    each of ``routes`` (the HEAD routers' routes) that one can serve."""
    return Lanes(
        heartbeat=_head_shaped(bundle, (TIHeartbeatPayload,), HEARTBEAT_PATH),
        run=_head_shaped(bundle, (TIRunPayload, TIRunContext, TaskInstanceIdentity, DagRunInfo), RUN_PATH),
        state=_head_shaped(bundle, (TIStatePayload, TIStateResponse), STATE_PATH),
        logs=_head_shaped(bundle, (LogBatch, LogLine, LogBatchAccepted), LOGS_PATH),
        claims=_head_shaped(
            bundle,
            (ClaimWorkloadsPayload, ClaimedWorkloads, ExecuteTaskWorkload, TaskInstanceIdentity),
            CLAIMS_PATH,
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
    content_type = next((value for name, value in scope["headers"] if name == b"content-type"), None)
    if not body or not is_json_content(content_type):
        raise ValueError("not a JSON body: the route says how it refuses it")
    return adapter.validate_python(json.loads(body), from_attributes=True)


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
    except (ValueError, ValidationError, DomainError):
        # A refusal changed nothing, or only what the route repeats alike: a start or a final state
        # replays as a repeated call, a log batch is written last, a claim that found nothing writes
        # only the worker's sign of life and the release of what it does not hold.
        return None
    except Exception as exc:  # only an unreachable database is answered; the rest re-raised
        return _unavailable_or_raise(exc)


def _refreshed(runtime: Runtime, claims: TaskClaims) -> str | None:
    return runtime.tokens.fresh_if_due(claims, within=runtime.settings.token_refresh_before)


async def _heartbeat(
    runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes
) -> Answered:
    task_instance_id = uuid.UUID(match.group(1))
    payload: Any = _HEARTBEAT_PAYLOAD.validate_json(body)
    claims = await runtime.tokens.verify_async(token)
    async with runtime.autocommit.connect() as conn:
        await heartbeat(conn, claims, task_instance_id, hostname=payload.hostname, pid=payload.pid)
    return Answered(204, b"", _refreshed(runtime, claims))


async def _run(runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes) -> Answered:
    task_instance_id = _UUID.validate_python(match.group(1))
    payload: TIRunPayload = _request_body(scope, body, _RUN_PAYLOAD)
    claims = await runtime.tokens.verify_async(token)
    async with runtime.autocommit_sessions() as session:
        context, execution_token = await start_attempt(runtime, session, claims, task_instance_id, payload)
    return Answered(
        200, _render(_RUN_CONTEXT.dump_python(context, mode="json", by_alias=True)), execution_token
    )


async def _finish(runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes) -> Answered:
    task_instance_id = _UUID.validate_python(match.group(1))
    payload: TIStatePayload = _request_body(scope, body, _STATE_PAYLOAD)
    claims = await runtime.tokens.verify_async(token)
    async with runtime.autocommit_sessions() as session:
        answer = await finish_attempt(runtime, session, claims, task_instance_id, payload)
    return Answered(200, _render(_STATE_RESPONSE.dump_python(answer, mode="json", by_alias=True)), None)


async def _logs(runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes) -> Answered:
    task_instance_id = _UUID.validate_python(match.group(1))
    batch: LogBatch = _request_body(scope, body, _LOG_BATCH)
    claims = await runtime.tokens.verify_async(token)
    refreshed: list[str | None] = [None]

    def refresh_if_due() -> None:  # only while the attempt runs: a late batch's token is not renewed
        refreshed[0] = _refreshed(runtime, claims)

    async with runtime.autocommit_sessions() as session:
        answer = await store_logs(
            runtime, session, claims, task_instance_id, batch, when_running=refresh_if_due
        )
    return Answered(
        200, _render(_LOG_BATCH_ACCEPTED.dump_python(answer, mode="json", by_alias=True)), refreshed[0]
    )


async def _claim(
    runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes
) -> Answered | None:
    """Only a claim that finds work at its first look is answered here: one that would wait, and every
    refusal, goes to the route, which repeats the sign of life and the release of unheld workloads
    (both harmless twice) and gives the canonical answer."""
    if any(name == _CLIENT_RUNTIMES_HEADER for name, _ in scope["headers"]):
        return None  # the route checks the worker's runtime against what the client can express
    worker_id = _UUID.validate_python(match.group(1))
    payload: ClaimWorkloadsPayload = _request_body(scope, body, _CLAIM_PAYLOAD)
    async with runtime.sessions() as session:
        credential = await authenticate(session, token, "worker")
        claimed = await claim_workloads(
            session,
            runtime.tokens,
            credential,
            ClaimRequest(
                worker_id=worker_id,
                max_workloads=payload.max_workloads,
                wait_seconds=0,
                queues=payload.queues,
                held=payload.held_task_instance_ids,
            ),
            max_wait=0,
        )
    if not claimed:
        return None
    runtime.metrics.claimed([w.task_instance.queue for w in claimed])
    return Answered(
        200, _render(_CLAIMED.dump_python(claimed_workloads(claimed), mode="json", by_alias=True)), None
    )


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


def _json_or_absent(scope: Scope, body: bytes) -> Any:
    """The body as FastAPI reads it for a JSON body parameter: parsed when it is JSON, else absent."""
    if not body:
        return None
    content_type = next((value for name, value in scope["headers"] if name == b"content-type"), None)
    if not is_json_content(content_type):
        raise ValueError("not a JSON body: the route says how it refuses it")
    return json.loads(body)


async def _route(
    lane: RouteLane, runtime: Runtime, token: str, match: re.Match[str], scope: Scope, body: bytes
) -> Answered | None:
    """A route lane's answer: the route's parameters validated as FastAPI validates them, its
    dependencies provided (one token check, one task session, the running attempt), its endpoint
    called and its answer serialized as FastAPI serializes it."""
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
    async with runtime.autocommit_sessions() as session:
        attempt = await load_attempt(session, claims)
        provided = {"runtime": runtime, "session": session, "attempt": attempt}
        for dependency in dependant.dependencies:
            values[str(dependency.name)] = provided[_PROVIDED[dependency.call]]
        assert dependant.call is not None
        raw = await dependant.call(**values)
    version = scope.get(VERSION_SCOPE_KEY, "")
    if version in lane.migrated:
        if not isinstance(raw, BaseModel) or route.response_field is None:
            return None  # only a response model is migrated here; the route migrates anything else
        head_model = type(raw)
        route = lane.versioned_route(scope["app"], version)
        raw = migrate_response_body(
            scope["app"].versions,
            head_model,
            latest_body=raw.model_dump(
                by_alias=True,
                exclude_unset=lane.route.response_model_exclude_unset,
                exclude_defaults=lane.route.response_model_exclude_defaults,
                exclude_none=lane.route.response_model_exclude_none,
            ),
            version=version,
        )
    response = await _render_route_answer(route, raw)
    return Answered(
        response.status_code, bytes(response.body), _refreshed(runtime, claims), tuple(response.raw_headers)
    )


async def _render_route_answer(route: APIRoute, raw: Any) -> Response:
    """The response FastAPI makes of an endpoint's return value for ``route`` (same bytes, same headers)."""
    status = route.status_code or 200
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
    if dump_json:
        response = Response(content=content, media_type="application/json", status_code=status)
    else:
        response = response_class(content, status_code=status)
    if not is_body_allowed_for_status_code(response.status_code):
        response.body = b""
    return response


async def try_route(lane: RouteLane, scope: Scope, body: bytes) -> Answered | None:
    """Answer as ``lane``'s route would if it succeeds; None lets the declared route answer instead."""
    return await _serve(lane.route.path_regex, functools.partial(_route, lane), scope, body)
