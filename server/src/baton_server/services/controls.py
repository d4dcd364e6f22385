"""Operator controls: clear, mark, cancel and delete — each audited in the same transaction.

A control changes the task instance rows directly; a running attempt learns about it at its next
heartbeat, which no longer matches a running row and answers ``409 task_instance_not_running``
(or ``404`` once its DAG is deleted), and its worker stops the task. On PostgreSQL a control first
takes the scheduler's pass lock (waiting for a pass under way, holding the next one off until it
commits), so that a pass never judges a run from states a control is changing; a task's own calls
are conditional writes and change either the state before the control or nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import case, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import (
    BackfillRecord,
    DagRecord,
    DagRunRecord,
    DagVersionRecord,
    TaskInstanceRecord,
    TaskLogRecord,
    XComRecord,
)
from baton_server.db.types import utcnow
from baton_server.errors import ConflictError, InvalidInputError, NotFoundError
from baton_server.scheduler.loop import LEADER_LOCK_KEY
from baton_server.services import audit
from baton_server.services._sql import is_postgres, rowcount
from baton_server.services.dag_runs import DagRunDetail, fewer_running_than, get_dag_run
from baton_server.services.dag_specs import DagSpec
from baton_server.services.dags import load_version_or_none
from baton_server.services.states import FINISHED_TI_STATES, DagRunState, TaskInstanceState

TI = TaskInstanceRecord
_FINISHED = [s.value for s in FINISHED_TI_STATES]
_FINISHED_RUN = (DagRunState.SUCCESS.value, DagRunState.FAILED.value)
_ATTEMPT_HELD = (TaskInstanceState.QUEUED.value, TaskInstanceState.RUNNING.value)
_HELD_BACK = (TaskInstanceState.FAILED.value, TaskInstanceState.UPSTREAM_FAILED.value)
"""What a task marked success sends back to waiting downstream of it (as Airflow does)."""


class MarkState(StrEnum):
    """The states an operator may mark a task instance or a DAG run with."""

    SUCCESS = "success"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeletedDag:
    """What deleting a DAG removed, row counts by kind."""

    dag_id: str
    dag_runs: int
    task_instances: int
    task_logs: int
    xcoms: int
    dag_versions: int


async def hold_scheduler(session: AsyncSession) -> None:
    """Wait for the scheduler pass under way and keep the next one off until this transaction ends."""
    if is_postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEADER_LOCK_KEY})


async def _hold_run_of(session: AsyncSession, task_instance_id: uuid.UUID) -> None:
    """Lock the run of a task instance before any of its task instances, in the order retention takes
    them (:mod:`baton_server.services.retention` locks the runs it deletes, skipping those held, then
    deletes their task instances): a clean skips the run while the control holds it, or has deleted it
    (404) by the time the control gets it. Changing the task instances first, a control waited for the
    run while the clean waited for them: a deadlock, which PostgreSQL broke by failing one of them."""
    run = await session.scalar(
        select(DagRunRecord.id)
        .join(TI, TI.dag_run_id == DagRunRecord.id)
        .where(TI.id == task_instance_id)
        .with_for_update(of=DagRunRecord, key_share=True)
    )
    if run is None:
        raise NotFoundError(
            f"task instance {task_instance_id} does not exist", reason="task_instance_not_found"
        )


async def _task_instance(session: AsyncSession, task_instance_id: uuid.UUID) -> TaskInstanceRecord:
    ti = await session.get(TI, task_instance_id, populate_existing=True)
    if ti is None:
        raise NotFoundError(
            f"task instance {task_instance_id} does not exist", reason="task_instance_not_found"
        )
    return ti


def downstream_of(spec: DagSpec, task_id: str) -> set[str]:
    """Every task that waits, directly or not, for ``task_id``."""
    found: set[str] = set()
    frontier = {task_id}
    while frontier:
        frontier = {
            t.task_id
            for t in spec.tasks
            if t.task_id not in found and frontier.intersection(t.upstream_task_ids)
        }
        found |= frontier
    return found


def _attempt_ended_by_hand(now: datetime) -> dict[str, Any]:
    """What a control writes of the attempt it ends or clears. A claim not started is taken back (its
    ``run`` is refused). A running attempt keeps its worker and is marked stopping: its process runs
    until its worker hears of the control (at its next heartbeat) and stops it, so it keeps its pool's
    slots and its place under its DAG's ``max_active_tasks``, and no new try is queued, until its worker
    no longer lists it among what it holds or its heartbeat deadline passes (``stopping_at``). Freed at
    once, the slot was claimed by another task while the old process still ran (the pool ran more than
    its slots). An attempt already stopping stays so."""
    running = TI.state == TaskInstanceState.RUNNING.value
    return {
        "worker_id": case((running | TI.stopping_at.is_not(None), TI.worker_id), else_=None),
        "stopping_at": case((running, now), else_=TI.stopping_at),
        "claimed_at": None,
    }


async def _reopen_run(session: AsyncSession, ti: TaskInstanceRecord) -> None:
    """Put a finished run back to running, so that the scheduler carries it on and judges it again;
    while its DAG's ``max_active_runs`` runs are running, back to queued instead: the scheduler starts
    it once one ends, as it does any queued run (a cleared run never runs beside them)."""
    limit = await session.scalar(select(DagRecord.max_active_runs).where(DagRecord.dag_id == ti.dag_id))
    state: Any = DagRunState.RUNNING.value
    if limit is not None:
        state = case(
            (fewer_running_than(ti.dag_id, limit), DagRunState.RUNNING.value), else_=DagRunState.QUEUED.value
        )
    await session.execute(
        update(DagRunRecord)
        .where(DagRunRecord.id == ti.dag_run_id, DagRunRecord.state.in_(_FINISHED_RUN))
        .values(state=state, end_date=None)
    )


async def _send_back(
    session: AsyncSession,
    dag_run_id: uuid.UUID,
    task_ids: set[str],
    spec: DagSpec | None,
    *,
    only: tuple[str, ...] | None = None,
) -> list[TaskInstanceRecord]:
    """Make these task instances of a run (those in the states ``only``, if given) wait again, each
    with its full retry budget for its next try; return them."""
    query = select(TI).where(TI.dag_run_id == dag_run_id, TI.task_id.in_(task_ids))
    if only is not None:
        query = query.where(TI.state.in_(only))
    rows = list(await session.scalars(query))
    now = utcnow()
    for row in rows:
        task = spec.task(row.task_id) if spec is not None else None
        budget = task.max_tries if task is not None else max(row.max_tries, 1)
        await session.execute(
            update(TI)
            .where(TI.id == row.id)
            .values(
                state=None,
                max_tries=TI.try_number + budget,
                end_date=None,
                next_attempt_at=None,
                **_attempt_ended_by_hand(now),
            )
            .execution_options(synchronize_session=False)
        )
    return rows


async def clear_task_instance(
    session: AsyncSession, actor: audit.Actor, task_instance_id: uuid.UUID, *, include_downstream: bool
) -> list[TaskInstanceRecord]:
    """Send a task instance (and optionally everything downstream of it) back to the scheduler.

    Each cleared task instance is waiting again (state null): the scheduler queues it as a new try
    once its upstream tasks allow, with its full retry budget. A running attempt is told to stop.
    """
    await hold_scheduler(session)
    await _hold_run_of(session, task_instance_id)
    ti = await _task_instance(session, task_instance_id)
    version = await load_version_or_none(session, ti.dag_version_id)
    task_ids = {ti.task_id}
    if include_downstream and version is not None:
        task_ids |= downstream_of(version.spec, ti.task_id)
    rows = await _send_back(session, ti.dag_run_id, task_ids, version.spec if version is not None else None)
    await _reopen_run(session, ti)
    audit.record(
        session,
        actor,
        "clear_task_instance",
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_instance_id=ti.id,
        details={"include_downstream": include_downstream, "cleared": sorted(r.task_id for r in rows)},
    )
    await session.commit()
    return list(
        await session.scalars(
            select(TI)
            .where(TI.id.in_([r.id for r in rows]))
            .order_by(TI.task_id, TI.map_index)
            .execution_options(populate_existing=True)
        )
    )


async def mark_task_instance(
    session: AsyncSession, actor: audit.Actor, task_instance_id: uuid.UUID, state: MarkState
) -> TaskInstanceRecord:
    """Set a task instance's state by hand; a running attempt is told to stop, the run carries on.

    Marked success, the task no longer holds back what it failed: its downstream task instances that
    are failed or upstream_failed wait again (as a clear would make them), and run if the rest allows.
    """
    await hold_scheduler(session)
    await _hold_run_of(session, task_instance_id)
    ti = await _task_instance(session, task_instance_id)
    previous = ti.state
    version = await load_version_or_none(session, ti.dag_version_id)
    now = utcnow()
    await session.execute(
        update(TI)
        .where(TI.id == task_instance_id)
        .values(state=state.value, end_date=now, next_attempt_at=None, **_attempt_ended_by_hand(now))
        .execution_options(synchronize_session=False)
    )
    details: dict[str, Any] = {"state": state.value, "previous_state": previous}
    if state is MarkState.SUCCESS and version is not None:
        downstream = downstream_of(version.spec, ti.task_id)
        resumed = await _send_back(session, ti.dag_run_id, downstream, version.spec, only=_HELD_BACK)
        if resumed:
            details["cleared"] = sorted(r.task_id for r in resumed)
    await _reopen_run(session, ti)
    audit.record(
        session,
        actor,
        "mark_task_instance",
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_instance_id=ti.id,
        details=details,
    )
    await session.commit()
    return await _task_instance(session, task_instance_id)


async def _finish_run(
    session: AsyncSession, run: DagRunRecord, state: DagRunState, now: datetime
) -> dict[str, int]:
    """End a run in ``state``; its unfinished task instances end with it (how many: by new state)."""
    if state is DagRunState.SUCCESS:
        target: Any = TaskInstanceState.SUCCESS.value
    else:
        # One statement, so that a task instance the scheduler queues meanwhile is caught either way.
        target = case(
            (TI.state.in_(_ATTEMPT_HELD), TaskInstanceState.FAILED.value),
            else_=TaskInstanceState.SKIPPED.value,
        )
    before = dict(
        (
            await session.execute(
                select(TI.id, TI.state).where(
                    TI.dag_run_id == run.id, TI.state.is_(None) | TI.state.not_in(_FINISHED)
                )
            )
        ).all()
    )
    await session.execute(
        update(TI)
        .where(TI.dag_run_id == run.id, TI.state.is_(None) | TI.state.not_in(_FINISHED))
        .values(state=target, end_date=now, next_attempt_at=None, **_attempt_ended_by_hand(now))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(DagRunRecord)
        .where(DagRunRecord.id == run.id)
        .values(state=state.value, end_date=now, start_date=run.start_date or now)
        .execution_options(synchronize_session=False)
    )
    counts: dict[str, int] = {}
    for previous in before.values():
        if state is DagRunState.SUCCESS:
            ended = TaskInstanceState.SUCCESS.value
        elif previous in _ATTEMPT_HELD:
            ended = TaskInstanceState.FAILED.value
        else:
            ended = TaskInstanceState.SKIPPED.value
        counts[ended] = counts.get(ended, 0) + 1
    return counts


async def mark_dag_run(
    session: AsyncSession, actor: audit.Actor, dag_id: str, run_id: str, state: MarkState
) -> DagRunDetail:
    """Set a run's state by hand; its unfinished task instances end with it (success, or failed/skipped)."""
    await hold_scheduler(session)
    run = (await get_dag_run(session, dag_id, run_id)).run
    previous = run.state
    counts = await _finish_run(session, run, DagRunState(state.value), utcnow())
    audit.record(
        session,
        actor,
        "mark_dag_run",
        dag_id=dag_id,
        run_id=run_id,
        details={"state": state.value, "previous_state": previous, "task_instances": counts},
    )
    await session.commit()
    session.expire_all()
    return await get_dag_run(session, dag_id, run_id)


