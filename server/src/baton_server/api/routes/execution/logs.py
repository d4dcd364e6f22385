"""Log upload route of the Task Execution API."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from baton_server.api.deps import RuntimeDep, TaskClaimsDep, TaskSessionDep, refresh_if_due
from baton_server.api.schemas.execution import LogBatch, LogBatchAccepted
from baton_server.services import logs as service
from baton_server.services.task_instances import load_attempt_for_logs, require_own

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
    session: TaskSessionDep,
    runtime: RuntimeDep,
    request: Request,
) -> LogBatchAccepted:
    """Store up to 1000 structured lines of the calling attempt, in order. Ship batches every few seconds."""
    # Lines of an attempt the server already ended (timed out, stopped by an operator) are stored
    # too, marked late (AddLateToLogRecords); released versions' descriptions stay as they were.
    attempt, late = await load_attempt_for_logs(session, claims)
    require_own(attempt, task_instance_id)
    if not late:
        refresh_if_due(request, runtime, claims)
    accepted = await service.append_logs(
        session,
        attempt,
        [(line.timestamp, line.level, line.message, line.fields) for line in batch.lines],
        batch_id=batch.batch_id,
        max_bytes_per_attempt=runtime.settings.log_max_bytes_per_attempt,
        late=late,
    )
    return LogBatchAccepted(accepted=accepted)
