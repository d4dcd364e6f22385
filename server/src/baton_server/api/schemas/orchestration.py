"""Wire models of orchestration: DAG registration, workers and workload claims (Worker API)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StrictStr

from baton_server.api.schemas.common import (
    Hostname,
    Identifier,
    IntegralNumber,
    RequestModel,
    ResponseModel,
    StrictAwareDatetime,
    TaskRuntime,
)
from baton_server.api.schemas.execution import TaskInstanceIdentity
from baton_server.services.dag_specs import TriggerRule
from baton_server.services.workers import TokenRefusal, WorkerState

Seconds = Annotated[float, Field(strict=True, ge=0)]


class DagSchedule(RequestModel):
    """When a DAG runs by itself: exactly one of a cron expression (UTC) and an interval."""

    cron: Annotated[StrictStr, Field(min_length=1, max_length=100, examples=["0 6 * * *"])] | None = None
    interval_seconds: Annotated[StrictInt, Field(ge=1, le=366 * 24 * 3600), IntegralNumber] | None = None
    start_at: StrictAwareDatetime | None = Field(
        default=None, description="No run is due before this time; interval schedules count from it."
    )


class RegisteredSchedule(ResponseModel):
    """A DAG's stored schedule: a cron expression (UTC) or an interval, and when it starts."""

    cron: str | None
    interval_seconds: int | None
    start_at: datetime | None = Field(description="No run is due before this time.")


class TaskDescription(RequestModel):
    """One task of a DAG: what it runs (an entry point in its bundle), where, and what it waits for."""

    task_id: Identifier
    entry_point: Annotated[StrictStr, Field(min_length=1, max_length=1000, examples=["etl.tasks:extract"])]
    runtime: TaskRuntime = Field(description="The language runtime; only workers of that runtime claim it.")
    upstream_task_ids: Annotated[list[Identifier], Field(max_length=1000)] = Field(default_factory=list)
    queue: Identifier = "default"
    retries: Annotated[StrictInt, Field(ge=0, le=100), IntegralNumber] = 0
    retry_delay_seconds: Annotated[StrictInt, Field(ge=0, le=7 * 24 * 3600), IntegralNumber] = 300
    execution_timeout_seconds: Annotated[StrictInt, Field(ge=1, le=30 * 24 * 3600), IntegralNumber] | None = (
        None
    )
    trigger_rule: TriggerRule = TriggerRule.ALL_SUCCESS
    pool: Identifier = Field(
        default="default_pool",
        description="The named pool whose slots the task takes while claimed or running.",
    )
    pool_slots: Annotated[StrictInt, Field(ge=1, le=10_000), IntegralNumber] = Field(
        default=1, description="How many of the pool's slots the task takes."
    )


class RegisteredTask(ResponseModel):
    """A task of a stored DAG version: every setting, defaults filled in."""

    task_id: str
    entry_point: str
    runtime: TaskRuntime
    upstream_task_ids: list[str]
    queue: str
    retries: int
    retry_delay_seconds: int
    execution_timeout_seconds: int | None
    trigger_rule: TriggerRule
    pool: str
    pool_slots: int


class DagDescription(RequestModel):
    """A DAG as its bundle describes it; the server never sees its code."""

    dag_id: Identifier
    description: Annotated[StrictStr, Field(max_length=2000)] | None = None
    schedule: DagSchedule | None = None
    tasks: Annotated[list[TaskDescription], Field(min_length=1, max_length=10_000)]
    max_active_runs: Annotated[StrictInt, Field(ge=1, le=100_000), IntegralNumber] | None = Field(
        default=None, description="At most this many runs of the DAG run at once; null: no limit."
    )
    max_active_tasks: Annotated[StrictInt, Field(ge=1, le=100_000), IntegralNumber] | None = Field(
        default=None,
        description="At most this many task instances of the DAG are claimed or running at once; null: none.",
    )
    catchup: StrictBool = Field(
        default=False,
        description="When the scheduler was behind (downtime, a pause, a start_at in the past), make one run "
        "per missed tick instead of one for the latest tick only.",
    )