async def cancel_dag_run(session: AsyncSession, actor: audit.Actor, dag_id: str, run_id: str) -> DagRunDetail:
    """Stop a queued or running run: it fails, its attempts are told to stop, the rest is skipped."""
    await hold_scheduler(session)
    run = (await get_dag_run(session, dag_id, run_id)).run
    if run.state in _FINISHED_RUN:
        raise ConflictError(
            f"DAG {dag_id!r} run {run_id!r} is {run.state}: only a queued or running run is cancelled",
            reason="dag_run_not_running",
        )
    previous = run.state
    counts = await _finish_run(session, run, DagRunState.FAILED, utcnow())
    audit.record(
        session,
        actor,
        "cancel_dag_run",
        dag_id=dag_id,
        run_id=run_id,
        details={"previous_state": previous, "task_instances": counts},
    )
    await session.commit()
    session.expire_all()
    return await get_dag_run(session, dag_id, run_id)


async def delete_dag(session: AsyncSession, actor: audit.Actor, dag_id: str, *, confirm: str) -> DeletedDag:
    """Delete a DAG with all its versions, runs, task instances, logs and XComs, once confirmed.

    ``confirm`` must repeat the DAG id. Running attempts of the DAG get 404 at their next heartbeat.
    A worker whose bundle still has the DAG registers it again, as a new DAG, when it next starts.
    """
    await hold_scheduler(session)
    # Its task instances before its row, in the order a claim takes them: a claim under the DAG's
    # max_active_tasks holds the candidates it read, then locks the DAG's row to count. Taking the
    # DAG's row first, the deletion waited for those candidates while the claim waited for the row: a
    # deadlock, which PostgreSQL broke by failing one of them (a 500). No task instance of the DAG is
    # made meanwhile: only the scheduler makes them, and it is held off. Counted, so that the ids of a
    # long history do not travel to the server.
    if is_postgres(session):
        held = select(TI.id).where(TI.dag_id == dag_id).with_for_update().subquery()
        await session.execute(select(func.count()).select_from(held))
    # Then the DAG's row: a run triggered, a backfill made or a version registered meanwhile waits for
    # the deletion (and then finds no DAG) instead of referring to rows it deletes.
    if await session.get(DagRecord, dag_id, with_for_update=True) is None:
        raise NotFoundError(f"no DAG {dag_id!r}", reason="dag_not_found")
    if confirm != dag_id:
        raise InvalidInputError(
            f"deleting DAG {dag_id!r} takes confirm={dag_id!r}: it deletes every run, log and XCom of it",
            reason="delete_not_confirmed",
        )
    ti_ids = select(TI.id).where(TI.dag_id == dag_id).scalar_subquery()
    logs = rowcount(
        await session.execute(delete(TaskLogRecord).where(TaskLogRecord.task_instance_id.in_(ti_ids)))
    )
    xcoms = rowcount(await session.execute(delete(XComRecord).where(XComRecord.dag_id == dag_id)))
    tis = rowcount(await session.execute(delete(TI).where(TI.dag_id == dag_id)))
    runs = rowcount(await session.execute(delete(DagRunRecord).where(DagRunRecord.dag_id == dag_id)))
    await session.execute(delete(BackfillRecord).where(BackfillRecord.dag_id == dag_id))
    await session.execute(update(DagRecord).where(DagRecord.dag_id == dag_id).values(latest_version_id=None))
    versions = rowcount(
        await session.execute(delete(DagVersionRecord).where(DagVersionRecord.dag_id == dag_id))
    )
    await session.execute(delete(DagRecord).where(DagRecord.dag_id == dag_id))
    deleted = DeletedDag(
        dag_id=dag_id, dag_runs=runs, task_instances=tis, task_logs=logs, xcoms=xcoms, dag_versions=versions
    )
    audit.record(
        session,
        actor,
        "delete_dag",
        dag_id=dag_id,
        details={
            "dag_runs": runs,
            "task_instances": tis,
            "task_logs": logs,
            "xcoms": xcoms,
            "dag_versions": versions,
        },
    )
    await session.commit()
    return deleted
