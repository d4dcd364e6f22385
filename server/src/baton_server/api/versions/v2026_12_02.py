"""Changes of API version 2026-12-02 (from 2026-11-24).

This is the open (unreleased) version: every wire change of the current wave is declared here,
one ``VersionChange`` per change, and registered in ``api/versions/__init__.py``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from cadwyn import (
    RequestInfo,
    ResponseInfo,
    VersionChange,
    convert_request_to_next_version_for,
    convert_response_to_previous_version_for,
    endpoint,
    schema,
)

from baton_server.api.routes._orchestration import CLIENT_RUNTIMES_HEADER
from baton_server.api.schemas.admin import ConnectionPutBody, LogRecordOut, TaskInstanceDetail, VariableEntry
from baton_server.api.schemas.admin_orchestration import (
    Dag,
    DagRunDetail,
    DagSummary,
    TaskInstanceSummary,
)
from baton_server.api.schemas.execution import DagRunInfo, LogBatch, TIRunContext
from baton_server.api.schemas.orchestration import (
    ClaimWorkloadsPayload,
    DagDescription,
    DagSchedule,
    ExecuteTaskWorkload,
    RegisteredTask,
    RegisterWorkerPayload,
    TaskDescription,
    Worker,
)


class TaskRuntime(StrEnum):
    """The language runtime a task runs in; a worker claims only tasks of its own runtime."""

    PYTHON = "python"
    GO = "go"
    JAVA = "java"


CLOSED_RUNTIMES = frozenset(runtime.value for runtime in TaskRuntime)
"""The runtimes versions before 2026-12-02 can express."""
_CLOSED_RUNTIMES_SENT = ",".join(sorted(CLOSED_RUNTIMES))
"""The runtimes an older version's claim and heartbeat name in their header."""


def _expressible(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("runtime") in CLOSED_RUNTIMES


class OpenTaskRuntimes(VersionChange):
    """A task's and a worker's `runtime` is now an open identifier (`^[a-z][a-z0-9_-]{0,19}$`), no longer
    one of `python`, `go`, `java`: a worker in any language registers under a runtime of its own and
    claims only that runtime's tasks. Older versions still accept and show only `python`, `go` and `java`:
    their listings leave out workers, tasks and task instances of any other runtime (a worker listing's
    `total` counts only those shown), and a worker registered under another runtime that calls them is
    refused with `409 runtime_not_in_api_version`."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        *(
            instruction
            for model in (
                TaskDescription,
                RegisterWorkerPayload,
                Worker,
                ExecuteTaskWorkload,
                TaskInstanceSummary,
            )
            for instruction in (
                schema(model).field("runtime").had(type=TaskRuntime),
                schema(model).field("runtime").didnt_have("max_length", "pattern", "strict"),
            )
        ),
        schema(TaskInstanceDetail).field("runtime").had(type=str),
        schema(TaskInstanceDetail).field("runtime").didnt_have("max_length", "pattern", "strict"),
    )

    @convert_request_to_next_version_for("/workers/{worker_id}/claims", ["POST"])
    def claim_only_as_a_closed_runtime(request: RequestInfo) -> None:
        request.headers[CLIENT_RUNTIMES_HEADER] = _CLOSED_RUNTIMES_SENT

    @convert_request_to_next_version_for("/workers/{worker_id}/heartbeat", ["PUT"])
    def heartbeat_only_as_a_closed_runtime(request: RequestInfo) -> None:
        request.headers[CLIENT_RUNTIMES_HEADER] = _CLOSED_RUNTIMES_SENT

    @convert_request_to_next_version_for("/api/workers", ["GET"])
    def list_only_closed_runtime_workers(request: RequestInfo) -> None:
        # Left out by the query, not from each page: pages by offset and the total hold together.
        request.headers[CLIENT_RUNTIMES_HEADER] = _CLOSED_RUNTIMES_SENT

    @convert_response_to_previous_version_for(Dag)
    def show_only_closed_runtime_tasks(response: ResponseInfo) -> None:
        response.body["tasks"] = [t for t in response.body["tasks"] if _expressible(t)]

    @convert_response_to_previous_version_for(DagRunDetail)
    def show_only_closed_runtime_task_instances(response: ResponseInfo) -> None:
        response.body["task_instances"] = [ti for ti in response.body["task_instances"] if _expressible(ti)]


class SplitRegisteredTaskAndScheduleFromRequests(VersionChange):
    """A DAG read back through the admin API describes its tasks as `RegisteredTask` and its schedule as
    `RegisteredSchedule`, in which every field is always present; the request models `TaskDescription`
    and `DagSchedule` keep their defaulted fields optional. The JSON is unchanged."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        schema(Dag).field("tasks").had(type=list[TaskDescription]),
        schema(DagSummary).field("schedule").had(type=DagSchedule | None),
    )
    # No data migration either way: a RegisteredTask's JSON is a valid TaskDescription's, field for field.


