"""The clients of each API version, and the scenario runner of each language built over them.

``python -m baton_codegen generate`` writes complete Python, Go and Java clients of a version into
a folder; each runner under ``conformance/runners/<language>/`` is then built against that folder:
Python by import path, Go by a ``replace`` directive, Java by compiling the runner together with
the client's sources.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton_conformance._errors import SetupError

ROOT = Path(__file__).resolve().parents[3]
RUNNERS = ROOT / "conformance" / "runners"
LANGUAGES = ("python", "go", "java")
GO_CLIENT_MODULE = "github.com/baton-org/baton/clients/go"
RUN_TIMEOUT = 900
"""A bound on one runner's scenario, so that a hang still ends; generous for a loaded machine."""
BUILD_TIMEOUT = 1800
"""A bound on building one version's clients and runners (41 s on an idle machine)."""


@dataclass(frozen=True)
class Runner:
    """A built runner: the command that runs a plan (``command + [plan, transcript]``)."""

    language: str
    version: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)


def _tool(name: str, fallback: str | None = None) -> str:
    found = shutil.which(name) or (fallback if fallback and Path(fallback).exists() else None)
    if found is None:
        raise SetupError(f"{name} is required to build the {name} runner")
    return found


def _run(
    command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, what: str
) -> None:
    try:
        out = subprocess.run(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SetupError(f"{what}: no result within {BUILD_TIMEOUT} s") from None
    if out.returncode != 0:
        raise SetupError(f"{what} failed ({out.returncode}):\n{(out.stdout + out.stderr)[-4000:]}")


def generate_clients(version: str, out: Path) -> Path:
    """Generate the three clients of ``version`` into ``out`` (a fresh folder)."""
    if out.exists():
        shutil.rmtree(out)
    _run(
        [sys.executable, "-m", "baton_codegen", "generate", "--version", version, "--out", str(out)],
        cwd=ROOT,
        what=f"codegen {version}",
    )
    return out


def build_python(version: str, clients: Path) -> Runner:
    """The Python runner, importing the ``baton`` package of ``clients``."""
    source = clients / "python" / "src"
    if not (source / "baton").is_dir():
        raise SetupError(f"{source}: no Python client")
    return Runner(
        "python",
        version,
        [sys.executable, str(RUNNERS / "python" / "runner.py")],
        {"PYTHONPATH": str(source)},
    )


def build_go(version: str, clients: Path, work: Path) -> Runner:
    """The Go runner, built with the Go client of ``clients`` in place of the committed one."""
    go = _tool("go", "/usr/local/go/bin/go")
    folder = work / f"go-runner-{version}"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(RUNNERS / "go", folder)
    env = {"GOFLAGS": "-mod=mod"}
    _run(
        [go, "mod", "edit", f"-replace={GO_CLIENT_MODULE}={(clients / 'go').resolve()}"],
        cwd=folder,
        env=env,
        what="go mod edit",
    )
    binary = folder / "runner"
    _run([go, "build", "-o", str(binary), "."], cwd=folder, env=env, what=f"go build (runner {version})")
    return Runner("go", version, [str(binary)])


def java_classpath(work: Path) -> str:
    """The runtime classpath of the Java runner's dependencies (the same for every version)."""
    out = work / "java-classpath.txt"
    _run(
        [_tool("mvn"), "-B", "-q", "dependency:build-classpath", f"-Dmdep.outputFile={out}"],
        cwd=RUNNERS / "java",
        env={"MAVEN_OPTS": os.environ.get("MAVEN_OPTS", "")},
        what="mvn dependency:build-classpath",
    )
    return out.read_text().strip()


def build_java(version: str, clients: Path, work: Path, classpath: str) -> Runner:
    """The Java runner, compiled together with the Java client of ``clients``."""
    target = work / f"java-runner-{version}"
    _run(
        [
            _tool("mvn"),
            "-B",
            "-q",
            "compile",
            f"-Dbaton.client.dir={(clients / 'java' / 'client').resolve()}",
            f"-Drunner.build.dir={target}",
        ],
        cwd=RUNNERS / "java",
        what=f"mvn compile (runner {version})",
    )
    java = _tool("java")
    return Runner(
        "java",
        version,
        [java, "-cp", f"{target / 'classes'}{os.pathsep}{classpath}", "org.baton.conformance.Runner"],
    )


def run_plan(runner: Runner, plan: dict[str, Any], folder: Path, name: str) -> dict[str, Any]:
    """Run a plan; the runner's transcript (``SetupError`` when the runner itself fails)."""
    folder.mkdir(parents=True, exist_ok=True)
    plan_path = folder / f"{name}.plan.json"
    out_path = folder / f"{name}.transcript.json"
    plan_path.write_text(json.dumps(plan, indent=2))
    out_path.unlink(missing_ok=True)
    try:
        out = subprocess.run(
            [*runner.command, str(plan_path), str(out_path)],
            env={**os.environ, **runner.env},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SetupError(
            f"{runner.language} runner ({runner.version}): no result in {RUN_TIMEOUT} s"
        ) from None
    if out.returncode != 0 or not out_path.exists():
        raise SetupError(
            f"{runner.language} runner ({runner.version}) failed ({out.returncode}):\n"
            f"{(out.stdout + out.stderr)[-4000:]}"
        )
    transcript: dict[str, Any] = json.loads(out_path.read_text())
    return transcript
