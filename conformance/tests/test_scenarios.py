"""The scenario files load, and plans and judgements behave as the scenario README says."""

from __future__ import annotations

import pytest
from baton_conformance._errors import ScenarioError
from baton_conformance._judge import contains, judge, plan_scenario
from baton_conformance._scenarios import load_scenarios, substitute


def test__scenario_files__load_and_cover_the_task_life_cycle() -> None:
    scenarios = {s.name: s for s in load_scenarios()}
    assert {"task_lifecycle", "error_paths", "server_too_old"} <= set(scenarios)
    actions = {step.action for step in scenarios["task_lifecycle"].steps}
    assert {"claim_workloads", "start", "heartbeat", "get_variable", "set_variable"} <= actions
    assert "get_connection" in actions
    assert {"push_xcom", "pull_xcom", "upload_logs", "finish"} <= actions


def test__plan__without_expired_token__skips_those_steps() -> None:
    errors = next(s for s in load_scenarios() if s.name == "error_paths")
    planned = plan_scenario(errors, "2026-09-01", {})
    assert planned.skipped == sum(step.token == "expired" for step in errors.steps)
    assert all("token" not in step for step in planned.wire_steps)


def test__judge__version_specific_expectations__old_client_must_not_see_new_names() -> None:
    lifecycle = next(s for s in load_scenarios() if s.name == "task_lifecycle")
    planned = plan_scenario(lifecycle, "2026-09-01", {})
    start = next(i for i, step in enumerate(planned.steps) if step.action == "start")
    transcript = [{"outcome": "ok", "result": {}} for _ in planned.steps]
    transcript[start] = {"outcome": "ok", "result": {"dag_version_id": "x"}}
    result = judge(planned, transcript, "2026-09-01")
    assert not result.passed
    assert any("start" in failure for failure in result.failures)


def test__contains__subset_and_json_numbers() -> None:
    assert contains({"a": {"b": 1}}, {"a": {"b": 1.0, "c": 2}, "d": 3})
    assert not contains({"a": [1]}, {"a": [1, 2]})
    assert not contains({"flag": True}, {"flag": 1})


def test__substitute__unknown_variable__is_an_error() -> None:
    assert substitute({"k": ["q_${unique}"]}, {"unique": "u1"}) == {"k": ["q_u1"]}
    with pytest.raises(ScenarioError):
        substitute("${nope}", {})
