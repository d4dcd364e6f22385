"""The compatibility report: ``docs/compatibility.md``, written by every local run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from baton_conformance._capabilities import CAPABILITIES, TIERS, Declaration
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
    capabilities: Sequence[Declaration] = (),
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
    if capabilities:
        lines += ["", *_capability_lines(capabilities)]
    return "\n".join(lines) + "\n"


_MARKS = {"yes": "✅", "partial": "◐", "no": "—"}


def _capability_lines(declarations: Sequence[Declaration]) -> list[str]:
    lines = [
        "## SDK capabilities",
        "",
        "What each SDK declares it implements (`clients/<language>/capabilities.toml`) of the",
        "capability list of [the new-language SDK guide](new-language-sdk.md#capability-tiers):",
        "✅ yes, ◐ partial, — no.",
        "",
        "| tier | " + " | ".join(d.sdk for d in declarations) + " |",
        "|---|" + "---|" * len(declarations),
    ]
    for tier in TIERS:
        counts = [d.tier_counts(tier) for d in declarations]
        lines.append(f"| {tier} | " + " | ".join(f"{done}/{total}" for done, total in counts) + " |")
    lines += ["", "| capability | tier | " + " | ".join(d.sdk for d in declarations) + " |"]
    lines.append("|---|---|" + "---|" * len(declarations))
    for capability in CAPABILITIES:
        cells = []
        for declaration in declarations:
            status, note = declaration.statuses[capability.id]
            cells.append(f"{_MARKS[status]} {note}".strip())
        lines.append(f"| `{capability.id}` | {capability.tier} | " + " | ".join(cells) + " |")
    return lines


def write(path: Path, text: str) -> None:
    """Write the report at once: a reader beside the run (the docs' link check) never sees it half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text)
    os.replace(partial, path)
