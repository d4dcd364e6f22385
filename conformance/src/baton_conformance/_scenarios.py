"""The language-neutral scenarios: load them, and turn them into one runner's plan.

The scenario files (``conformance/scenarios/*.yaml``, described in their README) say what to do
and what to expect. A runner gets a *plan*: the steps of the scenarios that apply to its client's
API version, with every ``${name}`` filled in, and without the expectations, which stay here to
judge its transcript (:mod:`baton_conformance._judge`). The runners then need no version logic
and no comparison code of their own: only the calls, in their language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from baton_conformance._errors import ScenarioError

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"

ACTIONS = frozenset(
    {
        "health",
        "register_worker",
        "register_dags",
        "trigger_dag_run",
        "set_connection",
        "claim_workloads",
        "start",
        "heartbeat",
        "get_variable",
        "set_variable",
        "get_connection",
        "push_xcom",
        "pull_xcom",
        "upload_logs",
        "finish",
    }
)
ERROR_KINDS = frozenset(
    {
        "bad_request",
        "version_mismatch",
        "server_too_old",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "payload_too_large",
        "invalid_request",
        "server_error",
        "transport",
    }
)
REQUIREMENTS = frozenset({"newer_than_server"})
_STEP_KEYS = frozenset({"action", "args", "token", "expect", "since", "until", "expect_by_version"})
_VAR = re.compile(r"\$\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Expectation:
    """What a step must give: a result holding ``result`` (and these keys present or absent), or an error."""

    result: Any = None
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    error: str | None = None
    status: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Step:
    """One call of a scenario."""

    action: str
    args: dict[str, Any]
    token: str | None
    expect: Expectation
    since: str | None
    until: str | None
    by_version: tuple[tuple[str | None, str | None, Expectation], ...]

    def applies_to(self, version: str) -> bool:
        """Whether a client of ``version`` runs this step."""
        return _in_range(version, self.since, self.until)

    def expectation_for(self, version: str) -> list[Expectation]:
        """Every expectation a client of ``version`` must meet at this step."""
        extra = [e for since, until, e in self.by_version if _in_range(version, since, until)]
        return [self.expect, *extra]


@dataclass(frozen=True)
class Scenario:
    """A named sequence of steps from one file."""

    name: str
    description: str
    path: Path
    steps: tuple[Step, ...]
    requires: frozenset[str] = field(default_factory=frozenset)


def _in_range(version: str, since: str | None, until: str | None) -> bool:
    return (since is None or version >= since) and (until is None or version <= until)


def _expectation(raw: Any, where: str) -> Expectation:
    if raw is None or raw == "ok":
        return Expectation()
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expect must be 'ok' or a mapping")
    unknown = set(raw) - {"result", "present", "absent", "error", "status", "reason", "since", "until"}
    if unknown:
        raise ScenarioError(f"{where}: unknown expect keys {sorted(unknown)}")
    error = raw.get("error")
    if error is not None and error not in ERROR_KINDS:
        raise ScenarioError(f"{where}: unknown error kind {error!r}; one of {sorted(ERROR_KINDS)}")
    if error is not None and "result" in raw:
        raise ScenarioError(f"{where}: an expectation is a result or an error, not both")
    return Expectation(
        result=raw.get("result"),
        present=tuple(raw.get("present", ())),
        absent=tuple(raw.get("absent", ())),
        error=error,
        status=raw.get("status"),
        reason=raw.get("reason"),
    )


def _step(raw: Any, where: str) -> Step:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a step is a mapping")
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
    action = raw.get("action")
    if action not in ACTIONS:
        raise ScenarioError(f"{where}: unknown action {action!r}; one of {sorted(ACTIONS)}")
    token = raw.get("token")
    if token not in (None, "expired"):
        raise ScenarioError(f"{where}: token must be 'expired' when given")
    by_version = tuple(
        (entry.get("since"), entry.get("until"), _expectation(entry, f"{where}.expect_by_version[{i}]"))
        for i, entry in enumerate(raw.get("expect_by_version", ()))
    )
    return Step(
        action=action,
        args=dict(raw.get("args") or {}),
        token=token,
        expect=_expectation(raw.get("expect"), where),
        since=raw.get("since"),
        until=raw.get("until"),
        by_version=by_version,
    )


def load_scenario(path: Path) -> Scenario:
    """One scenario file, checked."""
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list) or not raw.get("name"):
        raise ScenarioError(f"{path}: a scenario has a name and a list of steps")
    requires = frozenset(raw.get("requires", ()))
    if requires - REQUIREMENTS:
        raise ScenarioError(f"{path}: unknown requirements {sorted(requires - REQUIREMENTS)}")
    steps = tuple(_step(s, f"{path.name} step {i + 1}") for i, s in enumerate(raw["steps"]))
    return Scenario(
        name=str(raw["name"]),
        description=" ".join(str(raw.get("description", "")).split()),
        path=path,
        steps=steps,
        requires=requires,
    )


def load_scenarios(directory: Path = SCENARIO_DIR) -> list[Scenario]:
    """Every scenario of the folder, in file-name order."""
    scenarios = [load_scenario(p) for p in sorted(directory.glob("*.yaml"))]
    if not scenarios:
        raise ScenarioError(f"{directory}: no scenario files")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ScenarioError(f"{directory}: scenario names must be unique")
    return scenarios


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """``value`` with every ``${name}`` in its strings replaced; an unknown name is an error."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise ScenarioError(f"unknown variable ${{{name}}}")
            return variables[name]

        return _VAR.sub(replace, value)
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    return value


def uses_variable(step: Step, name: str) -> bool:
    """Whether the step needs ``${name}`` (directly, or through its token)."""
    if name == "expired_token" and step.token == "expired":  # noqa: S105 - a variable's name
        return True
    return f"${{{name}}}" in repr(step.args)