class TypeStatesRunTypesAndLogLevelsAsEnums(VersionChange):
    """`DagRunInfo.state` and `run_type`, `TaskInstanceDetail.state` and `LogRecordOut.level` are typed as
    the enums their siblings use (`DagRunState`, `manual|scheduled`, `TaskInstanceState`, the log levels)
    instead of plain strings. The values are unchanged."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        schema(DagRunInfo).field("state").had(type=str),
        schema(DagRunInfo).field("run_type").had(type=str),
        schema(TaskInstanceDetail).field("state").had(type=str | None),
        schema(LogRecordOut).field("level").had(type=str),
    )
    # No data migration either way: the enums serialize to the strings older versions sent.


class RenameExecutionTimeoutToExecutionTimeoutSeconds(VersionChange):
    """The run context's `execution_timeout` (a number of seconds) is now `execution_timeout_seconds`, an
    integer, like every other duration of the API."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        schema(TIRunContext)
        .field("execution_timeout_seconds")
        .had(name="execution_timeout", type=float | None),
    )

    @convert_response_to_previous_version_for(TIRunContext)
    def send_execution_timeout_as_a_number(response: ResponseInfo) -> None:
        seconds = response.body.pop("execution_timeout_seconds")
        response.body["execution_timeout"] = None if seconds is None else float(seconds)


class AddBatchIdToLogBatch(VersionChange):
    """A log batch may carry a `batch_id`: a batch sent again with the same id is stored once, so log
    uploads are safe to retry."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (schema(LogBatch).field("batch_id").didnt_exist,)


class AddHeldTaskInstanceIdsToClaims(VersionChange):
    """A claim may list the task instances the worker holds (`held_task_instance_ids`): workloads the
    server assigned to it that it does not list (their claim's answer was lost) go back to the queue
    at once instead of after the claim timeout."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        schema(ClaimWorkloadsPayload).field("held_task_instance_ids").didnt_exist,
    )


class AddSizeCapReasons(VersionChange):
    """Two size caps get reasons of their own: a variable value over `BATON_VARIABLE_MAX_BYTES` (1 MiB by
    default, as compact JSON) is refused with `413 variable_too_large`, and a log batch that would take its
    attempt's log text past `BATON_LOG_MAX_BYTES_PER_ATTEMPT` (32 MiB by default) with `413
    log_limit_exceeded` (stop sending that attempt's logs). Older versions get `413 payload_too_large` for
    both, the code their documents list."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = ()


class AddEncryptionKeyNotHeldReason(VersionChange):
    """A request that needs a stored secret the server cannot decrypt — a connection's password or extra,
    or the signing key of a task token that another replica rotated to — encrypted with a key the server's
    `BATON_ENCRYPTION_KEY` does not hold, is answered `503 encryption_key_not_held` (it was a `500
    internal_error`); the message names the secret, and the server logs it with the setting. Older
    versions get `503 database_unavailable`, the one 503 code their documents list, with the same
    message."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = ()


class AddDagOwner(VersionChange):
    """A DAG read through the admin API names its `owner`: the worker credential that registered its
    latest version. Worker credentials may be issued for a set of DAG id patterns
    (`baton-server create-worker-credential NAME --dags 'team_a_*'`): such a credential may register
    only those DAGs (`403 dag_not_owned`, in every version) and its workers claim only their
    workloads. A workload's `run` whose claiming credential was revoked is `401 claim_revoked`
    (`token_invalid` before this version)."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (schema(DagSummary).field("owner").didnt_exist,)


class AddVariableGrants(VersionChange):
    """Variables may be granted to DAGs, like connections: `PUT /api/variables/{key}/grants` sets which
    DAGs' tasks may read a variable (`read_dag_ids`) and which may write or delete it
    (`write_dag_ids`); both are required, and null grants it to every DAG, as every variable is until
    an operator narrows it. A task of another DAG gets `403 variable_not_granted` or
    `variable_not_writable` (in every version: older clients keep working with global variables). A
    variable read through the admin API shows its grants; a variable a task creates is global."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        endpoint("/api/variables/{key}/grants", ["PUT"]).didnt_exist,
        schema(VariableEntry).field("read_dag_ids").didnt_exist,
        schema(VariableEntry).field("write_dag_ids").didnt_exist,
    )


