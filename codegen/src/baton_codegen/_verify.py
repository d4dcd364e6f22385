"""Check that each client's hand-written layer builds over the generated code of every supported version.

The layers are written against the latest version, but the conformance suite runs the clients of
every version; a layer that used a field only the latest version has would break the old ones.
Only the client layers are version-neutral: the SDKs and workers built on them (Go's ``sdk``,
``bundle`` and ``worker`` packages, Java's ``sdk`` and ``worker`` modules) target the latest
version, as a released SDK targets the version it was generated for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from baton_codegen._generators import find_go, find_maven


def _check(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str | None:
    result = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    if result.returncode == 0:
        return None
    return (result.stdout + result.stderr).strip()[-3000:]


def _python(folder: Path, version: str) -> str | None:
    source = folder / "python" / "src"
    probe = (
        "import baton, baton.models, sys\n"
        f"assert baton.__file__.startswith({str(source)!r}), baton.__file__\n"
        f"assert baton.API_VERSION == {version!r}, baton.API_VERSION\n"
    )
    return _check([sys.executable, "-c", probe], folder, {"PYTHONPATH": str(source)})


def _go(folder: Path, version: str) -> str | None:
    # `go build` compiles the library, not its tests: those are written for the latest version.
    return _check([find_go(), "build", "./..."], folder / "go", {"GOTOOLCHAIN": "local"})


def _java(folder: Path, version: str) -> str | None:
    opts = " ".join(filter(None, [os.environ.get("MAVEN_OPTS"), "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"]))
    command = [find_maven(), "-B", "-q", "-pl", "client", "compile"]
    return _check(command, folder / "java", {"MAVEN_OPTS": opts})


_CHECKS = {"python": _python, "go": _go, "java": _java}


def build_problems(folder: Path, version: str, languages: Sequence[str]) -> list[str]:
    """Each language of a build folder whose hand-written layer fails to build, with the output."""
    problems = []
    for lang in languages:
        output = _CHECKS[lang](folder, version)
        if output is not None:
            problems.append(f"{lang} client of {version} does not build:\n{output}")
    return problems
