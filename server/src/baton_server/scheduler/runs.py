"""Scheduler steps on DAG runs: make scheduled runs, start queued runs.

Every write is conditional on the state it read (``WHERE state = ...``, ``WHERE next_run_at =
...``), so two schedulers that do overlap (a lost leader lock, say) cannot both act on one row.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import DagRecord, DagRunRecord, TaskInstanceRecord
from baton_server.db.types import new_id
from baton_server.services import backfills
from baton_server.services._sql import insert_ignoring_conflicts, is_postgres, rowcount
from baton_server.services.dag_runs import fewer_running_than, run_id_time
from baton_server.services.dags import load_version_or_none
from baton_server.services.schedules import UNSCHEDULABLE, Schedule
from baton_server.services.states import DagRunState

log = logging.getLogger("baton_server.scheduler")

BATCH = 200
"""Most rows of one kind a single pass takes on; the rest wait for the next pass."""

CATCHUP_ACTIVE_RUNS = 16
"""Most queued and running runs a catchup keeps of a DAG without its own ``max_active_runs`` (Airflow's
default ``max_active_runs_per_dag``): a start years back makes its runs as these end, not all at once."""

INSERT_CHUNK = 1000
"""Rows per multi-row INSERT: keeps a statement under the databases' bound-parameter limits."""


def _due(now: datetime, *columns: Any) -> Select[Any]:
    """The unpaused scheduled DAGs due a run at ``now`` (at most :data:`BATCH`, the longest due first)."""
    return (
        select(*columns)
        .where(
            DagRecord.next_run_at.is_not(None),
            DagRecord.next_run_at <= now,
            DagRecord.is_paused.is_(False),
            DagRecord.latest_version_id.is_not(None),
        )
        .order_by(DagRecord.next_run_at)
        .limit(BATCH)
    )


async def lock_dags_of_pass(session: AsyncSession, now: datetime) -> frozenset[str] | None:
    """Lock, at once and in id order, the rows of every DAG whose row a pass writes or counts under: those
    due a scheduled run, those of running backfills (a run inserted takes its DAG's row too) and those
    whose ``max_active_runs`` its queued runs count against; their ids. None on SQLite, whose one writer
    orders everything.

    Claims lock the rows of the DAGs they count in id order (services/workloads.py). A pass that locked
    them step by step, each step in id order, did not lock them in id order altogether: holding the row
    of a DAG due a run, it waited for the row of a DAG of a queued run that a claim held while the claim
    waited for the first (a deadlock: PostgreSQL failed one side, the claim with a 500). The steps after
    this leave a DAG it did not lock to a later pass, or take it only if no one holds it.
    """
    if not is_postgres(session):
        return None
    queued_limited = (
        select(DagRunRecord.dag_id)
        .join(DagRecord, DagRecord.dag_id == DagRunRecord.dag_id)
        .where(DagRunRecord.state == DagRunState.QUEUED.value, DagRecord.max_active_runs.is_not(None))
    )
    wanted = union(_due(now, DagRecord.dag_id), backfills.running_backfill_dags(), queued_limited)
    locked = await session.scalars(
        select(DagRecord.dag_id)
        .where(DagRecord.dag_id.in_(select(wanted.subquery().c[0])))
        .order_by(DagRecord.dag_id)
        .with_for_update()
    )
    return frozenset(locked)


async def create_scheduled_runs(
    session: AsyncSession, now: datetime, *, held: frozenset[str] | None = None
) -> int:
    """Make the due runs of each unpaused scheduled DAG; return how many were made.

    Without catchup a DAG gets one run, for its latest passed tick. With catchup it gets one per
    passed tick, oldest first, while its queued and running runs are fewer than its
    ``max_active_runs`` (without one, :data:`CATCHUP_ACTIVE_RUNS`; the rest follow in later passes,
    as runs finish). With ``held`` (:func:`lock_dags_of_pass`), only those DAGs: one due since is left
    to the next pass.
    """
    due = await session.execute(
        _due(now, DagRecord.dag_id, DagRecord.next_run_at, DagRecord.latest_version_id)
    )
    created = 0
    # In id order, as claims lock the rows of the DAGs they count (services/workloads.py): each DAG's row
    # written here stays locked until the pass commits.
    for dag_id, next_run_at, version_id in sorted(due, key=lambda row: row[0]):
        if held is not None and dag_id not in held:
            continue
        assert next_run_at is not None
        assert version_id is not None
        try:
            created += await _make_due_runs(session, dag_id, version_id, next_run_at, now)
        except UNSCHEDULABLE as exc:  # one DAG's schedule must not fail the pass for every other DAG
            await _stop_scheduling(session, dag_id, exc)
    return created


async def _stop_scheduling(session: AsyncSession, dag_id: str, exc: Exception) -> None:
    """Take a DAG whose schedule has no next tick out of the scheduled runs, until it is registered again."""
    log.error(
        "DAG %r: its schedule has no next tick to compute (%s: %s): it makes no more scheduled runs until "
        "it is registered again",
        dag_id,
        type(exc).__name__,
        exc,
    )
    await session.execute(update(DagRecord).where(DagRecord.dag_id == dag_id).values(next_run_at=None))


