"""The compatibility report: ``docs/compatibility.md``, written by every local run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from baton_conformance._matrix import Cell
from baton_conformance._schemathesis import SchemathesisResult

NAMES = {"python": "Python", "go": "Go", "java": "Java"}


def _cell(cell: Cell | None) -> str:
    if cell is None:
        return "—"
    if cell.error is not None:
        return "❌ fail (did not run)"
    passed, total, skipped = cell.steps
    mark = "✅ pass" if cell.passed else "❌ fail"
    text = f"{mark}: {cell.scenarios_passed}/{len(cell.results)} scenarios, {passed}/{total} steps"
    return text + (f" ({skipped} skipped)" if skipped else "")


def render(
    versions: Sequence[str],
    languages: Sequence[str],
    cells: Sequence[Cell],
    schemathesis: Sequence[SchemathesisResult],
    server_cap: str | None,
) -> str:
    """The report's Markdown."""
    served = {(c.language, c.version): c for c in cells if c.mode == "served"}
    newer = [c for c in cells if c.mode == "newer_than_server"]
    lines = [
        "# Client compatibility",
        "",
        "Written by `scripts/nox -s conformance` (`baton-conformance run`); do not edit by hand.",
        "",
        "Each client language at each supported API version — the client generated for that version,",
        "unchanged — runs the language-neutral scenarios of `conformance/scenarios/` against the current",
        "server. Old clients must keep passing: that is the upgrade promise.",
        "",
        "| client | " + " | ".join(versions) + " |",
        "|---|" + "---|" * len(versions),
    ]
    for language in languages:
        row = [_cell(served.get((language, v))) for v in versions]
        lines.append(f"| {NAMES.get(language, language)} | " + " | ".join(row) + " |")
    if newer:
        lines += [
            "",
            "## A client newer than the server",
            "",
            f"A server that serves the versions up to {server_cap} (`BATON_MAX_API_VERSION`) and a client",
            'of a newer version: every call must fail with the client\'s "upgrade the server" error',
            "(`client_version_too_new`).",
            "",
            "| client | version | result |",
            "|---|---|---|",
        ]
        lines += [f"| {NAMES.get(c.language, c.language)} | {c.version} | {_cell(c)} |" for c in newer]
    if schemathesis:
        lines += [
            "",
            "## Schemathesis",
            "",
            "Every check, all four phases (examples, coverage, fuzzing, stateful), real credentials for",
            "each principal; configured in `conformance/src/baton_conformance/_schemathesis.py`.",
            "",
            "| version | operations tested | stateful links followed | result |",
            "|---|---|---|---|",
        ]
        for r in schemathesis:
            result = "✅ pass" if r.passed else f"❌ fail ({len(r.failures)} failures)"
            if r.error:
                result = "❌ did not run"
            lines.append(
                f"| {r.version} | {len(set(r.tested) & set(r.operations))}/{len(r.operations)} "
                f"| {r.links or 'none'} | {result} |"
            )
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> None:
    """Write the report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
