"""Wire models of the admin API (``/api``) for variables, connections, task instances and logs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, JsonValue, StrictInt, StrictStr

from baton_server.api.schemas.common import (
    Identifier,
    IntegralNumber,
    RequestModel,
    ResponseModel,
    TaskRuntime,
)
from baton_server.api.schemas.execution import LogLevel, VariableResponse
from baton_server.services.states import TaskInstanceState

PortNumber = Annotated[StrictInt, Field(ge=1, le=65535), IntegralNumber]
ShortText = Annotated[StrictStr, Field(max_length=500)]


class VariableEntry(ResponseModel):
    """A variable as operators see it."""

    key: str
    value: JsonValue
    description: str | None
    read_dag_ids: list[str] | None = Field(
        description="The DAGs whose tasks may read it; null: every DAG (a global variable)."
    )
    write_dag_ids: list[str] | None = Field(
        description="The DAGs whose tasks may write or delete it; null: every DAG."
    )
    updated_at: datetime


class VariableGrants(RequestModel):
    """Which DAGs' tasks may read and write a variable; null grants it to every DAG.

    Both are required: the body replaces both grants, and a grant left out is never taken to open the
    variable to every DAG (narrowing the readers alone would leave every DAG free to overwrite what
    they read)."""

    read_dag_ids: Annotated[list[Identifier], Field(max_length=10_000)] | None = Field(
        description="The DAGs whose tasks may read it; null: every DAG (a global variable)."
    )
    write_dag_ids: Annotated[list[Identifier], Field(max_length=10_000)] | None = Field(
        description="The DAGs whose tasks may write or delete it; null: every DAG."
    )


class VariablePage(ResponseModel):
    """A page of variables ordered by key."""

    variables: list[VariableEntry]
    total: int


class ConnectionPutBody(RequestModel):
    """A connection to create or replace; ``allowed_dag_ids`` null grants it to every DAG."""

    # allowed_dag_ids is required (from 2026-12-02, RequireConnectionGrants): the body replaces the
    # whole connection, and a grant left out is never taken to open it to every DAG. The docstring
    # above is every version's description, so it stays as it was released.

    conn_type: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    host: ShortText | None = None
    port: PortNumber | None = None
    login: ShortText | None = None
    password: Annotated[StrictStr, Field(max_length=10_000)] | None = None
    schema_: ShortText | None = Field(default=None, alias="schema")
    extra: dict[str, JsonValue] | None = None
    allowed_dag_ids: Annotated[list[Identifier], Field(max_length=10_000)] | None
    description: Annotated[StrictStr, Field(max_length=10_000)] | None = None


class ConnectionEntry(ResponseModel):
    """A connection as operators see it: the password is never returned, only whether one is set."""

    conn_id: str
    conn_type: str
    host: str | None
    port: int | None
    login: str | None
    password_set: bool
    schema_: str | None = Field(alias="schema", serialization_alias="schema")
    extra: dict[str, JsonValue] | None
    allowed_dag_ids: list[str] | None
    description: str | None


class ConnectionPage(ResponseModel):
    """A page of connections ordered by id."""

    connections: list[ConnectionEntry]
    total: int


class TaskInstanceDetail(ResponseModel):
    """A task instance's state and its current attempt."""

    id: uuid.UUID
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    dag_run_id: uuid.UUID
    dag_version_id: uuid.UUID
    state: TaskInstanceState | None
    try_number: int
    max_tries: int
    queue: str
    runtime: TaskRuntime
    hostname: str | None
    pid: int | None
    start_date: datetime | None
    end_date: datetime | None
    last_heartbeat_at: datetime | None


class LogRecordOut(ResponseModel):
    """One stored log line; ``id`` orders lines and pages."""

    id: int
    timestamp: datetime
    level: LogLevel
    message: str
    fields: dict[str, JsonValue] | None
    late: bool = Field(
        description="The line came after its attempt had ended (a timeout, lost heartbeats, a control, ...)."
    )


class LogPage(ResponseModel):
    """A page of one attempt's log lines; pass ``next_after`` as ``after`` for the next page."""

    task_instance_id: uuid.UUID
    try_number: int
    lines: list[LogRecordOut]
    next_after: int | None


__all__ = [
    "ConnectionEntry",
    "ConnectionPage",
    "ConnectionPutBody",
    "LogPage",
    "LogRecordOut",
    "TaskInstanceDetail",
    "VariableEntry",
    "VariablePage",
    "VariableResponse",
]


class PoolPutBody(RequestModel):
    """A pool to create or replace: its slots (null: no limit) and a description."""

    slots: Annotated[StrictInt, Field(ge=0, le=2**31 - 1), IntegralNumber] | None = Field(
        description="The slots its claimed or running task instances may take together; null: no limit."
    )
    description: Annotated[StrictStr, Field(max_length=2000)] | None = None


class Pool(ResponseModel):
    """A named pool with its slots and what its claimed or running task instances take of them."""

    name: str
    slots: int | None = Field(description="null: no limit.")
    used_slots: int = Field(description="Slots taken now by claimed or running task instances.")
    description: str | None
    updated_at: datetime


class PoolList(ResponseModel):
    """Every pool, by name."""

    pools: list[Pool]
