"""Task logs: structured lines uploaded in batches per attempt, read back in order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import TaskInstanceRecord, TaskLogRecord
from baton_server.errors import NotFoundError
from baton_server.services._sql import insert_ignoring_conflicts
from baton_server.services.task_instances import Attempt


async def append_logs(
    session: AsyncSession,
    attempt: Attempt,
    lines: Sequence[tuple[datetime, str, str, dict[str, Any] | None]],
    *,
    batch_id: uuid.UUID | None = None,
    late: bool = False,
) -> int:
    """Store a batch of (timestamp, level, message, fields) lines for the caller's attempt.

    With a ``batch_id``, each line is keyed by (task instance, batch id, position): a batch sent
    again stores only the lines not stored yet, so a retried upload never duplicates a line.
    ``late`` marks lines that arrived after the server had ended the attempt.
    """
    rows = [
        {
            "task_instance_id": attempt.id,
            "try_number": attempt.try_number,
            "timestamp": timestamp,
            "level": level,
            "message": message,
            "fields": fields,
            "batch_id": batch_id,
            "batch_line": None if batch_id is None else position,
            "late": late,
        }
        for position, (timestamp, level, message, fields) in enumerate(lines)
    ]
    if batch_id is None:
        await session.execute(insert(TaskLogRecord), rows)
    else:
        # One statement: the batch is stored whole or not at all, even without a transaction.
        await session.execute(insert_ignoring_conflicts(session, TaskLogRecord, rows))
    await session.commit()
    return len(lines)


async def read_logs(
    session: AsyncSession, task_instance_id: uuid.UUID, *, try_number: int | None, after: int, limit: int
) -> tuple[list[TaskLogRecord], int]:
    """A page of log lines of one attempt (the latest when ``try_number`` is None), and the attempt read."""
    ti = await session.get(TaskInstanceRecord, task_instance_id)
    if ti is None:
        raise NotFoundError(
            f"task instance {task_instance_id} does not exist", reason="task_instance_not_found"
        )
    attempt = ti.try_number if try_number is None else try_number
    rows = await session.scalars(
        select(TaskLogRecord)
        .where(
            TaskLogRecord.task_instance_id == task_instance_id,
            TaskLogRecord.try_number == attempt,
            TaskLogRecord.id > after,
        )
        .order_by(TaskLogRecord.id)
        .limit(limit)
    )
    return list(rows.all()), attempt
