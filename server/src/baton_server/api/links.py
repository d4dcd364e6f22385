"""OpenAPI links: which answer's values feed which next call (claim → run → heartbeat → finish, …).

They document the API's flows for client authors, and drive schemathesis's stateful phase, which
follows them to run real attempts. Every link names only operations present in every version.
"""

from __future__ import annotations

from typing import Any

_TI = {"task_instance_id": "$request.path.task_instance_id"}


def _link(
    operation_id: str, description: str, parameters: dict[str, str], body: Any = None
) -> dict[str, Any]:
    link: dict[str, Any] = {"operationId": operation_id, "description": description, "parameters": parameters}
    if body is not None:
        link["requestBody"] = body
    return link


def links(status: int, **named: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """A ``responses`` entry adding the named links to the success response ``status``."""
    return {status: {"links": named}}


REGISTER_WORKER = links(
    200,
    HeartbeatWorker=_link(
        "heartbeat_worker", "Heartbeat the registered worker", {"worker_id": "$response.body#/id"}
    ),
    ClaimWorkloads=_link(
        "claim_workloads",
        "Claim workloads from the queues the worker registered",
        {"worker_id": "$response.body#/id"},
        {"queues": "$response.body#/queues"},
    ),
)

CLAIM_WORKLOADS = links(
    200,
    RunTaskInstance=_link(
        "run_task_instance",
        "Start the first claimed workload, with its workload token",
        {"task_instance_id": "$response.body#/workloads/0/task_instance/id"},
    ),
)

RUN_TASK_INSTANCE = links(
    200,
    Heartbeat=_link(
        "heartbeat_task_instance",
        "Heartbeat the started attempt from the host and pid that started it",
        _TI,
        {"hostname": "$request.body#/hostname", "pid": "$request.body#/pid"},
    ),
    Finish=_link("update_task_instance_state", "Finish the started attempt", _TI),
    UploadLogs=_link("upload_task_logs", "Upload the attempt's log lines", _TI),
    TaskStateCounts=_link("get_task_state_counts", "Count the task states of the attempt's DAG run", _TI),
    PushXCom=_link(
        "push_xcom",
        "Push an XCom of the started task instance",
        {
            "dag_id": "$response.body#/task_instance/dag_id",
            "run_id": "$response.body#/task_instance/run_id",
            "task_id": "$response.body#/task_instance/task_id",
        },
    ),
)

HEARTBEAT_TASK_INSTANCE = links(
    204, Finish=_link("update_task_instance_state", "Finish the heartbeating attempt", _TI)
)


def _read_back(
    noun: str, name: str, get: str, delete: str, parameters: dict[str, str], *, read: str = "Get"
) -> dict[int | str, dict[str, Any]]:
    """Links from storing a thing to reading it back (``{read}{name}``) and deleting it."""
    return links(
        200,
        **{
            f"{read}{name}": _link(get, f"Read the {noun} back", parameters),
            f"Delete{name}": _link(delete, f"Delete the {noun}", parameters),
        },
    )


TRIGGER_DAG_RUN = links(
    201,
    GetDagRun=_link(
        "get_dag_run",
        "Show the triggered run with its task instances",
        {"dag_id": "$request.path.dag_id", "run_id": "$response.body#/run_id"},
    ),
)

_XCOM = {name: f"$request.path.{name}" for name in ("dag_id", "run_id", "task_id", "key")}
_KEY = {"key": "$request.path.key"}
_CONNECTION = {"connection_id": "$request.path.connection_id"}
PUSH_XCOM = _read_back("pushed XCom", "XCom", "pull_xcom", "delete_xcom", _XCOM, read="Pull")
SET_VARIABLE = _read_back("variable", "Variable", "get_variable", "delete_variable", _KEY)
ADMIN_SET_VARIABLE = _read_back("variable", "Variable", "admin_get_variable", "admin_delete_variable", _KEY)
ADMIN_SET_CONNECTION = _read_back(
    "connection", "Connection", "admin_get_connection", "admin_delete_connection", _CONNECTION
)
