"""Answers that a declared route and its fast lane build alike, from one function each.

Each takes a pooled connection in autocommit of its own, as the heartbeat does: a task's start, end
and log batch are single statements, which need neither a transaction nor an ORM session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from baton_server.api.schemas.execution import (
    DagRunInfo,
    LogBatch,
    LogBatchAccepted,
    TaskInstanceIdentity,
    TIRunContext,
    TIRunPayload,
    TIStatePayload,
    TIStateResponse,
)
from baton_server.api.schemas.orchestration import ClaimedWorkloads, ExecuteTaskWorkload
from baton_server.runtime import Runtime
from baton_server.scheduler import after_attempt_ended
from baton_server.services import logs, task_instances, workloads
from baton_server.services.states import TaskInstanceState
from baton_server.services.task_instances import StartedAttempt
from baton_server.services.tokens import TaskClaims

ENDED = frozenset({TaskInstanceState.SUCCESS, TaskInstanceState.FAILED, TaskInstanceState.SKIPPED})
"""Final states after which a task instance's downstream may be ready."""


def _identity(ti: task_instances.AnyRow) -> TaskInstanceIdentity:
    return TaskInstanceIdentity(
        id=ti.id,
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=ti.map_index,
        try_number=ti.try_number,
    )


async def start_attempt(
    runtime: Runtime, claims: TaskClaims, task_instance_id: uuid.UUID, payload: TIRunPayload
) -> tuple[TIRunContext, str]:
    """Start the attempt: its run context, and the execution token its other calls must use."""
    async with runtime.autocommit.connect() as conn:
        started = await task_instances.start_attempt(
            conn,
            claims,
            task_instance_id,
            hostname=payload.hostname,
            pid=payload.pid,
            unix_user=payload.unix_user,
            start_date=payload.start_date,
        )
    ti = started.task_instance
    return run_context(started), runtime.tokens.issue(ti.id, ti.try_number, "execution")


def run_context(started: StartedAttempt) -> TIRunContext:
    """The answer to ``run``: the attempt, its DAG run and what the task needs to start."""
    ti, task = started.task_instance, started.task_description
    timeout = task.get("execution_timeout")
    return TIRunContext(
        task_instance=_identity(ti),
        max_tries=ti.max_tries,
        dag_version_id=ti.dag_version_id,
        dag_run=DagRunInfo.model_validate(started.dag_run),
        entry_point=task.get("entry_point"),
        execution_timeout_seconds=int(timeout) if isinstance(timeout, int | float) else None,
    )


async def finish_attempt(
    runtime: Runtime, claims: TaskClaims, task_instance_id: uuid.UUID, payload: TIStatePayload
) -> TIStateResponse:
    """End the attempt; once it has ended, queue what became ready in its run (``after_attempt_ended``)."""
    async with runtime.autocommit.connect() as conn:
        ti = await task_instances.finish_attempt(
            conn, claims, task_instance_id, state=TaskInstanceState(payload.state), end_date=payload.end_date
        )
        answer = TIStateResponse.model_validate(ti)
        if ti.state in ENDED:
            # Its ready downstream tasks are queued now, not on the scheduler's next pass. (A retry
            # waits for its delay: the passes queue it.)
            await after_attempt_ended(runtime, conn, ti.dag_run_id, ti.dag_version_id, ti.task_id)
    return answer


async def store_logs(
    runtime: Runtime,
    claims: TaskClaims,
    task_instance_id: uuid.UUID,
    batch: LogBatch,
    *,
    when_running: Callable[[], None],
) -> LogBatchAccepted:
    """Store a batch of the token's attempt's lines; ``when_running`` runs first unless they come late."""
    # Lines of an attempt the server already ended (timed out, stopped by an operator) are stored
    # too, marked late (AddLateToLogRecords); released versions' descriptions stay as they were.
    async with runtime.autocommit.connect() as conn:
        accepted = await logs.append_logs(
            conn,
            claims,
            task_instance_id,
            [(line.timestamp, line.level, line.message, line.fields) for line in batch.lines],
            batch_id=batch.batch_id,
            max_bytes_per_attempt=runtime.settings.log_max_bytes_per_attempt,
            when_running=when_running,
        )
    return LogBatchAccepted(accepted=accepted)


def claimed_workloads(claimed: list[workloads.Workload]) -> ClaimedWorkloads:
    """The answer to a claim: each workload with its task and its workload token."""
    return ClaimedWorkloads(workloads=[_workload_model(w) for w in claimed])


def _workload_model(workload: workloads.Workload) -> ExecuteTaskWorkload:
    ti = workload.task_instance
    return ExecuteTaskWorkload(
        task_instance=_identity(ti),
        max_tries=ti.max_tries,
        dag_version_id=ti.dag_version_id,
        bundle_name=workload.bundle_name,
        runtime=workload.task.runtime,
        entry_point=workload.task.entry_point,
        queue=ti.queue,
        execution_timeout_seconds=workload.task.execution_timeout_seconds,
        token=workload.token,
    )
