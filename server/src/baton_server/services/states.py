"""The task instance and DAG run state machines: one table each, used by every writer.

Task instance life cycle::

    (none) ─► scheduled ─► queued ─► running ─► success | failed | skipped
                  ▲                     │
                  └── up_for_retry ◄────┘    upstream_failed: set by the scheduler instead of queueing

``try_number`` counts attempts: the scheduler increments it when it queues an attempt, and the
workload and task tokens carry it, so a token of an earlier attempt never acts on a later one.
``max_tries`` is the total number of attempts allowed (retries + 1).
"""

from __future__ import annotations

from enum import StrEnum


class TaskInstanceState(StrEnum):
    """Where a task instance is in its life cycle."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    UP_FOR_RETRY = "up_for_retry"
    UPSTREAM_FAILED = "upstream_failed"


class DagRunState(StrEnum):
    """Where a DAG run is in its life cycle."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


FINISHED_TI_STATES = frozenset(
    {
        TaskInstanceState.SUCCESS,
        TaskInstanceState.FAILED,
        TaskInstanceState.SKIPPED,
        TaskInstanceState.UPSTREAM_FAILED,
    }
)
"""States a task instance never leaves on its own."""

TASK_REPORTABLE_STATES = frozenset(
    {
        TaskInstanceState.SUCCESS,
        TaskInstanceState.FAILED,
        TaskInstanceState.SKIPPED,
        TaskInstanceState.UP_FOR_RETRY,
    }
)
"""States a running task may report through the execution API's ``state`` call."""

# Which (from, to) moves are legal, and who makes them. The execution API uses the "task" moves;
# the scheduler the others. Anything not listed is illegal.
TRANSITIONS: dict[tuple[TaskInstanceState | None, TaskInstanceState], str] = {
    (None, TaskInstanceState.SCHEDULED): "scheduler",
    (None, TaskInstanceState.UPSTREAM_FAILED): "scheduler",
    (None, TaskInstanceState.SKIPPED): "scheduler",
    (TaskInstanceState.SCHEDULED, TaskInstanceState.QUEUED): "scheduler",
    (TaskInstanceState.SCHEDULED, TaskInstanceState.UPSTREAM_FAILED): "scheduler",
    (TaskInstanceState.QUEUED, TaskInstanceState.RUNNING): "task",
    (TaskInstanceState.QUEUED, TaskInstanceState.UP_FOR_RETRY): "scheduler",
    (TaskInstanceState.QUEUED, TaskInstanceState.FAILED): "scheduler",
    (TaskInstanceState.QUEUED, TaskInstanceState.SCHEDULED): "scheduler",
    (TaskInstanceState.RUNNING, TaskInstanceState.SUCCESS): "task",
    (TaskInstanceState.RUNNING, TaskInstanceState.FAILED): "task",
    (TaskInstanceState.RUNNING, TaskInstanceState.SKIPPED): "task",
    (TaskInstanceState.RUNNING, TaskInstanceState.UP_FOR_RETRY): "task",
    (TaskInstanceState.UP_FOR_RETRY, TaskInstanceState.QUEUED): "scheduler",
    (TaskInstanceState.UP_FOR_RETRY, TaskInstanceState.SCHEDULED): "scheduler",
}


def can_transition(current: TaskInstanceState | None, target: TaskInstanceState, actor: str) -> bool:
    """Whether ``actor`` ("task" or "scheduler") may move a task instance from ``current`` to ``target``."""
    who = TRANSITIONS.get((current, target))
    if who is None:
        return False
    # The scheduler may also make the task's moves on its behalf (heartbeat timeouts, execution timeouts).
    return who == actor or actor == "scheduler"


def resolve_failure(try_number: int, max_tries: int) -> TaskInstanceState:
    """What a failed attempt becomes: up_for_retry while attempts remain, failed after the last."""
    return TaskInstanceState.UP_FOR_RETRY if try_number < max_tries else TaskInstanceState.FAILED
