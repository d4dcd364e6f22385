"""Schedules and trigger rules: the pure functions under the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from baton_server.errors import InvalidInputError
from baton_server.scheduler.dependencies import Decision, decide, run_outcome
from baton_server.services.dag_specs import (
    DagSpec,
    TaskSpec,
    TriggerRule,
    topological_order,
    validate_dag,
)
from baton_server.services.schedules import Schedule
from baton_server.services.states import DagRunState

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


def test__interval_anchored_in_the_past__first_run_at_the_next_anchor_tick() -> None:
    schedule = Schedule(interval_seconds=600, start_at=NOW - timedelta(minutes=25))
    assert schedule.first_run_at(NOW) == NOW + timedelta(minutes=5)


def test__interval_without_anchor__first_run_one_interval_after_registration() -> None:
    assert Schedule(interval_seconds=60).first_run_at(NOW) == NOW + timedelta(seconds=60)


def test__cron_start_at_on_a_tick__that_tick_is_the_first_run() -> None:
    start = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)
    assert Schedule(cron="0 6 * * *", start_at=start).first_run_at(NOW) == start


def test__cron_after_downtime__latest_tick_and_the_next_one() -> None:
    schedule = Schedule(cron="0 * * * *")
    due = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    tick = schedule.latest_tick(due, NOW)
    assert tick == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert schedule.next_after(tick) == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    assert schedule.previous_before(tick) == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


def test__schedule_document__round_trips() -> None:
    schedule = Schedule(cron="*/5 * * * *", start_at=NOW)
    assert Schedule.from_document(schedule.to_document()) == schedule


@pytest.mark.parametrize(
    ("rule", "upstream", "expected"),
    [
        (TriggerRule.ALL_SUCCESS, ["success", "success"], Decision.RUN),
        (TriggerRule.ALL_SUCCESS, ["success", "running"], Decision.WAIT),
        (TriggerRule.ALL_SUCCESS, ["failed", "running"], Decision.UPSTREAM_FAILED),
        (TriggerRule.ALL_SUCCESS, ["upstream_failed"], Decision.UPSTREAM_FAILED),
        (TriggerRule.ALL_SUCCESS, ["success", "skipped"], Decision.SKIP),
        (TriggerRule.ALL_SUCCESS, ["up_for_retry"], Decision.WAIT),
        (TriggerRule.NONE_FAILED, ["success", "skipped"], Decision.RUN),
        (TriggerRule.NONE_FAILED, ["skipped", None], Decision.WAIT),
        (TriggerRule.NONE_FAILED, ["failed", None], Decision.UPSTREAM_FAILED),
        (TriggerRule.ALL_DONE, ["failed", "upstream_failed", "skipped"], Decision.RUN),
        (TriggerRule.ALL_DONE, ["failed", "queued"], Decision.WAIT),
        (TriggerRule.ALL_SUCCESS, [], Decision.RUN),
    ],
)
def test__decide__by_trigger_rule(rule: TriggerRule, upstream: list[str | None], expected: Decision) -> None:
    assert decide(rule, upstream) is expected


def _spec(*tasks: tuple[str, tuple[str, ...]]) -> DagSpec:
    return DagSpec(
        dag_id="d",
        tasks=tuple(
            TaskSpec(task_id=t, entry_point="m:f", upstream_task_ids=ups, runtime="python")
            for t, ups in tasks
        ),
    )


def test__run_outcome__follows_the_leaves() -> None:
    spec = _spec(("extract", ()), ("cleanup", ("extract",)))
    assert run_outcome(spec, {"extract": "failed", "cleanup": "success"}) is DagRunState.SUCCESS
    assert run_outcome(spec, {"extract": "success", "cleanup": "failed"}) is DagRunState.FAILED
    assert run_outcome(spec, {"extract": "success", "cleanup": "running"}) is None


def test__topological_order__upstream_first_ties_by_id() -> None:
    spec = _spec(("d", ("b", "c")), ("c", ("a",)), ("b", ("a",)), ("a", ()))
    assert [t.task_id for t in topological_order(spec)] == ["a", "b", "c", "d"]


def test__long_chain__cycle_found_without_recursion_limits() -> None:
    chain = [(f"t{i}", (f"t{i - 1}",) if i else (f"t{4999}",)) for i in range(5000)]
    with pytest.raises(InvalidInputError) as caught:
        validate_dag(_spec(*chain))
    assert caught.value.reason == "dag_cycle"
