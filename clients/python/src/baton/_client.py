"""``Client`` and ``AsyncClient``: the generated Baton API client, wired for real use.

Construct one from the server's base URL and a token; every generated operation is then callable
with ``client.generated`` as its ``client=`` argument, and the common ones have methods here.
The methods take and return the generated models (``baton.models``) of the client's API version,
so that this layer works unchanged over the generated code of every supported version.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx

from baton._errors import BatonError, InvalidKeyError
from baton._generated.api.connections import get_connection
from baton._generated.api.health import check_admin_health, check_execution_health, check_workers_health
from baton._generated.api.logs import upload_task_logs
from baton._generated.api.task_instances import (
    heartbeat_task_instance,
    run_task_instance,
    update_task_instance_state,
)
from baton._generated.api.variables import get_variable, set_variable
from baton._generated.api.workers import claim_workloads, heartbeat_worker, register_dags, register_worker
from baton._generated.api.xcoms import pull_xcom, push_xcom
from baton._generated.api_version import API_VERSION
from baton._generated.client import AuthenticatedClient
from baton._generated.models import (
    ClaimedWorkloads,
    ClaimWorkloadsPayload,
    ConnectionEntry,
    ConnectionPutBody,
    ConnectionResponse,
    DagRun,
    HealthStatus,
    LogBatch,
    LogBatchAccepted,
    RegisterDagsPayload,
    RegisteredDags,
    RegisterWorkerPayload,
    TIHeartbeatPayload,
    TIRunContext,
    TIRunPayload,
    TIStatePayload,
    TIStateResponse,
    TriggerDagRunPayload,
    VariablePutBody,
    VariableResponse,
    Worker,
    XComPutBody,
    XComResponse,
)
from baton._generated.types import UNSET
from baton._transport import AsyncBatonTransport, BatonTransport, RetryPolicy, _Credentials

T = TypeVar("T")
ApiName = Literal["execution", "workers", "admin"]

_HEALTH = {
    "execution": check_execution_health,
    "workers": check_workers_health,
    "admin": check_admin_health,
}


_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,249}")
"""The API's ids and keys (its spec's pattern): the server cannot be asked for any other."""
_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,249}")


def check_key(kind: str, value: str, pattern: re.Pattern[str] = _ID) -> str:
    """``value``, or InvalidKeyError naming ``kind`` if the API cannot take it (before anything is sent).

    A key with ``/`` (or an empty one) would reach no route: the server's 404 would read as "not set".
    """
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        allowed, first = (
            ("'_', '.', ':' or '-'", "'.', ':' or '-'")
            if pattern is _RUN_ID
            else ("'_', '.' or '-'", "'.' or '-'")
        )
        raise InvalidKeyError(
            f"{kind} {value!r} is not valid: use 1 to 250 letters, digits, {allowed}, "
            f"not starting with {first}"
        )
    return value


def _xcom(dag_id: str, run_id: str, task_id: str, key: str) -> tuple[str, str, str, str]:
    """An XCom's address, each part checked by :func:`check_key`."""
    return (
        check_key("DAG id", dag_id),
        check_key("run id", run_id, _RUN_ID),
        check_key("task id", task_id),
        check_key("XCom key", key),
    )


def _expect(parsed: object, kind: type[T]) -> T:
    # Error statuses were raised by the transport: anything else here is a contract violation.
    if not isinstance(parsed, kind):
        raise BatonError(f"unexpected response: wanted {kind.__name__}, got {type(parsed).__name__}")
    return parsed


def with_batch_id(body: LogBatch, batch_id: uuid.UUID | None = None) -> LogBatch:
    """``body`` named by ``batch_id`` (or by a new id unless it has one), so that sending it again
    stores it once. Batch ids exist from API version 2026-12-02; a client of an older one sends none."""
    if not hasattr(body, "batch_id"):
        return body
    if batch_id is not None:
        body.batch_id = batch_id
    elif body.batch_id in (None, UNSET):
        body.batch_id = uuid.uuid4()
    return body


