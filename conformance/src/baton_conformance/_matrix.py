"""The compatibility matrix: every client language at every API version, against one server.

For each version, the three clients are generated, the runners built over them, and the
scenarios run. Clients of a version the server serves run the ordinary scenarios: old clients
must pass unchanged against today's server. Clients of a version newer than the server (the
local run caps a second server below the newest version with ``BATON_MAX_API_VERSION``) run the
scenarios that require it, and must say "upgrade the server".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from baton_conformance._errors import ConformanceError
from baton_conformance._judge import ScenarioResult, judge, plan_document, plan_scenario
from baton_conformance._runners import (
    Runner,
    build_go,
    build_java,
    build_python,
    generate_clients,
    java_classpath,
    run_plan,
)
from baton_conformance._scenarios import Scenario
from baton_conformance._server import Target, expired_task_token

Log = Callable[[str], None]


@dataclass
class Cell:
    """One client language at one API version against one server."""

    language: str
    version: str
    mode: str
    """``served`` (the server serves the version) or ``newer_than_server``."""
    results: list[ScenarioResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether the runner ran and every scenario passed."""
        return self.error is None and bool(self.results) and all(r.passed for r in self.results)

    @property
    def scenarios_passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def steps(self) -> tuple[int, int, int]:
        """(passed, total, skipped) steps over the cell's scenarios."""
        return (
            sum(r.steps_passed for r in self.results),
            sum(r.steps_total for r in self.results),
            sum(r.steps_skipped for r in self.results),
        )


@dataclass
class Builds:
    """The runners built for each (language, version), or why one could not be built."""

    runners: dict[tuple[str, str], Runner] = field(default_factory=dict)
    errors: dict[tuple[str, str], str] = field(default_factory=dict)


def build_all(versions: Sequence[str], languages: Sequence[str], work: Path, log: Log) -> Builds:
    """Generate each version's clients and build the runners over them (versions in parallel)."""
    builds = Builds()
    classpath = java_classpath(work) if "java" in languages else ""

    def one(version: str) -> None:
        started = time.monotonic()
        try:
            clients = generate_clients(version, work / "clients" / version)
        except ConformanceError as exc:
            for language in languages:
                builds.errors[(language, version)] = str(exc)
            return
        for language in languages:
            try:
                if language == "python":
                    runner = build_python(version, clients)
                elif language == "go":
                    runner = build_go(version, clients, work)
                else:
                    runner = build_java(version, clients, work, classpath)
                builds.runners[(language, version)] = runner
            except ConformanceError as exc:
                builds.errors[(language, version)] = str(exc)
        log(f"clients and runners of {version} built in {time.monotonic() - started:.0f} s")

    with ThreadPoolExecutor(max_workers=min(3, len(versions))) as pool:
        list(pool.map(one, versions))
    return builds


def run_cell(
    builds: Builds,
    language: str,
    version: str,
    scenarios: Sequence[Scenario],
    target: Target,
    mode: str,
    work: Path,
) -> Cell:
    """Run the scenarios of ``mode`` with one language's client of one version."""
    cell = Cell(language, version, mode)
    started = time.monotonic()
    key = (language, version)
    if key not in builds.runners:
        cell.error = builds.errors.get(key, "not built")
        return cell
    wanted = [s for s in scenarios if (mode == "newer_than_server") == ("newer_than_server" in s.requires)]
    variables = {"expired_token": expired_task_token(target.signing_key)} if target.signing_key else {}
    planned = [plan_scenario(s, version, variables) for s in wanted]
    document = plan_document(
        planned,
        base_url=target.base_url,
        admin_token=target.admin_token,
        worker_token=target.worker_token,
        version=version,
    )
    try:
        transcript = run_plan(builds.runners[key], document, work / "plans", f"{language}-{version}-{mode}")
    except ConformanceError as exc:
        cell.error = str(exc)
        return cell
    by_name = {s["name"]: s["steps"] for s in transcript.get("scenarios", [])}
    cell.results = [judge(p, by_name.get(p.scenario.name), version) for p in planned]
    cell.seconds = time.monotonic() - started
    return cell
