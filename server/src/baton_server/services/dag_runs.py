"""DAG runs: triggered by operators or made by the scheduler, each pinned to one DAG version.

A run is created ``queued``; the scheduler starts it (``running``, creating its task instances)
and completes it (``success`` or ``failed``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from baton_server.db.tables import DagRecord, DagRunRecord, TaskInstanceRecord
from baton_server.db.types import utcnow
from baton_server.errors import ConflictError, InvalidInputError, NotFoundError
from baton_server.services.dags import commit_unless_dag_gone
from baton_server.services.states import DagRunState


def fewer_running_than(dag_id: str, limit: int) -> ColumnElement[bool]:
    """Whether the DAG's running runs are fewer than ``limit`` (its ``max_active_runs``): a counting
    subquery, for the condition of the UPDATE that starts or reopens a run, so that the count and the
    change are one statement."""
    other = aliased(DagRunRecord)
    running = (
        select(func.count())
        .where(other.dag_id == dag_id, other.state == DagRunState.RUNNING.value)
        .scalar_subquery()
    )
    return running < limit


@dataclass(frozen=True, slots=True)
class DagRunDetail:
    """A run with its task instances."""

    run: DagRunRecord
    task_instances: list[TaskInstanceRecord]


def run_id_time(value: datetime) -> str:
    """A compact UTC timestamp for generated run ids: ``20261105T100000Z``.

    ISO 8601's basic format: no colons, so that a generated run id is an identifier like any
    other (the XCom routes take run ids in their path, with the identifier pattern).
    """
    text = value.strftime("%Y%m%dT%H%M%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


async def trigger_dag_run(
    session: AsyncSession,
    dag_id: str,
    *,
    conf: dict[str, Any],
    run_id: str | None = None,
    logical_date: datetime | None = None,
    now: datetime | None = None,
) -> DagRunRecord:
    """Create a manual run of the DAG's latest version, queued for the scheduler to start."""
    dag = await session.get(DagRecord, dag_id)
    if dag is None or dag.latest_version_id is None:
        raise NotFoundError(f"no DAG {dag_id!r}", reason="dag_not_found")
    now = now or utcnow()
    logical = logical_date or now
    if logical.tzinfo is None:
        raise InvalidInputError("logical_date must carry a time zone", reason="naive_datetime")
    run = DagRunRecord(
        dag_id=dag_id,
        run_id=run_id or f"manual__{run_id_time(now)}",
        dag_version_id=dag.latest_version_id,
        run_type="manual",
        state=DagRunState.QUEUED.value,
        logical_date=logical,
        data_interval_start=logical,
        data_interval_end=logical,
        conf=conf,
        queued_at=now,
    )
    session.add(run)
    try:
        await commit_unless_dag_gone(session, dag_id)
    except IntegrityError:
        raise ConflictError(
            f"DAG {dag_id!r} already has a run {run.run_id!r}", reason="dag_run_exists"
        ) from None
    return run


async def get_dag_run(session: AsyncSession, dag_id: str, run_id: str) -> DagRunDetail:
    """One run with its task instances in task order, or NotFoundError."""
    run = await session.scalar(
        select(DagRunRecord).where(DagRunRecord.dag_id == dag_id, DagRunRecord.run_id == run_id)
    )
    if run is None:
        raise NotFoundError(f"DAG {dag_id!r} has no run {run_id!r}", reason="dag_run_not_found")
    tis = await session.scalars(
        select(TaskInstanceRecord)
        .where(TaskInstanceRecord.dag_run_id == run.id)
        .order_by(TaskInstanceRecord.task_id, TaskInstanceRecord.map_index)
    )
    return DagRunDetail(run=run, task_instances=list(tis.all()))


async def list_dag_runs(
    session: AsyncSession,
    *,
    dag_id: str | None,
    state: DagRunState | None,
    limit: int,
    offset: int,
) -> tuple[list[DagRunRecord], int]:
    """A page of runs, newest first, with the total count under the same filters."""
    conditions = []
    if dag_id is not None:
        conditions.append(DagRunRecord.dag_id == dag_id)
    if state is not None:
        conditions.append(DagRunRecord.state == state.value)
    total = await session.scalar(select(func.count()).select_from(DagRunRecord).where(*conditions))
    runs = await session.scalars(
        select(DagRunRecord)
        .where(*conditions)
        .order_by(DagRunRecord.queued_at.desc(), DagRunRecord.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(runs.all()), int(total or 0)


async def latest_runs(session: AsyncSession, dag_ids: list[str]) -> dict[str, DagRunRecord]:
    """The newest run of each of these DAGs (by queue time), for the DAGs that have one."""
    if not dag_ids:
        return {}
    newest = (
        select(
            DagRunRecord.id,
            func.row_number()
            .over(
                partition_by=DagRunRecord.dag_id,
                order_by=(DagRunRecord.queued_at.desc(), DagRunRecord.id.desc()),
            )
            .label("position"),
        )
        .where(DagRunRecord.dag_id.in_(dag_ids))
        .subquery()
    )
    runs = await session.scalars(
        select(DagRunRecord).join(newest, newest.c.id == DagRunRecord.id).where(newest.c.position == 1)
    )
    return {run.dag_id: run for run in runs}


async def task_instances_of_runs(
    session: AsyncSession, dag_run_ids: list[uuid.UUID]
) -> list[TaskInstanceRecord]:
    """The task instances of these runs, in task order."""
    if not dag_run_ids:
        return []
    tis = await session.scalars(
        select(TaskInstanceRecord)
        .where(TaskInstanceRecord.dag_run_id.in_(dag_run_ids))
        .order_by(TaskInstanceRecord.task_id, TaskInstanceRecord.map_index)
    )
    return list(tis.all())