def check_base_url(base_url: str) -> str:
    """``base_url``, if a request can reach it (``http://`` or ``https://``, with a host); else ValueError.

    Refused once, here, rather than retried as if the server were down."""
    try:
        parts = urllib.parse.urlsplit(base_url)
        reachable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed address (an unclosed IPv6 bracket, a bad port)
        reachable = False
    if not reachable:
        raise ValueError(f"the server URL {base_url!r} is not an http:// or https:// URL with a host")
    return base_url


def _generated_client(base_url: str, timeout: float) -> AuthenticatedClient:
    # Authentication is the transport's job (the token changes under it): the generated client's
    # own token is never sent, because its httpx clients are replaced below.
    return AuthenticatedClient(base_url=base_url, token="", timeout=httpx.Timeout(timeout))


class Client:
    """Synchronous Baton API client pinned to :data:`baton.API_VERSION`."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        check_base_url(base_url)
        self._credentials = _Credentials(token)
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=BatonTransport(self._credentials, inner=transport, retry=retry),
        )
        self.generated = _generated_client(base_url, timeout)
        """The generated client to pass as ``client=`` to any operation in ``baton._generated.api``."""
        self.generated.set_httpx_client(self._http)

    @property
    def api_version(self) -> str:
        """The API version sent on every request."""
        return API_VERSION

    @property
    def token(self) -> str | None:
        """The token in use: the one given, or the latest the server refreshed it to."""
        return self._credentials.token

    def use_token(self, token: str | None) -> None:
        """Send ``token`` from now on (one refreshed elsewhere, by the attempt's supervisor say)."""
        self._credentials.replace(token)

    def health(self, api: ApiName = "execution") -> HealthStatus:
        """Check that the server and its database answer, through one of the three APIs."""
        return _expect(_HEALTH[api].sync(client=self.generated), HealthStatus)

    def start(self, task_instance_id: uuid.UUID, body: TIRunPayload) -> TIRunContext:
        """Start the attempt (with the workload token); the client switches to the execution token."""
        return _expect(
            run_task_instance.sync(task_instance_id, client=self.generated, body=body), TIRunContext
        )

    def heartbeat(self, task_instance_id: uuid.UUID, body: TIHeartbeatPayload) -> None:
        """Say the running attempt is alive; ConflictError means: stop the task."""
        heartbeat_task_instance.sync_detailed(task_instance_id, client=self.generated, body=body)

    def finish(self, task_instance_id: uuid.UUID, body: TIStatePayload) -> TIStateResponse:
        """Finish the attempt in a terminal (or retry) state."""
        response = update_task_instance_state.sync(task_instance_id, client=self.generated, body=body)
        return _expect(response, TIStateResponse)

    def get_variable(self, key: str) -> Any:
        """The JSON value of a variable; NotFoundError when it is not set."""
        return _expect(
            get_variable.sync(check_key("variable key", key), client=self.generated), VariableResponse
        ).value

    def set_variable(self, key: str, value: Any, *, description: str | None = None) -> None:
        """Store a JSON value under a variable's key."""
        set_variable.sync_detailed(
            check_key("variable key", key), client=self.generated, body=VariablePutBody(value, description)
        )

    def push_xcom(
        self, dag_id: str, run_id: str, task_id: str, key: str, value: Any, *, map_index: int = -1
    ) -> None:
        """Push a JSON value as this task's XCom."""
        body = XComPutBody(value=value)
        push_xcom.sync_detailed(
            *_xcom(dag_id, run_id, task_id, key), client=self.generated, body=body, map_index=map_index
        )

    def pull_xcom(self, dag_id: str, run_id: str, task_id: str, key: str, *, map_index: int = -1) -> Any:
        """The JSON value of an XCom of this DAG run; NotFoundError when there is none."""
        response = pull_xcom.sync(
            *_xcom(dag_id, run_id, task_id, key), client=self.generated, map_index=map_index
        )
        return _expect(response, XComResponse).value

    def get_connection(self, connection_id: str) -> ConnectionResponse:
        """A connection granted to the task's DAG; ForbiddenError if not granted, NotFoundError if unknown."""
        return _expect(
            get_connection.sync(check_key("connection id", connection_id), client=self.generated),
            ConnectionResponse,
        )

    def upload_logs(self, task_instance_id: uuid.UUID, body: LogBatch) -> LogBatchAccepted:
        """Ship a batch of the running attempt's log lines (named by a new batch id unless it has one,
        so that a retry stores it once)."""
        body = with_batch_id(body)
        response = upload_task_logs.sync(task_instance_id, client=self.generated, body=body)
        return _expect(response, LogBatchAccepted)

    def register_worker(self, body: RegisterWorkerPayload) -> Worker:
        """Register (or refresh) a worker under the client's worker credential."""
        return _expect(register_worker.sync(client=self.generated, body=body), Worker)

    def heartbeat_worker(self, worker_id: uuid.UUID) -> Worker:
        """Say the worker is alive."""
        return _expect(heartbeat_worker.sync(worker_id, client=self.generated), Worker)

    def register_dags(self, body: RegisterDagsPayload) -> RegisteredDags:
        """Register the DAG descriptions of a bundle the worker loaded."""
        return _expect(register_dags.sync(client=self.generated, body=body), RegisteredDags)

    def claim_workloads(self, worker_id: uuid.UUID, body: ClaimWorkloadsPayload) -> ClaimedWorkloads:
        """Claim ready workloads; keep ``body.wait_seconds`` below the client's timeout."""
        return _expect(claim_workloads.sync(worker_id, client=self.generated, body=body), ClaimedWorkloads)

    def trigger_dag_run(self, dag_id: str, body: TriggerDagRunPayload) -> DagRun:
        """Queue a manual run of a DAG (admin token)."""
        from baton._generated.api.admin import trigger_dag_run  # the admin API, imported when used

        return _expect(trigger_dag_run.sync(dag_id, client=self.generated, body=body), DagRun)

    def set_connection(self, connection_id: str, body: ConnectionPutBody) -> ConnectionEntry:
        """Create or replace a connection (admin token)."""
        from baton._generated.api.admin import admin_set_connection

        response = admin_set_connection.sync(connection_id, client=self.generated, body=body)
        return _expect(response, ConnectionEntry)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    """Asynchronous Baton API client pinned to :data:`baton.API_VERSION`."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        check_base_url(base_url)
        self._credentials = _Credentials(token)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=AsyncBatonTransport(self._credentials, inner=transport, retry=retry),
        )
        self.generated = _generated_client(base_url, timeout)
        """The generated client to pass as ``client=`` to any operation's ``asyncio`` functions."""
        self.generated.set_async_httpx_client(self._http)

    @property
    def api_version(self) -> str:
        """The API version sent on every request."""
        return API_VERSION

    @property
    def token(self) -> str | None:
        """The token in use: the one given, or the latest the server refreshed it to."""
        return self._credentials.token

    def use_token(self, token: str | None) -> None:
        """Send ``token`` from now on (one refreshed elsewhere, by the attempt's supervisor say)."""
        self._credentials.replace(token)

    async def health(self, api: ApiName = "execution") -> HealthStatus:
        """Check that the server and its database answer, through one of the three APIs."""
        return _expect(await _HEALTH[api].asyncio(client=self.generated), HealthStatus)

    async def start(self, task_instance_id: uuid.UUID, body: TIRunPayload) -> TIRunContext:
        """Start the attempt (with the workload token); the client switches to the execution token."""
        response = await run_task_instance.asyncio(task_instance_id, client=self.generated, body=body)
        return _expect(response, TIRunContext)

    async def heartbeat(self, task_instance_id: uuid.UUID, body: TIHeartbeatPayload) -> None:
        """Say the running attempt is alive; ConflictError means: stop the task."""
        await heartbeat_task_instance.asyncio_detailed(task_instance_id, client=self.generated, body=body)

    async def finish(self, task_instance_id: uuid.UUID, body: TIStatePayload) -> TIStateResponse:
        """Finish the attempt in a terminal (or retry) state."""
        response = await update_task_instance_state.asyncio(
            task_instance_id, client=self.generated, body=body
        )
        return _expect(response, TIStateResponse)

    async def get_variable(self, key: str) -> Any:
        """The JSON value of a variable; NotFoundError when it is not set."""
        return _expect(
            await get_variable.asyncio(check_key("variable key", key), client=self.generated),
            VariableResponse,
        ).value

    async def set_variable(self, key: str, value: Any, *, description: str | None = None) -> None:
        """Store a JSON value under a variable's key."""
        body = VariablePutBody(value, description)
        await set_variable.asyncio_detailed(check_key("variable key", key), client=self.generated, body=body)

    async def push_xcom(
        self, dag_id: str, run_id: str, task_id: str, key: str, value: Any, *, map_index: int = -1
    ) -> None:
        """Push a JSON value as this task's XCom."""
        body = XComPutBody(value=value)
        await push_xcom.asyncio_detailed(
            *_xcom(dag_id, run_id, task_id, key), client=self.generated, body=body, map_index=map_index
        )

    async def pull_xcom(
        self, dag_id: str, run_id: str, task_id: str, key: str, *, map_index: int = -1
    ) -> Any:
        """The JSON value of an XCom of this DAG run; NotFoundError when there is none."""
        response = await pull_xcom.asyncio(
            *_xcom(dag_id, run_id, task_id, key), client=self.generated, map_index=map_index
        )
        return _expect(response, XComResponse).value

    async def get_connection(self, connection_id: str) -> ConnectionResponse:
        """A connection granted to the task's DAG; ForbiddenError if not granted, NotFoundError if unknown."""
        return _expect(
            await get_connection.asyncio(check_key("connection id", connection_id), client=self.generated),
            ConnectionResponse,
        )

    async def upload_logs(self, task_instance_id: uuid.UUID, body: LogBatch) -> LogBatchAccepted:
        """Ship a batch of the running attempt's log lines (named by a new batch id unless it has one,
        so that a retry stores it once)."""
        body = with_batch_id(body)
        response = await upload_task_logs.asyncio(task_instance_id, client=self.generated, body=body)
        return _expect(response, LogBatchAccepted)

    async def register_worker(self, body: RegisterWorkerPayload) -> Worker:
        """Register (or refresh) a worker under the client's worker credential."""
        return _expect(await register_worker.asyncio(client=self.generated, body=body), Worker)

    async def heartbeat_worker(self, worker_id: uuid.UUID) -> Worker:
        """Say the worker is alive."""
        return _expect(await heartbeat_worker.asyncio(worker_id, client=self.generated), Worker)

    async def register_dags(self, body: RegisterDagsPayload) -> RegisteredDags:
        """Register the DAG descriptions of a bundle the worker loaded."""
        return _expect(await register_dags.asyncio(client=self.generated, body=body), RegisteredDags)

    async def claim_workloads(self, worker_id: uuid.UUID, body: ClaimWorkloadsPayload) -> ClaimedWorkloads:
        """Claim ready workloads; keep ``body.wait_seconds`` below the client's timeout."""
        response = await claim_workloads.asyncio(worker_id, client=self.generated, body=body)
        return _expect(response, ClaimedWorkloads)

    async def trigger_dag_run(self, dag_id: str, body: TriggerDagRunPayload) -> DagRun:
        """Queue a manual run of a DAG (admin token)."""
        from baton._generated.api.admin import trigger_dag_run  # the admin API, imported when used

        return _expect(await trigger_dag_run.asyncio(dag_id, client=self.generated, body=body), DagRun)

    async def set_connection(self, connection_id: str, body: ConnectionPutBody) -> ConnectionEntry:
        """Create or replace a connection (admin token)."""
        from baton._generated.api.admin import admin_set_connection

        response = await admin_set_connection.asyncio(connection_id, client=self.generated, body=body)
        return _expect(response, ConnectionEntry)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
