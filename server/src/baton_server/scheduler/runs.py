"""Scheduler steps on DAG runs: make scheduled runs, start queued runs.

Every write is conditional on the state it read (``WHERE state = ...``, ``WHERE next_run_at =
...``), so two schedulers that do overlap (a lost leader lock, say) cannot both act on one row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from baton_server.db.tables import DagRecord, DagRunRecord, TaskInstanceRecord
from baton_server.db.types import new_id
from baton_server.services._sql import insert_ignoring_conflicts, is_postgres, rowcount
from baton_server.services.dag_runs import run_id_time
from baton_server.services.dags import load_version_or_none
from baton_server.services.states import DagRunState

BATCH = 200
"""Most rows of one kind a single pass takes on; the rest wait for the next pass."""

INSERT_CHUNK = 1000
"""Rows per multi-row INSERT: keeps a statement under the databases' bound-parameter limits."""


async def create_scheduled_runs(session: AsyncSession, now: datetime) -> int:
    """Make one run for each unpaused scheduled DAG that is due; return how many were made."""
    due = await session.execute(
        select(DagRecord.dag_id, DagRecord.next_run_at, DagRecord.latest_version_id)
        .where(
            DagRecord.next_run_at.is_not(None),
            DagRecord.next_run_at <= now,
            DagRecord.is_paused.is_(False),
            DagRecord.latest_version_id.is_not(None),
        )
        .order_by(DagRecord.next_run_at)
        .limit(BATCH)
    )
    created = 0
    for dag_id, next_run_at, version_id in list(due):
        assert next_run_at is not None
        assert version_id is not None
        version = await load_version_or_none(session, version_id)
        if version is None:
            continue
        schedule = version.spec.schedule
        tick = schedule.latest_tick(next_run_at, now) if schedule else None
        following = schedule.next_after(tick) if schedule and tick else None
        # Claim the tick: only the pass whose update moved next_run_at makes the run.
        claimed = await session.execute(
            update(DagRecord)
            .where(DagRecord.dag_id == dag_id, DagRecord.next_run_at == next_run_at)
            .values(next_run_at=following)
        )
        if rowcount(claimed) != 1 or schedule is None or tick is None:
            continue
        result = await session.execute(
            insert_ignoring_conflicts(
                session,
                DagRunRecord,
                {
                    "id": new_id(),
                    "dag_id": dag_id,
                    "run_id": f"scheduled__{run_id_time(tick)}",
                    "dag_version_id": version_id,
                    "run_type": "scheduled",
                    "state": DagRunState.QUEUED.value,
                    "logical_date": tick,
                    "data_interval_start": schedule.previous_before(tick),
                    "data_interval_end": tick,
                    "conf": {},
                    "queued_at": now,
                },
            )
        )
        created += rowcount(result)
    return created


async def start_queued_runs(session: AsyncSession, now: datetime) -> int:
    """Move queued runs to running and create their task instances; return how many started."""
    queued = await session.execute(
        select(DagRunRecord.id, DagRunRecord.dag_id, DagRunRecord.run_id, DagRunRecord.dag_version_id)
        .where(DagRunRecord.state == DagRunState.QUEUED.value)
        .order_by(DagRunRecord.queued_at, DagRunRecord.id)
        .limit(BATCH)
    )
    started = 0
    for run_pk, dag_id, run_id, version_id in list(queued):
        version = await load_version_or_none(session, version_id)
        if version is None:
            continue
        where = [DagRunRecord.id == run_pk, DagRunRecord.state == DagRunState.QUEUED.value]
        limit = version.spec.max_active_runs
        if limit is not None:
            if is_postgres(session):
                # Two schedulers that overlap count one after the other.
                await session.execute(
                    select(DagRecord.dag_id).where(DagRecord.dag_id == dag_id).with_for_update()
                )
            other = aliased(DagRunRecord)
            running = (
                select(func.count())
                .where(other.dag_id == dag_id, other.state == DagRunState.RUNNING.value)
                .scalar_subquery()
            )
            where.append(running < limit)
        moved = await session.execute(
            update(DagRunRecord).where(*where).values(state=DagRunState.RUNNING.value, start_date=now)
        )
        if rowcount(moved) != 1:
            continue
        rows = [
            {
                "id": new_id(),
                "dag_run_id": run_pk,
                "dag_id": dag_id,
                "run_id": run_id,
                "task_id": task.task_id,
                "map_index": -1,
                "dag_version_id": version_id,
                "state": None,
                "try_number": 0,
                "max_tries": task.max_tries,
                "queue": task.queue,
                "runtime": task.runtime,
                "pool": task.pool,
                "pool_slots": task.pool_slots,
                "updated_at": now,
            }
            for task in version.spec.tasks
        ]
        for chunk in range(0, len(rows), INSERT_CHUNK):
            part = rows[chunk : chunk + INSERT_CHUNK]
            await session.execute(insert_ignoring_conflicts(session, TaskInstanceRecord, part))
        started += 1
    return started
