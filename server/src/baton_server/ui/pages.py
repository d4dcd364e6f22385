"""The UI's pages and the fragments they poll: DAGs, a DAG's grid, a run, a task instance, workers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from baton_server.api.schemas.common import MAX_DB_INT
from baton_server.db.tables import TaskInstanceRecord
from baton_server.errors import NotFoundError
from baton_server.services import dag_runs, dags, workers
from baton_server.services.dag_specs import topological_order
from baton_server.services.states import DagRunState
from baton_server.ui.deps import OperatorDep, SessionDep, render
from baton_server.ui.views import build_grid, load_task_instance, read_log_chunk

router = APIRouter()

DAGS_PER_PAGE = 100
_ACTIVE_RUN_STATES = (DagRunState.QUEUED.value, DagRunState.RUNNING.value)

Page = Annotated[int, Query(ge=1, le=MAX_DB_INT)]


@router.get("/", response_class=HTMLResponse)
async def dags_page(
    request: Request, session: SessionDep, operator: OperatorDep, page: Page = 1
) -> HTMLResponse:
    """Every DAG with its latest run and whether it is paused."""
    summaries, total = await dags.list_dags(session, limit=DAGS_PER_PAGE, offset=(page - 1) * DAGS_PER_PAGE)
    latest = await dag_runs.latest_runs(session, [s.dag.dag_id for s in summaries])
    return render(
        request,
        "dags.html",
        operator,
        summaries=summaries,
        latest=latest,
        total=total,
        page=page,
        pages=max(1, -(-total // DAGS_PER_PAGE)),
    )


@router.get("/dags/{dag_id}", response_class=HTMLResponse)
async def dag_page(request: Request, dag_id: str, session: SessionDep, operator: OperatorDep) -> HTMLResponse:
    """A DAG's runs grid (polled), with its controls."""
    return render(request, "dag.html", operator, grid=await build_grid(session, dag_id))


@router.get("/dags/{dag_id}/grid", response_class=HTMLResponse)
async def dag_grid(request: Request, dag_id: str, session: SessionDep, operator: OperatorDep) -> HTMLResponse:
    """The grid alone, for the page's polling."""
    return render(request, "_grid.html", operator, grid=await build_grid(session, dag_id))


@router.get("/dags/{dag_id}/delete", response_class=HTMLResponse)
async def delete_dag_page(
    request: Request, dag_id: str, session: SessionDep, operator: OperatorDep
) -> HTMLResponse:
    """The confirmation step before a DAG is deleted."""
    summary = await dags.get_dag(session, dag_id)
    return render(request, "delete.html", operator, dag=summary.dag, error=None)


async def _run_context(session: SessionDep, dag_id: str, run_id: str) -> dict[str, Any]:
    detail = await dag_runs.get_dag_run(session, dag_id, run_id)
    version = await dags.load_version_or_none(session, detail.run.dag_version_id)
    order = {t.task_id: i for i, t in enumerate(topological_order(version.spec))} if version else {}
    upstream = {t.task_id: list(t.upstream_task_ids) for t in version.spec.tasks} if version else {}
    tis = sorted(
        detail.task_instances, key=lambda ti: (order.get(ti.task_id, len(order)), ti.task_id, ti.map_index)
    )
    return {
        "run": detail.run,
        "task_instances": tis,
        "upstream": upstream,
        "active": detail.run.state in _ACTIVE_RUN_STATES,
    }


@router.get("/dags/{dag_id}/runs/{run_id}", response_class=HTMLResponse)
async def run_page(
    request: Request, dag_id: str, run_id: str, session: SessionDep, operator: OperatorDep
) -> HTMLResponse:
    """A run's task instances in dependency order (polled), with the run's controls."""
    return render(request, "run.html", operator, **await _run_context(session, dag_id, run_id))


@router.get("/dags/{dag_id}/runs/{run_id}/tasks", response_class=HTMLResponse)
async def run_tasks(
    request: Request, dag_id: str, run_id: str, session: SessionDep, operator: OperatorDep
) -> HTMLResponse:
    """The run's state and task table alone, for the page's polling."""
    return render(request, "_run_tasks.html", operator, **await _run_context(session, dag_id, run_id))


TryNumber = Annotated[int | None, Query(alias="try", ge=1, le=MAX_DB_INT)]


async def _task_instance_and_try(
    session: SessionDep, task_instance_id: str, try_number: int | None
) -> tuple[TaskInstanceRecord, int]:
    """The task instance and the try to show (the latest unless asked); 404 for a try it never had."""
    ti = await load_task_instance(session, task_instance_id)
    if try_number is None:
        return ti, ti.try_number
    if try_number > ti.try_number:
        raise NotFoundError(f"task instance {ti.id} has no try {try_number}")
    return ti, try_number


@router.get("/task-instances/{task_instance_id}", response_class=HTMLResponse)
async def task_instance_page(
    request: Request,
    task_instance_id: str,
    session: SessionDep,
    operator: OperatorDep,
    try_number: TryNumber = None,
) -> HTMLResponse:
    """A task instance: its state, attempts and controls, and one attempt's log, followed while it runs."""
    ti, shown = await _task_instance_and_try(session, task_instance_id, try_number)
    chunk = await read_log_chunk(session, ti, shown, 0) if shown >= 1 else None
    return render(request, "task_instance.html", operator, ti=ti, shown=shown, chunk=chunk)


@router.get("/task-instances/{task_instance_id}/summary", response_class=HTMLResponse)
async def task_instance_summary(
    request: Request,
    task_instance_id: str,
    session: SessionDep,
    operator: OperatorDep,
    try_number: TryNumber = None,
) -> HTMLResponse:
    """The task instance's state and attempts alone, for the page's polling."""
    ti, shown = await _task_instance_and_try(session, task_instance_id, try_number)
    return render(request, "_ti_summary.html", operator, ti=ti, shown=shown)


@router.get("/task-instances/{task_instance_id}/logs", response_class=HTMLResponse)
async def task_instance_logs(
    request: Request,
    task_instance_id: str,
    session: SessionDep,
    operator: OperatorDep,
    try_number: Annotated[int, Query(alias="try", ge=1, le=MAX_DB_INT)],
    after: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> HTMLResponse:
    """The attempt's log lines after ``after``, and the poller for the next ones while it may get more."""
    ti = await load_task_instance(session, task_instance_id)
    chunk = await read_log_chunk(session, ti, try_number, after)
    return render(request, "_log_chunk.html", operator, ti=ti, chunk=chunk)


@router.get("/workers", response_class=HTMLResponse)
async def workers_page(request: Request, session: SessionDep, operator: OperatorDep) -> HTMLResponse:
    """Registered workers: queues, slots used and free, last heartbeat."""
    loads, total = await workers.list_workers(session, limit=1000, offset=0)
    return render(request, "workers.html", operator, loads=loads, total=total)