class RegisterDagsPayload(RequestModel):
    """The DAGs of one bundle, registered by a worker that loaded it."""

    bundle_name: Identifier | None = None
    dags: Annotated[list[DagDescription], Field(min_length=1, max_length=1000)]


class RegisteredDag(ResponseModel):
    """The version a DAG's description is stored as; ``created_version`` says whether it is new."""

    dag_id: str
    dag_version_id: uuid.UUID
    version_number: int
    created_version: bool


class RegisteredDags(ResponseModel):
    """The outcome of a registration, one entry per DAG in the order sent."""

    dags: list[RegisteredDag]


class RegisterWorkerPayload(RequestModel):
    """What a worker says about itself when it starts."""

    name: Identifier
    queues: Annotated[list[Identifier], Field(min_length=1, max_length=100)]
    capacity: Annotated[
        StrictInt, Field(ge=1, le=10_000, description="Task instances it runs at once."), IntegralNumber
    ]
    runtime: TaskRuntime
    hostname: Hostname | None = None


class Worker(ResponseModel):
    """A registered worker."""

    id: uuid.UUID
    name: str
    queues: list[str]
    capacity: int
    runtime: TaskRuntime
    hostname: str | None
    state: WorkerState
    registered_at: datetime
    last_heartbeat_at: datetime


class ClaimWorkloadsPayload(RequestModel):
    """How many workloads a worker can take now, and how long it will wait for the first one."""

    max_workloads: Annotated[StrictInt, Field(ge=1, le=100), IntegralNumber] = 1
    wait_seconds: Annotated[Seconds, Field(le=60)] = Field(
        default=0.0, description="Long-poll up to this long (capped by the server) when nothing is ready."
    )
    queues: Annotated[list[Identifier], Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="Claim only from these of the worker's queues; default: all of them."
    )
    held_task_instance_ids: Annotated[list[uuid.UUID], Field(max_length=10_000)] | None = Field(
        default=None,
        description=(
            "The task instances whose workloads the worker holds now (claimed and not yet reported). A "
            "workload the server assigned to this worker but which is not listed (its claim's answer was "
            "lost) goes back to the queue before this claim is served, so it need not wait out the claim "
            "timeout. Omitted: nothing is released."
        ),
    )


class ExecuteTaskWorkload(ResponseModel):
    """One attempt of a task instance for a worker to start, with the token that starts it."""

    task_instance: TaskInstanceIdentity = Field(description="The task instance and the attempt (try_number).")
    max_tries: int
    dag_version_id: uuid.UUID
    bundle_name: str | None
    runtime: TaskRuntime
    entry_point: str
    queue: str
    execution_timeout_seconds: int | None
    token: str = Field(description="Workload token: good only for starting this attempt (`run`).")


class ClaimedWorkloads(ResponseModel):
    """The workloads handed to this worker; empty when none was ready within the wait."""

    workloads: list[ExecuteTaskWorkload]


class TaskTokensPayload(RequestModel):
    """The task instances whose running attempts the worker wants fresh execution tokens for."""

    task_instance_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=1_000)]


class TaskToken(ResponseModel):
    """A fresh execution token for the running attempt of a task instance that the worker holds."""

    task_instance_id: uuid.UUID
    try_number: int = Field(description="The attempt the token is for; use it only for that attempt.")
    token: str = Field(description="Execution token, as `run` hands out in `Refreshed-API-Token`.")


class RefusedTaskToken(ResponseModel):
    """A task instance the worker got no token for, and why."""

    task_instance_id: uuid.UUID
    reason: TokenRefusal = Field(
        description=(
            "`unknown`: no such task instance; `not_held`: this worker does not hold it (another worker's, "
            "or of a DAG its credential may not serve); `not_running`: its attempt is not running (finished, "
            "ended by the server, or claimed and not started)."
        )
    )


class TaskTokens(ResponseModel):
    """Fresh execution tokens, and the task instances that got none."""

    tokens: list[TaskToken]
    refused: list[RefusedTaskToken]
