"""Log upload route of the Task Execution API."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from baton_server.api import answers
from baton_server.api.deps import RuntimeDep, TaskClaimsDep, refresh_if_due
from baton_server.api.schemas.execution import LogBatch, LogBatchAccepted

router = APIRouter(prefix="/task-instances", tags=["logs"])


@router.post(
    "/{task_instance_id}/logs",
    response_model=LogBatchAccepted,
    summary="Upload a batch of the running attempt's log lines",
)
async def upload_task_logs(
    task_instance_id: uuid.UUID,
    batch: LogBatch,
    claims: TaskClaimsDep,
    runtime: RuntimeDep,
    request: Request,
) -> LogBatchAccepted:
    """Store up to 1000 structured lines of the calling attempt, in order. Ship batches every few seconds."""
    return await answers.store_logs(
        runtime,
        claims,
        task_instance_id,
        batch,
        when_running=lambda: refresh_if_due(request, runtime, claims),
    )
