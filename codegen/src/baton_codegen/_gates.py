"""The spec gates of CI: an OpenAPI linter and a breaking-change detector over every version's document.

- **Lint**: Redocly CLI (pinned in ``codegen/tools/node/package-lock.json``) with the ruleset
  ``codegen/tools/node/redocly.yaml`` on every ``spec/<version>.json``: zero problems, warnings
  included.
- **Breaking changes**: oasdiff (pinned in ``codegen/tools/oasdiff/go.mod``) between every two
  consecutive versions. Each finding must match an entry of a version change the newer version
  declares (``baton_server.api.versions.breaking``), and each entry must match a finding.

See docs/spec-gates.md.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton_codegen._generators import ROOT, GeneratorError, find_go

NODE_TOOLS = ROOT / "codegen" / "tools" / "node"
OASDIFF_TOOLS = ROOT / "codegen" / "tools" / "oasdiff"
SPEC_DIR = ROOT / "spec"


@dataclass
class GateReport:
    """What the gates found: lint problems per version, and breaking-change findings judged."""

    lint: dict[str, list[str]] = field(default_factory=dict)
    undeclared: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    declared: int = 0

    @property
    def passed(self) -> bool:
        """Whether every gate passed."""
        return not any(self.lint.values()) and not self.undeclared and not self.unmatched


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )


def _redocly() -> Path:
    """The pinned Redocly CLI, installed from the lock file when absent."""
    binary = NODE_TOOLS / "node_modules" / ".bin" / "redocly"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise GeneratorError("npm is required for the OpenAPI linter (Node 20+)")
        done = _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], NODE_TOOLS)
        if done.returncode != 0:
            raise GeneratorError(f"npm ci failed in {NODE_TOOLS}:\n{done.stdout}{done.stderr}")
    return binary


def lint(paths: Sequence[Path]) -> dict[str, list[str]]:
    """Version → the linter's problems (errors and warnings alike) in that document."""
    binary = _redocly()
    env = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_COLOR": "1"}
    problems: dict[str, list[str]] = {}
    for path in paths:
        args = [str(binary), "lint", str(path), "--config", str(NODE_TOOLS / "redocly.yaml"), "--format=json"]
        done = _run(args, NODE_TOOLS, env)
        try:
            report = json.loads(done.stdout[done.stdout.index("{") :])
        except ValueError as exc:
            raise GeneratorError(
                f"redocly lint gave no report for {path}:\n{done.stdout}{done.stderr}"
            ) from exc
        found = [
            f"{p.get('severity')} {p.get('ruleId')}: {p.get('message')} "
            f"({', '.join(loc.get('pointer', '') for loc in p.get('location', []))})"
            for p in report.get("problems", [])
        ]
        if done.returncode != 0 and not found:
            found = [f"redocly exited {done.returncode}: {done.stderr.strip()[-500:]}"]
        problems[path.stem] = found
    return problems


def breaking_findings(old: Path, new: Path) -> list[dict[str, Any]]:
    """oasdiff's breaking-change findings from one document to the next."""
    args = [find_go(), "tool", "oasdiff", "breaking", str(old), str(new), "--format", "json"]
    done = _run(args, OASDIFF_TOOLS, {"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"})
    if done.returncode != 0:
        raise GeneratorError(f"oasdiff failed on {old.name} → {new.name}:\n{done.stdout}{done.stderr}")
    findings: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return findings


def _matches(expected: Any, finding: dict[str, Any]) -> bool:
    return (
        fnmatch.fnmatchcase(str(finding.get("id")), expected.rule)
        and finding.get("operationId") in expected.operations
        and expected.mentions in str(finding.get("text", ""))
    )


def judge(version: str, findings: list[dict[str, Any]], report: GateReport) -> None:
    """Match one version's findings against the breaks its declared changes expect."""
    from baton_server.api.versions import VERSIONS
    from baton_server.api.versions.breaking import EXPECTED_BREAKS

    (declared,) = [v for v in VERSIONS.versions if str(v.value) == version]
    expected = [(change.__name__, e) for change in declared.changes for e in EXPECTED_BREAKS.get(change, ())]
    used: set[int] = set()
    for finding in findings:
        hits = [i for i, (_, e) in enumerate(expected) if _matches(e, finding)]
        if not hits:
            report.undeclared.append(
                f"{version}: {finding.get('id')} in {finding.get('operationId')}: {finding.get('text')}"
            )
        used.update(hits)
        report.declared += bool(hits)
    for index, (change, entry) in enumerate(expected):
        if index not in used:
            report.unmatched.append(
                f"{version}: {change} expects {entry.rule} ({entry.mentions}); none found"
            )


def run_gates(directory: Path = SPEC_DIR) -> GateReport:
    """Lint every version's document and judge the breaking changes between consecutive ones."""
    index = json.loads((directory / "versions.json").read_text())
    versions = [entry["version"] for entry in index["versions"]]
    report = GateReport(lint=lint([directory / f"{v}.json" for v in versions]))
    for old, new in itertools.pairwise(versions):
        judge(new, breaking_findings(directory / f"{old}.json", directory / f"{new}.json"), report)
    return report
