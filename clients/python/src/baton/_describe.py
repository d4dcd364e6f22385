"""What the worker tells the server about a DAG: its description (ids, dependencies, settings), never code.

A Python task's entry point is ``<module>:<dag_id>/<task_id>``: the module that defines the DAG
(importable with the bundle's folder on ``sys.path``), then the DAG and task ids. The worker
resolves a workload's entry point with :func:`parse_entry_point`; ids never contain ``:`` or ``/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from baton._dag import DAG
from baton._errors import BundleError, DagDefinitionError
from baton._generated.models import DagDescription, DagSchedule, TaskDescription
from baton._generated.types import UNSET
from baton._task import ExternalTask, TaskRef, to_seconds

PYTHON_RUNTIME: Literal["python"] = "python"


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """Where a task lives: the module defining its DAG, the DAG id and the task id."""

    module: str
    dag_id: str
    task_id: str

    def __str__(self) -> str:
        return f"{self.module}:{self.dag_id}/{self.task_id}"


def entry_point(ref: TaskRef) -> EntryPoint:
    """The entry point of a task use."""
    module = ref.dag.module
    if not module:
        raise DagDefinitionError(f"DAG {ref.dag.dag_id!r}: the module that defines it is unknown")
    return EntryPoint(module, ref.dag.dag_id, ref.task_id)


def parse_entry_point(text: str) -> EntryPoint:
    """The parts of ``<module>:<dag_id>/<task_id>``; BundleError for anything else."""
    module, colon, rest = text.rpartition(":")
    dag_id, slash, task_id = rest.partition("/")
    if not (colon and slash and module and dag_id and task_id) or "/" in task_id:
        raise BundleError(f"{text!r} is not a Python task entry point (<module>:<dag_id>/<task_id>)")
    return EntryPoint(module, dag_id, task_id)


def _schedule(dag: DAG) -> DagSchedule | None:
    if dag.schedule is None:
        if dag.start_at is not None:
            raise DagDefinitionError(f"DAG {dag.dag_id!r}: start_at needs a schedule")
        return None
    start_at = dag.start_at if dag.start_at is not None else UNSET
    if isinstance(dag.schedule, str):
        return DagSchedule(cron=dag.schedule, start_at=start_at)
    if isinstance(dag.schedule, timedelta | int) and not isinstance(dag.schedule, bool):
        seconds = to_seconds(f"DAG {dag.dag_id!r}: schedule interval", dag.schedule, minimum=1)
        return DagSchedule(interval_seconds=seconds, start_at=start_at)
    raise DagDefinitionError(
        f"DAG {dag.dag_id!r}: schedule must be a cron string or an interval, not {dag.schedule!r}"
    )


def _check_acyclic(dag: DAG) -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(task_id: str, path: list[str]) -> None:
        state[task_id] = 1
        for upstream in dag.tasks[task_id].upstream_task_ids:
            if state.get(upstream) == 1:
                cycle = [*path[path.index(upstream) :], upstream]
                raise DagDefinitionError(f"DAG {dag.dag_id!r}: tasks form a cycle: {' <- '.join(cycle)}")
            if upstream not in state:
                visit(upstream, [*path, upstream])
        state[task_id] = 2

    for task_id in dag.tasks:
        if task_id not in state:
            visit(task_id, [task_id])


def describe_task(dag: DAG, ref: TaskRef) -> TaskDescription:
    """The wire description of one task of ``dag``."""
    settings = dag.settings_of(ref)
    where = f"task {ref.task_id!r} of DAG {dag.dag_id!r}"
    retry_delay = to_seconds(f"{where}: retry_delay", settings.retry_delay, minimum=0)
    timeout = to_seconds(f"{where}: execution_timeout", settings.execution_timeout, minimum=1)
    runtime: str = PYTHON_RUNTIME
    target = str(entry_point(ref))
    if isinstance(ref.task, ExternalTask):
        target, runtime = ref.task.entry_point, ref.task.runtime
    return TaskDescription(
        task_id=ref.task_id,
        entry_point=target,
        runtime=runtime,
        upstream_task_ids=list(ref.upstream_task_ids),
        queue=settings.queue if settings.queue is not None else "default",
        retries=settings.retries if settings.retries is not None else 0,
        retry_delay_seconds=retry_delay if retry_delay is not None else 300,
        execution_timeout_seconds=timeout,
        trigger_rule=settings.trigger_rule if settings.trigger_rule is not None else "all_success",
        pool=settings.pool if settings.pool is not None else UNSET,
        pool_slots=settings.pool_slots if settings.pool_slots is not None else UNSET,
    )


def describe_dag(dag: DAG) -> DagDescription:
    """The wire description of a DAG; DagDefinitionError if it could never run."""
    if not dag.tasks:
        raise DagDefinitionError(f"DAG {dag.dag_id!r} has no tasks")
    for ref in dag.tasks.values():
        for upstream in ref.upstream_task_ids:
            if upstream not in dag.tasks:
                raise DagDefinitionError(
                    f"DAG {dag.dag_id!r}: task {ref.task_id!r} waits for {upstream!r}, not a task of the DAG"
                )
    _check_acyclic(dag)
    return DagDescription(
        dag_id=dag.dag_id,
        tasks=[describe_task(dag, ref) for ref in dag.tasks.values()],
        description=dag.description,
        schedule=_schedule(dag),
        max_active_runs=dag.max_active_runs if dag.max_active_runs is not None else UNSET,
        max_active_tasks=dag.max_active_tasks if dag.max_active_tasks is not None else UNSET,
        catchup=True if dag.catchup else UNSET,
    )


__all__ = [
    "PYTHON_RUNTIME",
    "EntryPoint",
    "describe_dag",
    "describe_task",
    "entry_point",
    "parse_entry_point",
]
