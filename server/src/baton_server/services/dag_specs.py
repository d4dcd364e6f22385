"""DAG descriptions as the server stores them: validated, canonical, hashed.

A worker describes its bundle's DAGs (never code); :func:`validate_dag` refuses a description
that could never run (duplicate task ids, unknown upstream ids, cycles, a bad schedule) with an
:class:`InvalidInputError` whose reason and message name the problem. The stored form
(:meth:`DagSpec.to_document`) is ours, not the wire's, so an API version change never rewrites
stored versions; its SHA-256 decides whether a registration makes a new DAG version.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from baton_server.errors import InvalidInputError
from baton_server.services.schedules import Schedule

DEFAULT_POOL = "default_pool"
"""The pool of every task that names none; it exists from the start, with no slot limit until set."""


class TriggerRule(StrEnum):
    """When a task may start, given the states of its upstream tasks."""

    ALL_SUCCESS = "all_success"
    ALL_DONE = "all_done"
    NONE_FAILED = "none_failed"


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One task of a DAG: where it runs, what it runs and what it waits for."""

    task_id: str
    entry_point: str
    upstream_task_ids: tuple[str, ...] = ()
    queue: str = "default"
    runtime: str = "python"
    """The runtime (language) of the workers that may claim the task: an open identifier."""
    retries: int = 0
    retry_delay_seconds: int = 300
    execution_timeout_seconds: int | None = None
    trigger_rule: TriggerRule = TriggerRule.ALL_SUCCESS
    pool: str = DEFAULT_POOL
    """The named pool whose slots the task takes while it is claimed or running."""
    pool_slots: int = 1

    @property
    def max_tries(self) -> int:
        """Total attempts allowed: the first one plus the retries."""
        return self.retries + 1

    def to_document(self) -> dict[str, Any]:
        """The stored JSON form."""
        doc: dict[str, Any] = {
            "task_id": self.task_id,
            "entry_point": self.entry_point,
            "upstream_task_ids": sorted(self.upstream_task_ids),
            "queue": self.queue,
            "runtime": self.runtime,
            "retries": self.retries,
            "retry_delay_seconds": self.retry_delay_seconds,
            "execution_timeout": self.execution_timeout_seconds,
            "trigger_rule": self.trigger_rule.value,
        }
        # Defaults are left out, so that descriptions stored before pools existed keep their hash.
        if self.pool != DEFAULT_POOL:
            doc["pool"] = self.pool
        if self.pool_slots != 1:
            doc["pool_slots"] = self.pool_slots
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> TaskSpec:
        """Rebuild from the stored JSON form."""
        return cls(
            task_id=doc["task_id"],
            entry_point=doc["entry_point"],
            upstream_task_ids=tuple(doc["upstream_task_ids"]),
            queue=doc["queue"],
            runtime=str(doc["runtime"]),
            retries=doc["retries"],
            retry_delay_seconds=doc["retry_delay_seconds"],
            execution_timeout_seconds=doc["execution_timeout"],
            trigger_rule=TriggerRule(doc["trigger_rule"]),
            pool=doc.get("pool", DEFAULT_POOL),
            pool_slots=doc.get("pool_slots", 1),
        )


