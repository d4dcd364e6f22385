"""Task logs: structured lines uploaded in batches per attempt, read back in order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import TaskInstanceRecord, TaskLogRecord
from baton_server.errors import NotFoundError, PayloadTooLargeError
from baton_server.services._sql import insert_ignoring_conflicts, rowcount
from baton_server.services.task_instances import Attempt
from baton_server.services.tokens import MAX_TRY_NUMBER


def _text_bytes(lines: Sequence[tuple[datetime, str, str, dict[str, Any] | None]]) -> int:
    """What a batch counts against its attempt's cap: messages and fields as UTF-8 (compact JSON)."""
    return sum(
        len(message.encode()) + (len(json.dumps(fields, separators=(",", ":")).encode()) if fields else 0)
        for _, _, message, fields in lines
    )


async def _count_against_cap(session: AsyncSession, attempt: Attempt, size: int, cap: int) -> None:
    """Add ``size`` to the attempt's stored log bytes, or refuse with 413 when that would pass ``cap``.

    The count is kept for the latest try that shipped logs. Late lines of a try a newer one has
    replaced (a zombie's) are stored uncounted: counting them would restart the newer try's count.
    """
    ti = TaskInstanceRecord
    total = case((ti.log_bytes_try == attempt.try_number, ti.log_bytes + size), else_=size)
    result = await session.execute(
        update(ti)
        .where(ti.id == attempt.id, ti.log_bytes_try <= attempt.try_number, total <= cap)
        .values(log_bytes=total, log_bytes_try=attempt.try_number, updated_at=ti.updated_at)
    )
    if rowcount(result) == 0:
        counted_try = await session.scalar(select(ti.log_bytes_try).where(ti.id == attempt.id))
        if counted_try is not None and counted_try > attempt.try_number:
            return  # a replaced try's late lines
        raise PayloadTooLargeError(
            f"this batch ({size} bytes of log text) would take attempt {attempt.try_number} past its limit "
            f"of {cap} bytes (BATON_LOG_MAX_BYTES_PER_ATTEMPT); it was not stored: stop sending this "
            "attempt's logs",
            reason="log_limit_exceeded",
        )


async def _batch_stored(session: AsyncSession, attempt: Attempt, batch_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(TaskLogRecord.id)
        .where(TaskLogRecord.task_instance_id == attempt.id, TaskLogRecord.batch_id == batch_id)
        .limit(1)
    )
    return found is not None


async def append_logs(
    session: AsyncSession,
    attempt: Attempt,
    lines: Sequence[tuple[datetime, str, str, dict[str, Any] | None]],
    *,
    max_bytes_per_attempt: int,
    batch_id: uuid.UUID | None = None,
    late: bool = False,
) -> int:
    """Store a batch of (timestamp, level, message, fields) lines for the caller's attempt.

    With a ``batch_id``, each line is keyed by (task instance, batch id, position): a batch sent
    again stores only the lines not stored yet, so a retried upload never duplicates a line (and
    counts once against the attempt's cap). A batch that would take the attempt's log text past
    ``max_bytes_per_attempt`` is refused whole (413 ``log_limit_exceeded``). ``late`` marks lines that
    arrived after the server had ended the attempt.
    """
    if batch_id is not None and await _batch_stored(session, attempt, batch_id):
        return len(lines)  # sent again after its answer was lost: stored whole already
    await _count_against_cap(session, attempt, _text_bytes(lines), max_bytes_per_attempt)
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
    if attempt > MAX_TRY_NUMBER:
        return [], attempt  # no attempt has such a number (the column holds 32 bits)
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
