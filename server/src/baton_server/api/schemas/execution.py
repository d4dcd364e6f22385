"""Wire models of the Task Execution API (``/execution``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, JsonValue, StrictStr

from baton_server.api.schemas.common import (
    Hostname,
    Identifier,
    MapIndex,
    Pid,
    RequestModel,
    ResponseModel,
    StrictAwareDatetime,
)
from baton_server.services.states import DagRunState

LogLevel = Literal["debug", "info", "warning", "error", "critical"]
DagRunType = Literal["manual", "scheduled"]
ReportableState = Literal["success", "failed", "skipped", "up_for_retry"]
TaskInstanceStateName = Literal[
    "scheduled", "queued", "running", "success", "failed", "skipped", "up_for_retry", "upstream_failed"
]


class TIRunPayload(RequestModel):
    """Start an attempt: where and as whom the task runs, and when it started."""

    hostname: Hostname
    pid: Pid
    unix_user: Annotated[StrictStr, Field(min_length=1, max_length=1000)]
    start_date: StrictAwareDatetime


class TaskInstanceIdentity(ResponseModel):
    """Which task instance and attempt this is."""

    id: uuid.UUID
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int


class DagRunInfo(ResponseModel):
    """The facts of the DAG run a task instance belongs to."""

    id: uuid.UUID
    dag_id: str
    run_id: str
    run_type: DagRunType
    state: DagRunState
    logical_date: datetime
    data_interval_start: datetime | None
    data_interval_end: datetime | None
    start_date: datetime | None
    conf: dict[str, JsonValue]


class TIRunContext(ResponseModel):
    """Everything a task needs to run without another round trip."""

    task_instance: TaskInstanceIdentity
    max_tries: int = Field(description="Total attempts allowed (retries + 1).")
    dag_version_id: uuid.UUID
    dag_run: DagRunInfo
    entry_point: str | None = Field(
        description="What the worker runs for this task, from the DAG's description."
    )
    execution_timeout_seconds: int | None = Field(
        description="Seconds the attempt may run; null for no limit."
    )


class TIHeartbeatPayload(RequestModel):
    """A running attempt says it is alive."""

    hostname: Hostname
    pid: Pid


class TIStatePayload(RequestModel):
    """Finish the attempt: a terminal or retry state and when it ended."""

    state: ReportableState
    end_date: StrictAwareDatetime


class TIStateResponse(ResponseModel):
    """The state the task instance is in after the call."""

    state: TaskInstanceStateName
    try_number: int


class PreviousSuccessfulRun(ResponseModel):
    """The latest earlier DAG run in which this task succeeded."""

    run_id: str
    logical_date: datetime
    start_date: datetime | None
    end_date: datetime | None
    try_number: int


class PreviousSuccessfulRunResponse(ResponseModel):
    """The previous successful run of this task, or null when there is none."""

    previous: PreviousSuccessfulRun | None


class TaskStateCounts(ResponseModel):
    """How many task instances of this DAG run are in each state (states with none are left out)."""

    counts: dict[str, int]
    total: int


class VariableResponse(ResponseModel):
    """A variable's key and JSON value."""

    key: str
    value: JsonValue


class VariablePutBody(RequestModel):
    """The JSON value to store under a variable's key."""

    value: JsonValue
    description: Annotated[StrictStr, Field(max_length=10_000)] | None = None


class ConnectionResponse(ResponseModel):
    """How to reach an external system; secrets are decrypted for the task that asks."""

    conn_id: str
    conn_type: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None
    schema_: str | None = Field(alias="schema", serialization_alias="schema")
    extra: dict[str, JsonValue] | None


class XComResponse(ResponseModel):
    """An XCom's address and JSON value."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str
    value: JsonValue


class XComPutBody(RequestModel):
    """The JSON value to push."""

    value: JsonValue


class LogLine(RequestModel):
    """One structured log line."""

    timestamp: StrictAwareDatetime
    level: LogLevel
    message: Annotated[StrictStr, Field(max_length=100_000)]
    fields: dict[str, JsonValue] | None = None


class LogBatch(RequestModel):
    """Log lines of the calling attempt, in the order they were emitted."""

    lines: Annotated[list[LogLine], Field(min_length=1, max_length=1000)]
    batch_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "Names this batch so it is safe to send again: the same batch id with the same lines is "
            "stored once however often it is sent (when its answer was lost, say). A new id per new batch."
        ),
    )


class LogBatchAccepted(ResponseModel):
    """How many lines were stored."""

    accepted: int


__all__ = [
    "ConnectionResponse",
    "DagRunInfo",
    "Identifier",
    "LogBatch",
    "LogBatchAccepted",
    "LogLine",
    "MapIndex",
    "PreviousSuccessfulRun",
    "PreviousSuccessfulRunResponse",
    "TIHeartbeatPayload",
    "TIRunContext",
    "TIRunPayload",
    "TIStatePayload",
    "TIStateResponse",
    "TaskInstanceIdentity",
    "TaskStateCounts",
    "VariablePutBody",
    "VariableResponse",
    "XComPutBody",
    "XComResponse",
]