async def _make_due_runs(
    session: AsyncSession, dag_id: str, version_id: uuid.UUID, next_run_at: datetime, now: datetime
) -> int:
    version = await load_version_or_none(session, version_id)
    if version is None:
        return 0
    spec = version.spec
    if spec.schedule is None or not spec.catchup:
        return await _make_tick_run(session, dag_id, version_id, spec.schedule, next_run_at, now)
    created = 0
    most = CATCHUP_ACTIVE_RUNS if spec.max_active_runs is None else spec.max_active_runs
    room = min(BATCH, most - await _active_runs(session, dag_id))
    due_at: datetime | None = next_run_at
    while room > 0 and due_at is not None and due_at <= now:
        made = await _make_tick_run(session, dag_id, version_id, spec.schedule, due_at, now, catchup=True)
        if made < 0:
            break
        created += made
        room -= 1
        due_at = spec.schedule.next_after(due_at)
    return created


async def _active_runs(session: AsyncSession, dag_id: str) -> int:
    active = (DagRunState.QUEUED.value, DagRunState.RUNNING.value)
    count = await session.scalar(
        select(func.count()).where(DagRunRecord.dag_id == dag_id, DagRunRecord.state.in_(active))
    )
    return int(count or 0)


async def _make_tick_run(
    session: AsyncSession,
    dag_id: str,
    version_id: uuid.UUID,
    schedule: Schedule | None,
    next_run_at: datetime,
    now: datetime,
    *,
    catchup: bool = False,
) -> int:
    """Claim the due tick (catchup) or the latest passed one and make its run: 1 made, 0 not, -1 lost."""
    tick = None
    if schedule is not None:
        tick = next_run_at if catchup else schedule.latest_tick(next_run_at, now)
    following = schedule.next_after(tick) if schedule and tick else None
    # Claim the tick: only the pass whose update moved next_run_at makes the run.
    claimed = await session.execute(
        update(DagRecord)
        .where(DagRecord.dag_id == dag_id, DagRecord.next_run_at == next_run_at)
        .values(next_run_at=following)
    )
    if rowcount(claimed) != 1:
        return -1
    if schedule is None or tick is None:
        return 0
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
    return rowcount(result)


async def start_queued_runs(
    session: AsyncSession, now: datetime, *, held: frozenset[str] | None = None
) -> int:
    """Move queued runs to running and create their task instances; return how many started.

    With ``held`` (the DAGs whose rows the pass locked first, :func:`lock_dags_of_pass`), a run of another
    DAG with ``max_active_runs`` (queued since) starts only if no one holds its DAG's row: waiting for it
    while holding those would lock out of id order.
    """
    queued = await session.execute(
        select(
            DagRunRecord.id,
            DagRunRecord.dag_id,
            DagRunRecord.run_id,
            DagRunRecord.dag_version_id,
            DagRecord.max_active_runs,
        )
        .join(DagRecord, DagRecord.dag_id == DagRunRecord.dag_id)
        .where(DagRunRecord.state == DagRunState.QUEUED.value)
        .order_by(DagRunRecord.queued_at, DagRunRecord.logical_date, DagRunRecord.id)
        .limit(BATCH)
    )
    queued_runs = list(queued)
    versions = {
        version_id: await load_version_or_none(session, version_id) for *_, version_id, _ in queued_runs
    }
    limited = {dag_id for _, dag_id, _, _, limit in queued_runs if limit is not None}
    counted = limited
    if limited and is_postgres(session):
        # Two schedulers that overlap count one after the other. Locked at once, in id order, as claims
        # lock the rows of the DAGs whose max_active_tasks they count (services/workloads.py): locked
        # run by run, in the queue's order, a pass holding one DAG's row waited for another's that a
        # claim held while the claim waited for the first (a deadlock: the claim answered 500).
        others = limited if held is None else limited - held
        lock = (
            select(DagRecord.dag_id)
            .where(DagRecord.dag_id.in_(sorted(others)))
            .order_by(DagRecord.dag_id)
            .with_for_update(skip_locked=held is not None)
        )
        taken = set(await session.scalars(lock)) if others else set()
        counted = (limited & held if held is not None else set()) | taken
    started = 0
    for run_pk, dag_id, run_id, version_id, limit in queued_runs:
        version = versions[version_id]
        if version is None or (limit is not None and dag_id not in counted):
            continue
        where = [DagRunRecord.id == run_pk, DagRunRecord.state == DagRunState.QUEUED.value]
        # The DAG's limit as it stands (its latest version's), not the one of the version a run was
        # queued with: a limit lowered by a new version holds for the runs already queued too.
        if limit is not None:
            where.append(fewer_running_than(dag_id, limit))
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
