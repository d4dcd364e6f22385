"""Task logs: structured lines uploaded in batches per attempt, read back in order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Integer, Table, Update, Uuid, bindparam, case, exists, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from baton_server.db.direct import Direct
from baton_server.db.tables import TaskInstanceRecord, TaskLogRecord
from baton_server.errors import NotFoundError, PayloadTooLargeError
from baton_server.services._sql import insert_ignoring_conflicts, is_postgres
from baton_server.services.states import TaskInstanceState
from baton_server.services.task_instances import (
    load_attempt_for_logs,
    refused_once_gone,
    require_own,
    require_scope,
)
from baton_server.services.tokens import MAX_TRY_NUMBER, TaskClaims

LogLineValues = tuple[datetime, str, str, dict[str, Any] | None]
"""A line to store: (timestamp, level, message, structured fields)."""


def _text_bytes(lines: Sequence[LogLineValues]) -> int:
    """What a batch counts against its attempt's cap: messages and fields as UTF-8 (compact JSON)."""
    return sum(
        len(message.encode()) + (len(json.dumps(fields, separators=(",", ":")).encode()) if fields else 0)
        for _, _, message, fields in lines
    )


_TI = cast(Table, TaskInstanceRecord.__table__)
_LOGS = cast(Table, TaskLogRecord.__table__)


def _count_statement(*, new_batch_only: bool) -> Update:
    """Add a batch's size to its attempt's stored log bytes, unless that passes the cap; returns
    ``running``, whether the token's attempt still runs (if not, its lines come late).

    The count is kept for the latest try that shipped logs: a newer try restarts it. With
    ``new_batch_only``, a batch already stored (sent again) is not counted again.
    """
    ti = _TI.c
    size = bindparam("b_size", type_=BigInteger())
    attempt_try = bindparam("b_try", type_=Integer())
    total = case((ti.log_bytes_try == attempt_try, ti.log_bytes + size), else_=size)
    conditions = [
        ti.id == bindparam("b_id", type_=Uuid()),
        ti.log_bytes_try <= attempt_try,
        total <= bindparam("b_cap", type_=BigInteger()),
    ]
    if new_batch_only:
        stored = select(_LOGS.c.id).where(
            _LOGS.c.task_instance_id == bindparam("b_id", type_=Uuid()),
            _LOGS.c.batch_id == bindparam("b_batch", type_=Uuid()),
        )
        conditions.append(~exists(stored))
    running = (ti.state == TaskInstanceState.RUNNING.value) & (ti.try_number == attempt_try)
    return (
        _TI.update()
        .where(*conditions)
        .values(log_bytes=total, log_bytes_try=attempt_try, updated_at=ti.updated_at)
        .returning(running.label("running"))
    )


# Built once: constructing a statement costs more than executing it on the hot path.
_COUNT = Direct(_count_statement(new_batch_only=False))
_COUNT_NEW_BATCH = Direct(_count_statement(new_batch_only=True))
_LINE_COLUMNS = (
    "task_instance_id",
    "try_number",
    "timestamp",
    "level",
    "message",
    "fields",
    "batch_id",
    "batch_line",
    "late",
)
_LINE = {name: bindparam(f"l_{name}", type_=_LOGS.c[name].type) for name in _LINE_COLUMNS}
_INSERT_PG = Direct(postgresql.insert(_LOGS).values(_LINE))
_INSERT_NEW_PG = Direct(postgresql.insert(_LOGS).values(_LINE).on_conflict_do_nothing())
_COUNTED_TRY = Direct(select(_TI.c.log_bytes_try).where(_TI.c.id == bindparam("b_id")))
_BATCH_STORED = Direct(
    select(_LOGS.c.id)
    .where(_LOGS.c.task_instance_id == bindparam("b_id"), _LOGS.c.batch_id == bindparam("b_batch"))
    .limit(1)
)


async def append_logs(
    conn: AsyncConnection,
    claims: TaskClaims,
    task_instance_id: uuid.UUID,
    lines: Sequence[LogLineValues],
    *,
    max_bytes_per_attempt: int,
    batch_id: uuid.UUID | None = None,
    when_running: Callable[[], None] | None = None,
) -> int:
    """Store a batch of lines for the token's attempt of ``task_instance_id``; how many were taken.

    With a ``batch_id``, each line is keyed by (task instance, batch id, position): a batch sent
    again stores only the lines not stored yet, so a retried upload never duplicates a line (and
    counts once against the attempt's cap). A batch that would take the attempt's log text past
    ``max_bytes_per_attempt`` is refused whole (413 ``log_limit_exceeded``). Lines of an attempt the
    server already ended (a timeout, a control) are stored too, marked late, so the end of a stopped
    task's output is not lost; ``when_running`` is called only for an attempt that still runs. Only a
    task instance that no longer exists refuses them (401), and another's (403).

    A new batch within the cap is two statements: the count (which also finds that the batch is new
    and whether the attempt runs) and the insert. Only a batch that was not counted reads more, to
    tell why. ``conn`` autocommits, or its caller commits.
    """
    require_scope(claims, "execution")
    params = {
        "b_id": claims.task_instance_id,
        "b_try": claims.try_number,
        "b_size": _text_bytes(lines),
        "b_cap": max_bytes_per_attempt,
        "b_batch": batch_id,
    }
    counted = None
    if claims.task_instance_id == task_instance_id:  # another's lines are refused below, uncounted
        counted = await (_COUNT if batch_id is None else _COUNT_NEW_BATCH).first(conn, params)
    if counted is not None:
        late = not counted.running
    else:
        attempt, late = await load_attempt_for_logs(conn, claims)
        require_own(attempt, task_instance_id)
        if batch_id is not None and await _BATCH_STORED.first(conn, params) is not None:
            return len(lines)  # sent again after its answer was lost: stored whole already
        counted_try = await _COUNTED_TRY.scalar(conn, params)
        # Late lines of a try a newer one has replaced (a zombie's) are stored uncounted: counting
        # them would restart the newer try's count.
        if counted_try is None or counted_try <= claims.try_number:
            raise PayloadTooLargeError(
                f"this batch ({params['b_size']} bytes of log text) would take attempt {claims.try_number} "
                f"past its limit of {max_bytes_per_attempt} bytes (BATON_LOG_MAX_BYTES_PER_ATTEMPT); it "
                "was not stored: stop sending this attempt's logs",
                reason="log_limit_exceeded",
            )
    if not late and when_running is not None:
        when_running()
    rows = [
        {
            "task_instance_id": claims.task_instance_id,
            "try_number": claims.try_number,
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
    # The batch is stored whole or not at all, even without a transaction. On PostgreSQL, one
    # prebuilt INSERT run for every line (asyncpg's executemany is atomic, one round trip): a
    # multi-row VALUES statement cannot be cached, and compiling it again cost more than the insert.
    with refused_once_gone():
        if is_postgres(conn):
            await (_INSERT_PG if batch_id is None else _INSERT_NEW_PG).executemany(
                conn, [{f"l_{name}": value for name, value in row.items()} for row in rows]
            )
        elif batch_id is None:
            await conn.execute(_LOGS.insert().values(rows))
        else:
            await conn.execute(insert_ignoring_conflicts(conn, _LOGS, rows))
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