@dataclass(frozen=True, slots=True)
class DagSpec:
    """A DAG as described by its bundle: tasks in the order given, and an optional schedule."""

    dag_id: str
    tasks: tuple[TaskSpec, ...]
    schedule: Schedule | None = None
    description: str | None = None
    max_active_runs: int | None = None
    """At most this many runs of the DAG are running at once (None: no limit)."""
    max_active_tasks: int | None = None
    """At most this many task instances of the DAG are claimed or running at once (None: no limit)."""
    catchup: bool = False
    """Whether every missed tick of the schedule gets a run (False: only the latest one)."""
    _by_id: dict[str, TaskSpec] = field(default_factory=dict, init=False, repr=False, compare=False)
    _upstream_ids: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    _order: list[TaskSpec] = field(default_factory=list, init=False, repr=False, compare=False)
    """The topological order, once computed (a spec never changes)."""

    def __post_init__(self) -> None:
        self._by_id.update({task.task_id: task for task in self.tasks})
        for task in self.tasks:
            self._upstream_ids.update(task.upstream_task_ids)

    def has_downstream(self, task_id: str) -> bool:
        """Whether some task of the DAG waits for the task with that id."""
        return task_id in self._upstream_ids

    def task(self, task_id: str) -> TaskSpec | None:
        """The task with that id, if the DAG has one."""
        return self._by_id.get(task_id)

    def to_document(self) -> dict[str, Any]:
        """The stored JSON form (tasks sorted by id, so that task order does not make a new version)."""
        doc: dict[str, Any] = {
            "dag_id": self.dag_id,
            "description": self.description,
            "schedule": self.schedule.to_document() if self.schedule else None,
            "tasks": [t.to_document() for t in sorted(self.tasks, key=lambda t: t.task_id)],
        }
        # Unset limits are left out, so that descriptions stored before them keep their hash.
        if self.max_active_runs is not None:
            doc["max_active_runs"] = self.max_active_runs
        if self.max_active_tasks is not None:
            doc["max_active_tasks"] = self.max_active_tasks
        if self.catchup:
            doc["catchup"] = True
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> DagSpec:
        """Rebuild from the stored JSON form."""
        schedule = doc.get("schedule")
        return cls(
            dag_id=doc["dag_id"],
            description=doc.get("description"),
            schedule=Schedule.from_document(schedule) if schedule else None,
            tasks=tuple(TaskSpec.from_document(t) for t in doc["tasks"]),
            max_active_runs=doc.get("max_active_runs"),
            max_active_tasks=doc.get("max_active_tasks"),
            catchup=bool(doc.get("catchup", False)),
        )

    def content_hash(self) -> str:
        """SHA-256 of the canonical stored form: equal descriptions hash alike."""
        canonical = json.dumps(self.to_document(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _find_cycle(dag: DagSpec) -> list[str] | None:
    """A cycle as task ids in run order (the first repeated at the end), or None."""
    upstream = {task.task_id: sorted(task.upstream_task_ids) for task in dag.tasks}
    done: set[str] = set()
    for root in sorted(upstream):
        if root in done:
            continue
        # Iterative depth-first search along upstream edges; `path` is the current chain.
        path = [root]
        on_path = {root}
        pending = [iter(upstream[root])]
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                pending.pop()
            elif nxt in on_path:
                cycle = [*path[path.index(nxt) :], nxt]
                cycle.reverse()
                return cycle
            elif nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                pending.append(iter(upstream[nxt]))
    return None


def validate_dag(dag: DagSpec) -> None:
    """Raise InvalidInputError naming the first problem that would keep the DAG from running."""
    seen: set[str] = set()
    for task in dag.tasks:
        if task.task_id in seen:
            raise InvalidInputError(
                f"DAG {dag.dag_id!r}: task id {task.task_id!r} appears more than once",
                reason="duplicate_task_id",
            )
        seen.add(task.task_id)
    for task in dag.tasks:
        for upstream in task.upstream_task_ids:
            if upstream not in seen:
                raise InvalidInputError(
                    f"DAG {dag.dag_id!r}: task {task.task_id!r} names an unknown upstream task {upstream!r}",
                    reason="unknown_upstream_task",
                )
        if len(set(task.upstream_task_ids)) != len(task.upstream_task_ids):
            raise InvalidInputError(
                f"DAG {dag.dag_id!r}: task {task.task_id!r} lists an upstream task more than once",
                reason="duplicate_upstream_task",
            )
    cycle = _find_cycle(dag)
    if cycle is not None:
        raise InvalidInputError(
            f"DAG {dag.dag_id!r}: tasks form a cycle: {' -> '.join(cycle)}", reason="dag_cycle"
        )
    if dag.schedule is not None:
        dag.schedule.validate(dag.dag_id)


def topological_order(dag: DagSpec) -> list[TaskSpec]:
    """The tasks with every task after all of its upstream tasks (ties broken by task id); computed once."""
    if not dag._order and dag.tasks:
        dag._order.extend(_topological_order(dag))
    return list(dag._order)


def _topological_order(dag: DagSpec) -> list[TaskSpec]:
    by_id = {t.task_id: t for t in dag.tasks}
    waiting_on = {t.task_id: len(set(t.upstream_task_ids)) for t in dag.tasks}
    downstream: dict[str, list[str]] = {t.task_id: [] for t in dag.tasks}
    for task in dag.tasks:
        for upstream in set(task.upstream_task_ids):
            downstream[upstream].append(task.task_id)
    ready = [task_id for task_id, count in waiting_on.items() if count == 0]
    heapq.heapify(ready)
    order: list[TaskSpec] = []
    while ready:
        task_id = heapq.heappop(ready)
        order.append(by_id[task_id])
        for child in downstream[task_id]:
            waiting_on[child] -= 1
            if waiting_on[child] == 0:
                heapq.heappush(ready, child)
    if len(order) != len(by_id):  # validate_dag refuses cycles; a stored DAG never gets here
        raise InvalidInputError(f"DAG {dag.dag_id!r} has a cycle", reason="dag_cycle")
    return order
