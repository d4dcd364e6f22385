"""Wire models of the admin API's orchestration routes: DAGs, DAG runs, workers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictStr

from baton_server.api.schemas.common import (
    RUN_ID_PATTERN,
    RequestModel,
    ResponseModel,
    StrictAwareDatetime,
    TaskRuntime,
)
from baton_server.api.schemas.execution import DagRunType
from baton_server.api.schemas.orchestration import RegisteredSchedule, RegisteredTask, Worker
from baton_server.services.states import DagRunState, TaskInstanceState


class DagSummary(ResponseModel):
    """A DAG with the facts of its latest version."""

    dag_id: str
    description: str | None
    schedule: RegisteredSchedule | None
    is_paused: bool
    next_run_at: datetime | None = Field(description="When the next scheduled run is due, if scheduled.")
    latest_version_id: uuid.UUID
    latest_version_number: int
    bundle_name: str | None
    owner: str | None = Field(
        description="The name of the worker credential that registered the latest version (null: registered "
        "before DAGs had owners)."
    )
    task_count: int
    created_at: datetime
    updated_at: datetime


class Dag(DagSummary):
    """A DAG with the tasks of its latest version."""

    tasks: list[RegisteredTask]
    max_active_runs: int | None = Field(description="At most this many runs at once; null: no limit.")
    max_active_tasks: int | None = Field(
        description="At most this many task instances claimed or running at once; null: no limit."
    )
    catchup: bool = Field(description="Whether missed ticks of the schedule each get a run.")


class DagList(ResponseModel):
    """A page of DAGs, by id."""

    dags: list[DagSummary]
    total: int


class UpdateDagPayload(RequestModel):
    """The DAG settings an operator can change."""

    is_paused: StrictBool = Field(
        description="A paused DAG gets no scheduled runs; triggered runs still run."
    )


class TriggerDagRunPayload(RequestModel):
    """A manual run of a DAG's latest version."""

    run_id: Annotated[StrictStr, Field(min_length=1, max_length=250, pattern=RUN_ID_PATTERN)] | None = Field(
        default=None, description="Default: manual__<UTC time>."
    )
    conf: dict[str, Any] = Field(default_factory=dict, description="Any JSON object; the tasks read it.")
    logical_date: StrictAwareDatetime | None = Field(default=None, description="Default: now.")


class DagRun(ResponseModel):
    """One run of a DAG, pinned to the DAG version it started with."""

    id: uuid.UUID
    dag_id: str
    run_id: str
    dag_version_id: uuid.UUID
    run_type: DagRunType
    state: DagRunState
    logical_date: datetime
    data_interval_start: datetime | None
    data_interval_end: datetime | None
    conf: dict[str, Any]
    queued_at: datetime
    start_date: datetime | None
    end_date: datetime | None
    duration_seconds: float | None


class DagRunList(ResponseModel):
    """A page of DAG runs, newest first."""

    dag_runs: list[DagRun]
    total: int


class TaskInstanceSummary(ResponseModel):
    """A task instance of a run: where its current attempt stands."""

    id: uuid.UUID
    task_id: str
    map_index: int
    state: TaskInstanceState | None = Field(description="null: waiting for its upstream tasks.")
    try_number: int = Field(description="The current attempt (0 before the first is queued).")
    max_tries: int = Field(description="Attempts allowed in all: retries + 1.")
    queue: str
    runtime: TaskRuntime
    hostname: str | None
    worker_id: uuid.UUID | None
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    duration_seconds: float | None
    next_attempt_at: datetime | None = Field(
        description="When an up_for_retry task instance is queued again."
    )


class DagRunDetail(DagRun):
    """A DAG run with its task instances, by task id."""

    task_instances: list[TaskInstanceSummary]


class WorkerSummary(Worker):
    """A worker with the task instances it holds (claimed or running)."""

    active_task_instances: int


class WorkerList(ResponseModel):
    """A page of workers, by name."""

    workers: list[WorkerSummary]
    total: int