class RequireConnectionGrants(VersionChange):
    """`PUT /api/connections/{conn_id}` needs `allowed_dag_ids` (null, said so, still grants the
    connection to every DAG): the body replaces the whole connection, and a replacement that left the
    grant out made a connection narrowed to some DAGs readable by every DAG, so replacing its password
    handed the new one to every team's tasks. A body of an older version without it still grants the
    connection to every DAG."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        schema(ConnectionPutBody).field("allowed_dag_ids").had(default=None),
    )

    @convert_request_to_next_version_for(ConnectionPutBody)
    def grant_every_dag_when_left_out(request: RequestInfo) -> None:
        request.body.setdefault("allowed_dag_ids", None)


class AddOperatorControls(VersionChange):
    """New admin operations for incidents, each recorded in an audit trail: `POST
    /api/task-instances/{task_instance_id}/clear` (run a task instance again, optionally with its
    downstream), `POST /api/task-instances/{task_instance_id}/mark` and `POST
    /api/dags/{dag_id}/dag-runs/{run_id}/mark` (set success or failed by hand), `POST
    /api/dags/{dag_id}/dag-runs/{run_id}/cancel` (running attempts are told to stop at their next
    heartbeat), `DELETE /api/dags/{dag_id}?confirm={dag_id}` (a DAG with its runs, logs and XComs), and
    `GET /api/audit-events` (who did which of these, when)."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        endpoint("/api/task-instances/{task_instance_id}/clear", ["POST"]).didnt_exist,
        endpoint("/api/task-instances/{task_instance_id}/mark", ["POST"]).didnt_exist,
        endpoint("/api/dags/{dag_id}/dag-runs/{run_id}/mark", ["POST"]).didnt_exist,
        endpoint("/api/dags/{dag_id}/dag-runs/{run_id}/cancel", ["POST"]).didnt_exist,
        endpoint("/api/dags/{dag_id}", ["DELETE"]).didnt_exist,
        endpoint("/api/audit-events", ["GET"]).didnt_exist,
    )


class AddLateToLogRecords(VersionChange):
    """A task's log lines that arrive after the server ended its attempt (an execution or heartbeat
    timeout, an operator's control) are stored instead of refused, and an admin log page marks each
    line with `late`."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (schema(LogRecordOut).field("late").didnt_exist,)


class AddPoolsAndDagConcurrencyLimits(VersionChange):
    """Scheduling limits as Airflow users know them. A task may name a `pool` (default
    `default_pool`) and take `pool_slots` of it (default 1); pools are managed with `GET /api/pools`,
    `GET`/`PUT`/`DELETE /api/pools/{name}` (`409 default_pool_not_deletable`). A DAG may set
    `max_active_runs` and `max_active_tasks`. The claim path holds every limit, on any number of API
    server replicas. DAGs registered through older versions get the defaults (no limits, the default
    pool)."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        endpoint("/api/pools", ["GET"]).didnt_exist,
        endpoint("/api/pools/{name}", ["GET", "PUT", "DELETE"]).didnt_exist,
        schema(TaskDescription).field("pool").didnt_exist,
        schema(TaskDescription).field("pool_slots").didnt_exist,
        schema(RegisteredTask).field("pool").didnt_exist,
        schema(RegisteredTask).field("pool_slots").didnt_exist,
        schema(DagDescription).field("max_active_runs").didnt_exist,
        schema(DagDescription).field("max_active_tasks").didnt_exist,
        schema(Dag).field("max_active_runs").didnt_exist,
        schema(Dag).field("max_active_tasks").didnt_exist,
    )

    @convert_response_to_previous_version_for(Dag)
    def show_tasks_without_pools(response: ResponseInfo) -> None:
        for task in response.body["tasks"]:
            task.pop("pool", None)
            task.pop("pool_slots", None)


class AddDagCatchup(VersionChange):
    """A DAG may set `catchup` (default false): when the scheduler was behind (downtime, a pause, a
    `start_at` in the past), a DAG with catchup gets one run per missed tick, oldest first and at most
    `max_active_runs` (16 when the DAG sets none) queued or running at once, instead of one run for
    the latest tick. A DAG read through the admin API shows it. DAGs registered through older
    versions get the default (no catchup)."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        schema(DagDescription).field("catchup").didnt_exist,
        schema(Dag).field("catchup").didnt_exist,
    )


class AddBackfills(VersionChange):
    """Backfills of scheduled DAGs: `POST /api/dags/{dag_id}/backfills` makes one run per tick of the
    DAG's schedule from `from_date` to `to_date` (at most 1,000), at most `max_active_runs` of them
    queued or running at once, and `reprocess_behavior` (`none`, `failed`, `completed`) says which
    intervals that already have runs get another. `GET /api/dags/{dag_id}/backfills` and `GET
    /api/dags/{dag_id}/backfills/{backfill_id}` show their progress."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        endpoint("/api/dags/{dag_id}/backfills", ["GET", "POST"]).didnt_exist,
        endpoint("/api/dags/{dag_id}/backfills/{backfill_id}", ["GET"]).didnt_exist,
    )


class AddTaskTokenReissue(VersionChange):
    """`POST /workers/{worker_id}/task-tokens` answers, for the worker's own credential, a fresh execution
    token for each listed task instance (at most 1,000) whose running attempt this worker holds, and says
    why each other got none (`unknown`, `not_held`, `not_running`). A worker asks it when an attempt's
    token expired (`401 token_expired`), as after a server downtime longer than the token's life, and goes
    on with the fresh token: the attempt's heartbeats and its end are no longer lost."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        endpoint("/workers/{worker_id}/task-tokens", ["POST"]).didnt_exist,
    )
