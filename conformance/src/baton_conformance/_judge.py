"""Plans for the runners, and the judgement of what they did.

A runner's transcript has one entry per planned step: ``{"outcome": "ok", "result": ...}`` or
``{"outcome": "error", "kind": ..., "status": ..., "reason": ..., "message": ...}``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from baton_conformance._scenarios import Expectation, Scenario, Step, substitute, uses_variable


@dataclass
class PlannedScenario:
    """A scenario as one runner gets it: the applicable steps, variables filled in."""

    scenario: Scenario
    steps: list[Step]
    wire_steps: list[dict[str, Any]]
    variables: dict[str, str]
    skipped: int = 0


@dataclass
class ScenarioResult:
    """How one runner did on one scenario."""

    name: str
    steps_total: int
    steps_passed: int
    steps_skipped: int
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every step met its expectation."""
        return not self.failures and self.steps_passed == self.steps_total


def plan_scenario(scenario: Scenario, version: str, variables: dict[str, str]) -> PlannedScenario:
    """The steps of ``scenario`` a client of ``version`` runs, with a fresh ``${unique}``."""
    values = {"unique": uuid.uuid4().hex[:12], **variables}
    steps: list[Step] = []
    wire: list[dict[str, Any]] = []
    skipped = 0
    for step in scenario.steps:
        if not step.applies_to(version):
            continue
        if any(uses_variable(step, name) and name not in values for name in ("expired_token",)):
            skipped += 1  # a deployment run without the signing key cannot make an expired token
            continue
        entry: dict[str, Any] = {"action": step.action, "args": substitute(step.args, values)}
        if step.token == "expired":  # noqa: S105 - the scenario's keyword, not a secret
            entry["token"] = values["expired_token"]
        steps.append(step)
        wire.append(entry)
    return PlannedScenario(scenario, steps, wire, values, skipped)


def plan_document(
    planned: list[PlannedScenario], *, base_url: str, admin_token: str, worker_token: str, version: str
) -> dict[str, Any]:
    """The JSON document a runner reads."""
    return {
        "base_url": base_url,
        "version": version,
        "admin_token": admin_token,
        "worker_token": worker_token,
        "scenarios": [{"name": p.scenario.name, "steps": p.wire_steps} for p in planned],
    }


def contains(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` holds ``expected``: mappings by subset, lists item by item, numbers by value."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and contains(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    return bool(expected == actual)


def _check(expectation: Expectation, entry: dict[str, Any], variables: dict[str, str]) -> str | None:
    outcome = entry.get("outcome")
    if expectation.error is not None:
        if outcome != "error":
            return f"expected a {expectation.error} error, got success: {_short(entry.get('result'))}"
        got = (entry.get("kind"), entry.get("status"), entry.get("reason"))
        if entry.get("kind") != expectation.error:
            return f"expected a {expectation.error} error, got {got}: {entry.get('message')}"
        if expectation.status is not None and entry.get("status") != expectation.status:
            return f"expected status {expectation.status}, got {got}"
        if expectation.reason is not None and entry.get("reason") != expectation.reason:
            return f"expected reason {expectation.reason}, got {got}"
        return None
    if outcome != "ok":
        return (
            f"expected success, got {entry.get('kind')} ({entry.get('status')} {entry.get('reason')}): "
            f"{entry.get('message')}"
        )
    result = entry.get("result")
    if expectation.result is not None:
        wanted = substitute(expectation.result, variables)
        if not contains(wanted, result):
            return f"result {_short(result)} does not contain {_short(wanted)}"
    for key in expectation.present:
        if not isinstance(result, dict) or key not in result:
            return f"result lacks {key!r}: {_short(result)}"
    for key in expectation.absent:
        if isinstance(result, dict) and key in result:
            return f"result has {key!r}, which this version does not know: {_short(result)}"
    return None


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def judge(planned: PlannedScenario, transcript: list[dict[str, Any]] | None, version: str) -> ScenarioResult:
    """Compare a runner's transcript of one scenario with the scenario's expectations."""
    result = ScenarioResult(
        name=planned.scenario.name,
        steps_total=len(planned.steps),
        steps_passed=0,
        steps_skipped=planned.skipped,
    )
    if transcript is None:
        result.failures.append("the runner reported nothing for this scenario")
        return result
    for index, step in enumerate(planned.steps):
        if index >= len(transcript):
            result.failures.append(f"step {index + 1} ({step.action}): not run")
            continue
        problems = [
            p for e in step.expectation_for(version) if (p := _check(e, transcript[index], planned.variables))
        ]
        if problems:
            result.failures.append(f"step {index + 1} ({step.action}): {problems[0]}")
        else:
            result.steps_passed += 1
    return result
