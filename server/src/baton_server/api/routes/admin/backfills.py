"""Admin routes for backfills: runs of a scheduled DAG over a past date range, with a cap."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from baton_server.api.deps import AdminDep, RuntimeDep, SessionDep
from baton_server.api.schemas.backfills import Backfill, BackfillCreate, BackfillList
from baton_server.services import backfills as service
from baton_server.services.backfills import BackfillProgress
from baton_server.services.states import DagRunState

router = APIRouter(prefix="/dags/{dag_id}/backfills", tags=["admin"])


def _backfill(progress: BackfillProgress) -> Backfill:
    record, counts = progress.backfill, progress.runs_by_state
    return Backfill(
        id=record.id,
        dag_id=record.dag_id,
        from_date=record.from_date,
        to_date=record.to_date,
        max_active_runs=record.max_active_runs,
        reprocess_behavior=service.ReprocessBehavior(record.reprocess_behavior),
        state=service.BackfillState(record.state),
        total_intervals=record.total_intervals,
        runs_created=record.runs_created,
        intervals_skipped=record.intervals_skipped,
        next_logical_date=record.next_logical_date,
        queued_runs=counts.get(DagRunState.QUEUED.value, 0),
        running_runs=counts.get(DagRunState.RUNNING.value, 0),
        successful_runs=counts.get(DagRunState.SUCCESS.value, 0),
        failed_runs=counts.get(DagRunState.FAILED.value, 0),
        created_at=record.created_at,
        completed_at=record.completed_at,
    )


@router.post(
    "", response_model=Backfill, status_code=201, summary="Backfill a scheduled DAG over a date range"
)
async def create_backfill(
    dag_id: str, payload: BackfillCreate, session: SessionDep, runtime: RuntimeDep, _admin: AdminDep
) -> Backfill:
    """Start a backfill: the scheduler makes its runs, at most `max_active_runs` queued or running at once."""
    progress = await service.create_backfill(
        session,
        dag_id,
        from_date=payload.from_date,
        to_date=payload.to_date,
        max_active_runs=payload.max_active_runs,
        reprocess_behavior=payload.reprocess_behavior,
    )
    runtime.wakeups.scheduler.notify()  # this process's scheduler makes the first runs now
    return _backfill(progress)


@router.get("", response_model=BackfillList, summary="List a DAG's backfills, newest first")
async def list_backfills(dag_id: str, session: SessionDep, _admin: AdminDep) -> BackfillList:
    """The DAG's latest 100 backfills with their progress."""
    return BackfillList(backfills=[_backfill(p) for p in await service.list_backfills(session, dag_id)])


@router.get("/{backfill_id}", response_model=Backfill, summary="Show a backfill's progress")
async def get_backfill(
    dag_id: str, backfill_id: uuid.UUID, session: SessionDep, _admin: AdminDep
) -> Backfill:
    """One backfill with its runs counted by state."""
    return _backfill(await service.get_backfill(session, dag_id, backfill_id))
