"""Admin routes for a task instance's state and its logs."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from baton_server.api.deps import AdminDep, SessionDep
from baton_server.api.schemas.admin import LogPage, LogRecordOut, TaskInstanceDetail
from baton_server.api.schemas.common import MAX_DB_INT
from baton_server.db.tables import TaskInstanceRecord
from baton_server.errors import NotFoundError
from baton_server.services import logs as log_service

router = APIRouter(prefix="/task-instances", tags=["admin"])


@router.get(
    "/{task_instance_id}",
    response_model=TaskInstanceDetail,
    summary="Read a task instance's state and current attempt",
)
async def get_task_instance(
    task_instance_id: uuid.UUID, _: AdminDep, session: SessionDep
) -> TaskInstanceDetail:
    """The task instance's state and its current attempt: try, host, pid, heartbeat."""
    ti = await session.get(TaskInstanceRecord, task_instance_id)
    if ti is None:
        raise NotFoundError(
            f"task instance {task_instance_id} does not exist", reason="task_instance_not_found"
        )
    return TaskInstanceDetail.model_validate(ti)


@router.get(
    "/{task_instance_id}/logs",
    response_model=LogPage,
    summary="Read a page of one attempt's log lines, in order",
)
async def get_task_instance_logs(
    task_instance_id: uuid.UUID,
    _: AdminDep,
    session: SessionDep,
    try_number: Annotated[
        int | None, Query(ge=1, le=MAX_DB_INT, description="The attempt; default: the latest.")
    ] = None,
    after: Annotated[int, Query(ge=0, le=MAX_DB_INT, description="Only lines after this line id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> LogPage:
    """One attempt's log lines in the order they were emitted; page with `after` = `next_after`."""
    records, attempt = await log_service.read_logs(
        session, task_instance_id, try_number=try_number, after=after, limit=limit
    )
    lines = [LogRecordOut.model_validate(r) for r in records]
    return LogPage(
        task_instance_id=task_instance_id,
        try_number=attempt,
        lines=lines,
        next_after=lines[-1].id if len(lines) == limit else None,
    )
