"""The task instance state machine, table-driven."""

from __future__ import annotations

import itertools

import pytest
from baton_server.services.states import (
    TASK_REPORTABLE_STATES,
    TRANSITIONS,
    TaskInstanceState,
    can_transition,
    resolve_failure,
)

S = TaskInstanceState
ALL: list[TaskInstanceState | None] = [None, *S]

# (from, to, who may): the whole legal table, written out so a change to it is a visible diff here.
EXPECTED = {
    (None, S.SCHEDULED, "scheduler"),
    (None, S.UPSTREAM_FAILED, "scheduler"),
    (None, S.SKIPPED, "scheduler"),
    (S.SCHEDULED, S.QUEUED, "scheduler"),
    (S.SCHEDULED, S.UPSTREAM_FAILED, "scheduler"),
    (S.QUEUED, S.RUNNING, "task"),
    (S.QUEUED, S.UP_FOR_RETRY, "scheduler"),
    (S.QUEUED, S.FAILED, "scheduler"),
    (S.QUEUED, S.SCHEDULED, "scheduler"),
    (S.RUNNING, S.SUCCESS, "task"),
    (S.RUNNING, S.FAILED, "task"),
    (S.RUNNING, S.SKIPPED, "task"),
    (S.RUNNING, S.UP_FOR_RETRY, "task"),
    (S.UP_FOR_RETRY, S.QUEUED, "scheduler"),
    (S.UP_FOR_RETRY, S.SCHEDULED, "scheduler"),
}


def test__transition_table__is_exactly_the_documented_one() -> None:
    assert {(a, b, who) for (a, b), who in TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize(("current", "target"), list(itertools.product(ALL, list(S))))
def test__can_transition__task_only_its_moves_scheduler_all(
    current: TaskInstanceState | None, target: TaskInstanceState
) -> None:
    who = TRANSITIONS.get((current, target))
    assert can_transition(current, target, "task") == (who == "task")
    assert can_transition(current, target, "scheduler") == (who is not None)


def test__task_reportable_states__are_terminal_or_retry() -> None:
    assert {S.SUCCESS, S.FAILED, S.SKIPPED, S.UP_FOR_RETRY} == TASK_REPORTABLE_STATES
    for state in TASK_REPORTABLE_STATES:
        assert can_transition(S.RUNNING, state, "task")


@pytest.mark.parametrize(
    ("try_number", "max_tries", "expected"),
    [(1, 1, S.FAILED), (1, 2, S.UP_FOR_RETRY), (2, 2, S.FAILED), (2, 3, S.UP_FOR_RETRY), (3, 3, S.FAILED)],
)
def test__resolve_failure__by_budget(try_number: int, max_tries: int, expected: TaskInstanceState) -> None:
    assert resolve_failure(try_number, max_tries) == expected
