"""Log upload route of the Task Execution API."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from baton_server.api.deps import AttemptDep, RuntimeDep, TaskSessionDep
from baton_server.api.schemas.execution import LogBatch, LogBatchAccepted
from baton_server.services import logs as service
from baton_server.services.task_instances import require_own

router = APIRouter(prefix="/task-instances", tags=["logs"])


@router.post(
    "/{task_instance_id}/logs",
    response_model=LogBatchAccepted,
    summary="Upload a batch of the running attempt's log lines",
)
async def upload_task_logs(
    task_instance_id: uuid.UUID,
    batch: LogBatch,
    attempt: AttemptDep,
    session: TaskSessionDep,
    runtime: RuntimeDep,
) -> LogBatchAccepted:
    """Store up to 1000 structured lines of the calling attempt, in order. Ship batches every few seconds."""
    require_own(attempt, task_instance_id)
    accepted = await service.append_logs(
        session,
        attempt,
        [(line.timestamp, line.level, line.message, line.fields) for line in batch.lines],
        batch_id=batch.batch_id,
        max_bytes_per_attempt=runtime.settings.log_max_bytes_per_attempt,
    )
    return LogBatchAccepted(accepted=accepted)
