"""Admin routes for the operator controls — clear, mark, cancel, delete — and their audit trail."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from baton_server.api.deps import AdminDep, SessionDep
from baton_server.api.routes._orchestration import dag_run_detail_model, task_instance_model
from baton_server.api.schemas.admin import TaskInstanceDetail
from baton_server.api.schemas.admin_controls import (
    AuditEvent,
    AuditEventList,
    ClearedTaskInstances,
    ClearTaskInstancePayload,
    DeletedDag,
    MarkStatePayload,
)
from baton_server.api.schemas.admin_orchestration import DagRunDetail
from baton_server.api.schemas.common import ID_PATTERN, MAX_DB_INT
from baton_server.services import audit, controls

router = APIRouter(tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT, description="Entries to skip.")]


@router.post(
    "/task-instances/{task_instance_id}/clear",
    response_model=ClearedTaskInstances,
    summary="Clear a task instance (and optionally its downstream) so it runs again with a new try",
)
async def clear_task_instance(
    task_instance_id: uuid.UUID, payload: ClearTaskInstancePayload, session: SessionDep, admin: AdminDep
) -> ClearedTaskInstances:
    """The task instance waits again; the scheduler queues a new try when its upstream tasks allow.

    A running attempt is told to stop at its next heartbeat (409); a finished run runs again.
    """
    cleared = await controls.clear_task_instance(
        session, audit.Actor.of(admin), task_instance_id, include_downstream=payload.include_downstream
    )
    first = cleared[0]
    return ClearedTaskInstances(
        dag_id=first.dag_id, run_id=first.run_id, task_instances=[task_instance_model(t) for t in cleared]
    )


@router.post(
    "/task-instances/{task_instance_id}/mark",
    response_model=TaskInstanceDetail,
    summary="Mark a task instance success or failed",
)
async def mark_task_instance(
    task_instance_id: uuid.UUID, payload: MarkStatePayload, session: SessionDep, admin: AdminDep
) -> TaskInstanceDetail:
    """Set the state by hand; a running attempt is told to stop, downstream tasks follow the new state."""
    ti = await controls.mark_task_instance(session, audit.Actor.of(admin), task_instance_id, payload.state)
    return TaskInstanceDetail.model_validate(ti)


@router.post(
    "/dags/{dag_id}/dag-runs/{run_id}/mark",
    response_model=DagRunDetail,
    summary="Mark a DAG run success or failed",
)
async def mark_dag_run(
    dag_id: str, run_id: str, payload: MarkStatePayload, session: SessionDep, admin: AdminDep
) -> DagRunDetail:
    """End the run in this state; unfinished task instances end too (success, or failed/skipped)."""
    detail = await controls.mark_dag_run(session, audit.Actor.of(admin), dag_id, run_id, payload.state)
    return dag_run_detail_model(detail)


@router.post(
    "/dags/{dag_id}/dag-runs/{run_id}/cancel",
    response_model=DagRunDetail,
    summary="Cancel a queued or running DAG run",
)
async def cancel_dag_run(dag_id: str, run_id: str, session: SessionDep, admin: AdminDep) -> DagRunDetail:
    """The run fails: running attempts are told to stop at their next heartbeat (409); the rest is skipped."""
    detail = await controls.cancel_dag_run(session, audit.Actor.of(admin), dag_id, run_id)
    return dag_run_detail_model(detail)


@router.delete(
    "/dags/{dag_id}",
    response_model=DeletedDag,
    summary="Delete a DAG with its runs, logs and XComs",
)
async def delete_dag(
    dag_id: str,
    session: SessionDep,
    admin: AdminDep,
    confirm: Annotated[
        str, Query(pattern=ID_PATTERN, max_length=250, description="The DAG id again: the deletion is final.")
    ],
) -> DeletedDag:
    """Delete the DAG, its versions, runs, task instances, logs and XComs; running attempts get 404."""
    deleted = await controls.delete_dag(session, audit.Actor.of(admin), dag_id, confirm=confirm)
    return DeletedDag(
        dag_id=deleted.dag_id,
        dag_runs=deleted.dag_runs,
        task_instances=deleted.task_instances,
        task_logs=deleted.task_logs,
        xcoms=deleted.xcoms,
        dag_versions=deleted.dag_versions,
    )


@router.get(
    "/audit-events",
    response_model=AuditEventList,
    summary="List the audit trail of operator controls, newest first",
)
async def list_audit_events(
    session: SessionDep,
    _admin: AdminDep,
    dag_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, max_length=250, description="Only controls on this DAG.")
    ] = None,
    action: Annotated[
        str | None, Query(pattern=r"^[a-z][a-z_]{0,49}$", description="Only this control (its operation id).")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AuditEventList:
    """Who did what, when, on which DAG, run or task instance."""
    events, total = await audit.list_events(session, dag_id=dag_id, action=action, limit=limit, offset=offset)
    return AuditEventList(audit_events=[AuditEvent.model_validate(e) for e in events], total=total)
