"""Admin routes for DAGs and DAG runs: list and show DAGs, pause them, trigger and inspect runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from baton_server.api import links
from baton_server.api.deps import AdminDep, RuntimeDep, SessionDep
from baton_server.api.routes._orchestration import (
    dag_model,
    dag_run_detail_model,
    dag_run_model,
    dag_summary_model,
)
from baton_server.api.schemas.admin_orchestration import (
    Dag,
    DagList,
    DagRun,
    DagRunDetail,
    DagRunList,
    TriggerDagRunPayload,
    UpdateDagPayload,
)
from baton_server.api.schemas.common import ID_PATTERN, MAX_DB_INT
from baton_server.services import dag_runs, dags
from baton_server.services.states import DagRunState

router = APIRouter(tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT, description="Entries to skip.")]


@router.get(
    "/dags",
    response_model=DagList,
    summary="List DAGs with their latest version",
)
async def list_dags(session: SessionDep, _admin: AdminDep, limit: Limit = 100, offset: Offset = 0) -> DagList:
    """A page of DAGs, by id."""
    summaries, total = await dags.list_dags(session, limit=limit, offset=offset)
    return DagList(dags=[dag_summary_model(s) for s in summaries], total=total)


@router.get(
    "/dags/{dag_id}",
    response_model=Dag,
    summary="Show a DAG with the tasks of its latest version",
)
async def get_dag(dag_id: str, session: SessionDep, _admin: AdminDep) -> Dag:
    """One DAG and its tasks."""
    return dag_model(await dags.get_dag(session, dag_id))


@router.patch(
    "/dags/{dag_id}",
    response_model=Dag,
    summary="Pause or unpause a DAG",
)
async def update_dag(dag_id: str, payload: UpdateDagPayload, session: SessionDep, _admin: AdminDep) -> Dag:
    """Change a DAG's settings."""
    return dag_model(await dags.set_paused(session, dag_id, paused=payload.is_paused))


@router.post(
    "/dags/{dag_id}/dag-runs",
    response_model=DagRun,
    status_code=201,
    summary="Trigger a run of a DAG's latest version",
    responses=links.TRIGGER_DAG_RUN,
)
async def trigger_dag_run(
    dag_id: str, payload: TriggerDagRunPayload, session: SessionDep, runtime: RuntimeDep, _admin: AdminDep
) -> DagRun:
    """Queue a manual run with its conf."""
    run = await dag_runs.trigger_dag_run(
        session, dag_id, conf=payload.conf, run_id=payload.run_id, logical_date=payload.logical_date
    )
    runtime.wakeups.scheduler.notify()  # this process's scheduler starts the run now
    return dag_run_model(run)


@router.get(
    "/dag-runs",
    response_model=DagRunList,
    summary="List DAG runs, newest first",
)
async def list_dag_runs(
    session: SessionDep,
    _admin: AdminDep,
    dag_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, max_length=250, description="Only this DAG's runs.")
    ] = None,
    state: Annotated[DagRunState | None, Query(description="Only runs in this state.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DagRunList:
    """A page of runs, optionally of one DAG and in one state."""
    runs, total = await dag_runs.list_dag_runs(
        session, dag_id=dag_id, state=state, limit=limit, offset=offset
    )
    return DagRunList(dag_runs=[dag_run_model(r) for r in runs], total=total)


@router.get(
    "/dags/{dag_id}/dag-runs/{run_id}",
    response_model=DagRunDetail,
    summary="Show a DAG run with its task instances",
)
async def get_dag_run(dag_id: str, run_id: str, session: SessionDep, _admin: AdminDep) -> DagRunDetail:
    """One run and its task instances."""
    return dag_run_detail_model(await dag_runs.get_dag_run(session, dag_id, run_id))
