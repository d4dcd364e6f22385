"""Conversions between the orchestration wire models and the services' domain objects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.api.schemas.admin_orchestration import (
    Dag,
    DagRun,
    DagRunDetail,
    DagSummary,
    TaskInstanceSummary,
    WorkerSummary,
)
from baton_server.api.schemas.orchestration import (
    DagDescription,
    RegisteredSchedule,
    RegisteredTask,
    TaskDescription,
    Worker,
)
from baton_server.db.tables import CredentialRecord, DagRunRecord, TaskInstanceRecord, WorkerRecord
from baton_server.services.dag_runs import DagRunDetail as DagRunDetailRecord
from baton_server.services.dag_specs import DagSpec, TaskSpec
from baton_server.services.dags import DagSummary as DagSummaryRecord
from baton_server.services.schedules import Schedule
from baton_server.services.states import DagRunState, TaskInstanceState
from baton_server.services.workers import WorkerLoad, WorkerState, owned_worker
from baton_server.services.workers import require_runtime_known_to_client as _require_runtime

CLIENT_RUNTIMES_HEADER = "Baton-Client-Runtimes"
"""Set by the request migrations of API versions that know a closed list of runtimes (see
``OpenTaskRuntimes``): a worker of another runtime cannot be described in them. Not in any spec."""

ClientRuntimes = Annotated[str | None, Header(alias=CLIENT_RUNTIMES_HEADER, include_in_schema=False)]


async def require_runtime_known_to_client(
    session: AsyncSession, credential: CredentialRecord, worker_id: uuid.UUID, client_runtimes: str | None
) -> None:
    """409 when the worker's runtime is one the client's API version cannot express."""
    if client_runtimes is None:
        return
    worker = await owned_worker(session, credential, worker_id)
    _require_runtime(worker.name, worker.runtime, client_runtimes)


def task_spec(task: TaskDescription) -> TaskSpec:
    """The domain form of a wire task description."""
    return TaskSpec(
        task_id=task.task_id,
        entry_point=task.entry_point,
        upstream_task_ids=tuple(task.upstream_task_ids),
        queue=task.queue,
        runtime=task.runtime,
        retries=task.retries,
        retry_delay_seconds=task.retry_delay_seconds,
        execution_timeout_seconds=task.execution_timeout_seconds,
        trigger_rule=task.trigger_rule,
        pool=task.pool,
        pool_slots=task.pool_slots,
    )


def dag_spec(dag: DagDescription) -> DagSpec:
    """The domain form of a wire DAG description."""
    schedule = None
    if dag.schedule is not None:
        schedule = Schedule(
            cron=dag.schedule.cron,
            interval_seconds=dag.schedule.interval_seconds,
            start_at=dag.schedule.start_at,
        )
    return DagSpec(
        dag_id=dag.dag_id,
        description=dag.description,
        schedule=schedule,
        tasks=tuple(task_spec(t) for t in dag.tasks),
        max_active_runs=dag.max_active_runs,
        max_active_tasks=dag.max_active_tasks,
        catchup=dag.catchup,
    )


def schedule_model(schedule: Schedule | None) -> RegisteredSchedule | None:
    """The wire form of a stored schedule."""
    if schedule is None:
        return None
    return RegisteredSchedule(
        cron=schedule.cron, interval_seconds=schedule.interval_seconds, start_at=schedule.start_at
    )


def task_model(task: TaskSpec) -> RegisteredTask:
    """The wire form of a stored task."""
    return RegisteredTask(
        task_id=task.task_id,
        entry_point=task.entry_point,
        runtime=task.runtime,
        upstream_task_ids=list(task.upstream_task_ids),
        queue=task.queue,
        retries=task.retries,
        retry_delay_seconds=task.retry_delay_seconds,
        execution_timeout_seconds=task.execution_timeout_seconds,
        trigger_rule=task.trigger_rule,
        pool=task.pool,
        pool_slots=task.pool_slots,
    )


def worker_model(record: WorkerRecord) -> Worker:
    """The wire form of a worker."""
    return Worker(
        id=record.id,
        name=record.name,
        queues=list(record.queues),
        capacity=record.capacity,
        runtime=record.runtime,
        hostname=record.hostname,
        state=WorkerState(record.state),
        registered_at=record.registered_at,
        last_heartbeat_at=record.last_heartbeat_at,
    )


def dag_summary_model(summary: DagSummaryRecord) -> DagSummary:
    """The wire form of a DAG with its latest version."""
    spec = summary.version.spec
    return DagSummary(
        dag_id=summary.dag.dag_id,
        description=spec.description,
        schedule=schedule_model(spec.schedule),
        is_paused=summary.dag.is_paused,
        next_run_at=summary.dag.next_run_at,
        latest_version_id=summary.version.id,
        latest_version_number=summary.version.version_number,
        bundle_name=summary.version.bundle_name,
        owner=summary.dag.owner_name,
        task_count=len(spec.tasks),
        created_at=summary.dag.created_at,
        updated_at=summary.dag.updated_at,
    )


def dag_model(summary: DagSummaryRecord) -> Dag:
    """The wire form of a DAG with the tasks of its latest version."""
    tasks = [task_model(t) for t in summary.version.spec.tasks]
    spec = summary.version.spec
    return Dag(
        **dag_summary_model(summary).model_dump(),
        tasks=tasks,
        max_active_runs=spec.max_active_runs,
        max_active_tasks=spec.max_active_tasks,
        catchup=spec.catchup,
    )


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _run_fields(run: DagRunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "dag_version_id": run.dag_version_id,
        "run_type": run.run_type,
        "state": DagRunState(run.state),
        "logical_date": run.logical_date,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "conf": run.conf,
        "queued_at": run.queued_at,
        "start_date": run.start_date,
        "end_date": run.end_date,
        "duration_seconds": _duration(run.start_date, run.end_date),
    }


def dag_run_model(run: DagRunRecord) -> DagRun:
    """The wire form of a DAG run."""
    return DagRun(**_run_fields(run))


def task_instance_model(ti: TaskInstanceRecord) -> TaskInstanceSummary:
    """The wire form of a task instance in a run's listing."""
    return TaskInstanceSummary(
        id=ti.id,
        task_id=ti.task_id,
        map_index=ti.map_index,
        state=TaskInstanceState(ti.state) if ti.state is not None else None,
        try_number=ti.try_number,
        max_tries=ti.max_tries,
        queue=ti.queue,
        runtime=ti.runtime,
        hostname=ti.hostname,
        worker_id=ti.worker_id,
        queued_at=ti.queued_at,
        start_date=ti.start_date,
        end_date=ti.end_date,
        duration_seconds=_duration(ti.start_date, ti.end_date),
        next_attempt_at=ti.next_attempt_at,
    )


def dag_run_detail_model(detail: DagRunDetailRecord) -> DagRunDetail:
    """The wire form of a DAG run with its task instances."""
    return DagRunDetail(
        **_run_fields(detail.run), task_instances=[task_instance_model(ti) for ti in detail.task_instances]
    )


def worker_summary_model(load: WorkerLoad) -> WorkerSummary:
    """The wire form of a worker in the operator's listing."""
    return WorkerSummary(
        **worker_model(load.worker).model_dump(), active_task_instances=load.active_task_instances
    )
