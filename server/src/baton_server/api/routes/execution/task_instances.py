"""Task instance routes: start, heartbeat, finish, and the run-time facts a task asks for."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from baton_server.api import answers, links
from baton_server.api.deps import (
    AttemptDep,
    RuntimeDep,
    TaskClaimsDep,
    TaskConnectionDep,
    hand_out_token,
    refresh_if_due,
)
from baton_server.api.schemas.execution import (
    PreviousSuccessfulRun,
    PreviousSuccessfulRunResponse,
    TaskStateCounts,
    TIHeartbeatPayload,
    TIRunContext,
    TIRunPayload,
    TIStatePayload,
    TIStateResponse,
)
from baton_server.services import task_instances as service

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
    runtime: RuntimeDep,
    request: Request,
) -> TIRunContext:
    context, execution_token = await answers.start_attempt(runtime, claims, task_instance_id, payload)
    hand_out_token(request, execution_token)
    return context


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
        await service.heartbeat(
            conn,
            claims,
            task_instance_id,
            hostname=payload.hostname,
            pid=payload.pid,
            heartbeat_timeout=runtime.settings.heartbeat_timeout,
        )
    refresh_if_due(request, runtime, claims, within=runtime.settings.heartbeat_refresh_before)


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
    runtime: RuntimeDep,
) -> TIStateResponse:
    return await answers.finish_attempt(runtime, claims, task_instance_id, payload)


@router.get(
    "/{task_instance_id}/previous-successful-run",
    response_model=PreviousSuccessfulRunResponse,
    summary="The latest earlier DAG run in which this task succeeded",
)
async def get_previous_successful_run(
    task_instance_id: uuid.UUID, attempt: AttemptDep, db: TaskConnectionDep
) -> PreviousSuccessfulRunResponse:
    """The latest earlier DAG run of this DAG in which the calling task succeeded, or null."""
    service.require_own(attempt, task_instance_id)
    previous = await service.previous_successful_run(db, attempt)
    return PreviousSuccessfulRunResponse(
        previous=None if previous is None else PreviousSuccessfulRun.model_validate(previous)
    )


@router.get(
    "/{task_instance_id}/task-state-counts",
    response_model=TaskStateCounts,
    summary="How many task instances of this DAG run are in each state",
)
async def get_task_state_counts(
    task_instance_id: uuid.UUID, attempt: AttemptDep, db: TaskConnectionDep
) -> TaskStateCounts:
    """How many task instances of the caller's DAG run are in each state."""
    service.require_own(attempt, task_instance_id)
    counts = await service.task_state_counts(db, attempt)
    return TaskStateCounts(counts=counts, total=sum(counts.values()))
