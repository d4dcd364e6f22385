"""Emit the OpenAPI 3.1 document of every API version into ``spec/``, deterministically.

``python -m baton_server.spec write [DIR]`` writes ``<version>.json`` and ``versions.json``;
``python -m baton_server.spec check [DIR]`` fails when the committed files differ from what the
code emits, and says so loudly when a *released* version's document would change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from baton_server.api.versions import RELEASED_VERSIONS, supported_versions
from baton_server.config import Settings
from baton_server.spec_freeze import AMENDMENTS, released_problem

DEFAULT_DIR = Path(__file__).resolve().parents[3] / "spec"
VERSIONING_DOC = DEFAULT_DIR.parent / "docs" / "versioning.md"


def _normalise(document: dict[str, Any]) -> dict[str, Any]:
    # Paths and component schemas sorted by name: a route moved in the code does not move the file.
    document["paths"] = dict(sorted(document.get("paths", {}).items()))
    components = document.get("components", {})
    if "schemas" in components:
        components["schemas"] = dict(sorted(components["schemas"].items()))
    return document


async def _fetch_all(versions: Sequence[str]) -> dict[str, dict[str, Any]]:
    from baton_server.app import create_app

    # No lifespan runs: emitting the spec touches no database and needs no keys.
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", run_scheduler=False))
    documents: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://spec") as client:
        for version in versions:
            response = await client.get("/openapi.json", params={"version": version})
            response.raise_for_status()
            documents[version] = _normalise(response.json())
    return documents


def render_specs() -> dict[str, str]:
    """File name → exact file content, for every version plus ``versions.json``."""
    versions = supported_versions()
    documents = asyncio.run(_fetch_all(versions))
    files = {f"{v}.json": json.dumps(documents[v], indent=2, ensure_ascii=False) + "\n" for v in versions}
    index = {
        "latest": versions[-1],
        "versions": [{"version": v, "released": v in RELEASED_VERSIONS} for v in versions],
    }
    files["versions.json"] = json.dumps(index, indent=2) + "\n"
    return files


CHANGELOG_START = "<!-- changelog:start (written by `nox -s spec`; do not edit) -->"
CHANGELOG_END = "<!-- changelog:end -->"


def render_changelog() -> str:
    """The changelog of every version, newest first, from the version changes' docstrings."""
    from baton_server.api.versions import VERSIONS

    lines: list[str] = []
    for version in VERSIONS.versions:
        status = "released" if str(version.value) in RELEASED_VERSIONS else "unreleased"
        lines.append(f"### {version.value} ({status})")
        lines.append("")
        if not version.changes:
            oldest = version is VERSIONS.versions[-1]
            lines.append("- The first version of the API." if oldest else "- No changes yet.")
        for amendment in AMENDMENTS:
            if str(version.value) in amendment.documents:
                lines.append(
                    f"- **Amended {amendment.date}: {amendment.name}** (documentation only): "
                    + amendment.description
                )
        for change in version.changes:
            text = " ".join(
                line.strip() for line in (change.__doc__ or "").strip().splitlines() if line.strip()
            )
            lines.append(f"- **{change.__name__}**: {text}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _with_changelog(document: str) -> str:
    start, end = document.index(CHANGELOG_START), document.index(CHANGELOG_END)
    return document[: start + len(CHANGELOG_START)] + "\n\n" + render_changelog() + "\n" + document[end:]


def check(directory: Path) -> list[str]:
    """Problems between the committed spec files and what the code emits (empty when in sync)."""
    problems: list[str] = []
    expected = render_specs()
    for name, content in expected.items():
        path = directory / name
        version = name.removesuffix(".json")
        if version in RELEASED_VERSIONS:
            problem, _ = released_problem(version, path.read_text() if path.exists() else None, content)
            if problem is not None:
                problems.append(f"{path}: {problem}")
        elif not path.exists():
            problems.append(f"{path}: missing; run `nox -s spec`")
        elif path.read_text() != content:
            problems.append(f"{path}: differs from what the code emits; run `nox -s spec`")
    for path in sorted(directory.glob("*.json")):
        if path.name not in expected:
            problems.append(f"{path}: no such version in the code; remove it or restore the version")
    if directory == DEFAULT_DIR and VERSIONING_DOC.exists():
        text = VERSIONING_DOC.read_text()
        if text != _with_changelog(text):
            problems.append(
                f"{VERSIONING_DOC}: the changelog differs from the version changes; run `nox -s spec`"
            )
    return problems


def write(directory: Path) -> list[str]:
    """Write every spec file; released versions that would change are refused, not overwritten."""
    directory.mkdir(parents=True, exist_ok=True)
    refused: list[str] = []
    for name, content in render_specs().items():
        path = directory / name
        version = name.removesuffix(".json")
        if version in RELEASED_VERSIONS and path.exists():
            problem, writable = released_problem(version, path.read_text(), content)
            if problem is not None and not writable:
                refused.append(f"{path}: {problem}; not written")
                continue
        path.write_text(content)
    if directory == DEFAULT_DIR and VERSIONING_DOC.exists():
        VERSIONING_DOC.write_text(_with_changelog(VERSIONING_DOC.read_text()))
    return refused


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``write`` or ``check`` the spec folder."""
    parser = argparse.ArgumentParser(prog="python -m baton_server.spec", description=__doc__)
    parser.add_argument("action", choices=["write", "check"])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    args.directory = args.directory.resolve()
    problems = check(args.directory) if args.action == "check" else write(args.directory)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"spec: {args.directory} {'is up to date' if args.action == 'check' else 'written'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
