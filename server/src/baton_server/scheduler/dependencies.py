"""Trigger rules and run outcomes as pure functions of task instance states.

| rule          | runs when                                  | otherwise                                   |
|---------------|--------------------------------------------|---------------------------------------------|
| all_success   | every upstream succeeded                   | upstream_failed as soon as one failed;       |
|               |                                            | skipped when all finished and one skipped   |
| none_failed   | every upstream finished, none failed       | upstream_failed as soon as one failed       |
| all_done      | every upstream finished, whatever the end  | —                                           |

A run's outcome follows its leaves (tasks nothing depends on), as in Airflow: once every task
instance has finished, the run failed if a leaf failed or was upstream_failed, else it succeeded.
A cleanup task with ``all_done`` at the end therefore decides the run's outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum

from baton_server.services.dag_specs import DagSpec, TriggerRule
from baton_server.services.states import FINISHED_TI_STATES, DagRunState, TaskInstanceState

_FAILED = frozenset({TaskInstanceState.FAILED, TaskInstanceState.UPSTREAM_FAILED})


class Decision(Enum):
    """What the scheduler does with a task instance that has not been scheduled yet."""

    WAIT = "wait"
    RUN = "run"
    UPSTREAM_FAILED = "upstream_failed"
    SKIP = "skip"


def _state(value: str | None) -> TaskInstanceState | None:
    return TaskInstanceState(value) if value is not None else None


def decide(rule: TriggerRule, upstream_states: Iterable[str | None]) -> Decision:
    """Whether a task whose upstream task instances are in these states may run now."""
    states = [_state(s) for s in upstream_states]
    finished = all(s in FINISHED_TI_STATES for s in states)
    if rule is TriggerRule.ALL_DONE:
        return Decision.RUN if finished else Decision.WAIT
    if any(s in _FAILED for s in states):
        return Decision.UPSTREAM_FAILED
    if not finished:
        return Decision.WAIT
    if rule is TriggerRule.ALL_SUCCESS and any(s is TaskInstanceState.SKIPPED for s in states):
        return Decision.SKIP
    return Decision.RUN


def run_outcome(dag: DagSpec, states: Mapping[str, str | None]) -> DagRunState | None:
    """The final state of a run whose task instances are in ``states`` (by task id), or None if unfinished."""
    if not all(_state(s) in FINISHED_TI_STATES for s in states.values()):
        return None
    downstream_of: set[str] = set()
    for task in dag.tasks:
        downstream_of.update(task.upstream_task_ids)
    leaves = [task.task_id for task in dag.tasks if task.task_id not in downstream_of]
    if any(_state(states.get(leaf)) in _FAILED for leaf in leaves):
        return DagRunState.FAILED
    return DagRunState.SUCCESS
