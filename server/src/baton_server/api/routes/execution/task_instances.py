"""Task instance routes: start, heartbeat, finish, and the run-time facts a task asks for."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from baton_server.api import links
from baton_server.api.deps import (
    AttemptDep,
    RuntimeDep,
    TaskClaimsDep,
    TaskSessionDep,
    hand_out_token,
    refresh_if_due,
)
from baton_server.api.schemas.execution import (
    DagRunInfo,
    PreviousSuccessfulRun,
    PreviousSuccessfulRunResponse,
    TaskInstanceIdentity,
    TaskStateCounts,
    TIHeartbeatPayload,
    TIRunContext,
    TIRunPayload,
    TIStatePayload,
    TIStateResponse,
)
from baton_server.scheduler import advance_run
from baton_server.services import task_instances as service
from baton_server.services.states import TaskInstanceState

ENDED = frozenset({TaskInstanceState.SUCCESS, TaskInstanceState.FAILED, TaskInstanceState.SKIPPED})
"""Final states after which a task instance's downstream may be ready."""

router = APIRouter(prefix="/task-instances", tags=["task-instances"])


@router.patch(
    "/{task_instance_id}/run",
    response_model=TIRunContext,
    responses=links.RUN_TASK_INSTANCE,
    summary="Start an attempt and get its run context",
    description=(
        "Takes the workload token. Answers with the run context and, in the `Refreshed-API-Token` header, "
        "the execution token every other call of this attempt must use. Repeating the call from the same "
        "host and pid replays the answer."
    ),
)
async def run_task_instance(
    task_instance_id: uuid.UUID,
    payload: TIRunPayload,
    claims: TaskClaimsDep,
    session: TaskSessionDep,
    runtime: RuntimeDep,
    request: Request,
) -> TIRunContext:
    started = await service.start_attempt(
        session,
        claims,
        task_instance_id,
        hostname=payload.hostname,
        pid=payload.pid,
        unix_user=payload.unix_user,
        start_date=payload.start_date,
    )
    ti, run, task = started.task_instance, started.dag_run, started.task_description
    hand_out_token(request, runtime.tokens.issue(ti.id, ti.try_number, "execution"))
    timeout = task.get("execution_timeout")
    return TIRunContext(
        task_instance=TaskInstanceIdentity(
            id=ti.id,
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            map_index=ti.map_index,
            try_number=ti.try_number,
        ),
        max_tries=ti.max_tries,
        dag_version_id=ti.dag_version_id,
        dag_run=DagRunInfo.model_validate(run),
        entry_point=task.get("entry_point"),
        execution_timeout_seconds=int(timeout) if isinstance(timeout, int | float) else None,
    )


@router.put(
    "/{task_instance_id}/heartbeat",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=links.HEARTBEAT_TASK_INSTANCE,
    summary="Say the running attempt is alive",
    description=(
        "409 when the host and pid do not match the running attempt, or the attempt is over: stop the task."
    ),
)
async def heartbeat_task_instance(
    task_instance_id: uuid.UUID,
    payload: TIHeartbeatPayload,
    claims: TaskClaimsDep,
    runtime: RuntimeDep,
    request: Request,
) -> None:
    async with runtime.autocommit.connect() as conn:
        await service.heartbeat(conn, claims, task_instance_id, hostname=payload.hostname, pid=payload.pid)
    refresh_if_due(request, runtime, claims)


@router.patch(
    "/{task_instance_id}/state",
    response_model=TIStateResponse,
    summary="Finish the attempt",
    description=(
        "Moves the running attempt to success, failed, skipped or up_for_retry (stored as failed when no "
        "attempt is left). Repeating the same call is harmless; any other change of a finished attempt "
        "is 409."
    ),
)
async def update_task_instance_state(
    task_instance_id: uuid.UUID,
    payload: TIStatePayload,
    claims: TaskClaimsDep,
    session: TaskSessionDep,
    runtime: RuntimeDep,
) -> TIStateResponse:
    ti = await service.finish_attempt(
        session, claims, task_instance_id, state=TaskInstanceState(payload.state), end_date=payload.end_date
    )
    answer = TIStateResponse.model_validate(ti)
    ended, run_pk, version_id, task_id = ti.state in ENDED, ti.dag_run_id, ti.dag_version_id, ti.task_id
    # The request's connection goes back to the pool first: advance_run takes one of its own, and a
    # request holding two at once starves the pool under load (every holder waits for a second).
    await session.close()
    if ended:
        # Its ready downstream tasks are queued now, not on the scheduler's next pass. (A retry waits
        # for its delay: the passes queue it.)
        await advance_run(runtime, run_pk, version_id=version_id, task_id=task_id)
    return answer


@router.get(
    "/{task_instance_id}/previous-successful-run",
    response_model=PreviousSuccessfulRunResponse,
    summary="The latest earlier DAG run in which this task succeeded",
)
async def get_previous_successful_run(
    task_instance_id: uuid.UUID, attempt: AttemptDep, session: TaskSessionDep
) -> PreviousSuccessfulRunResponse:
    """The latest earlier DAG run of this DAG in which the calling task succeeded, or null."""
    service.require_own(attempt, task_instance_id)
    previous = await service.previous_successful_run(session, attempt)
    return PreviousSuccessfulRunResponse(
        previous=None if previous is None else PreviousSuccessfulRun.model_validate(previous)
    )


@router.get(
    "/{task_instance_id}/task-state-counts",
    response_model=TaskStateCounts,
    summary="How many task instances of this DAG run are in each state",
)
async def get_task_state_counts(
    task_instance_id: uuid.UUID, attempt: AttemptDep, session: TaskSessionDep
) -> TaskStateCounts:
    """How many task instances of the caller's DAG run are in each state."""
    service.require_own(attempt, task_instance_id)
    counts = await service.task_state_counts(session, attempt)
    return TaskStateCounts(counts=counts, total=sum(counts.values()))
