"""Data retention: delete finished DAG runs older than a cutoff, with their task instances, logs and XComs.

Runs are deleted in batches, one transaction each, so that a large clean never holds long locks
on the tables the API writes to. Queued and running runs are never touched, however old; the
audit trail is kept.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from baton_server.db.tables import DagRunRecord, TaskInstanceRecord, TaskLogRecord, XComRecord
from baton_server.services._sql import rowcount
from baton_server.services.states import DagRunState

BATCH = 500
"""Runs deleted per transaction."""

MAX_DURATION = timedelta(days=36500)
"""The longest duration :func:`parse_duration` takes (a hundred years)."""
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``30d``, ``2w`` as a timedelta, else ValueError; a bare number is refused
    (read as seconds, a ``30`` meant as days would delete almost every finished run)."""
    match = _DURATION_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h, 15m or 90s")
    if not match.group(2):
        raise ValueError(f"{text!r} has no unit: say {match.group(1)}d for days (or h, m, s, w)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    # Longer would reach before the calendar's first year from now (an OverflowError, every clean).
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{text!r} is longer than {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


@dataclass(slots=True)
class CleanReport:
    """What a clean deleted, row counts by kind."""

    dag_runs: int = 0
    task_instances: int = 0
    task_logs: int = 0
    xcoms: int = 0


async def _clean_batch(session: AsyncSession, before: datetime, report: CleanReport) -> int:
    run_ids: list[uuid.UUID] = list(
        await session.scalars(
            select(DagRunRecord.id)
            .where(
                DagRunRecord.state.in_([DagRunState.SUCCESS.value, DagRunState.FAILED.value]),
                DagRunRecord.end_date < before,
            )
            .order_by(DagRunRecord.end_date)
            .limit(BATCH)
            # Locked until the batch commits: a control reopening one of these runs waits for us.
            .with_for_update(skip_locked=True)
        )
    )
    if not run_ids:
        return 0
    ti_ids = select(TaskInstanceRecord.id).where(TaskInstanceRecord.dag_run_id.in_(run_ids)).scalar_subquery()
    report.task_logs += rowcount(
        await session.execute(delete(TaskLogRecord).where(TaskLogRecord.task_instance_id.in_(ti_ids)))
    )
    report.xcoms += rowcount(
        await session.execute(delete(XComRecord).where(XComRecord.task_instance_id.in_(ti_ids)))
    )
    report.task_instances += rowcount(
        await session.execute(delete(TaskInstanceRecord).where(TaskInstanceRecord.dag_run_id.in_(run_ids)))
    )
    report.dag_runs += rowcount(
        await session.execute(delete(DagRunRecord).where(DagRunRecord.id.in_(run_ids)))
    )
    await session.commit()
    return len(run_ids)


async def clean(sessions: async_sessionmaker[AsyncSession], before: datetime) -> CleanReport:
    """Delete every run that finished before ``before``, with its task instances, logs and XComs."""
    report = CleanReport()
    while True:
        async with sessions() as session:
            if await _clean_batch(session, before, report) < BATCH:
                return report
