"""Spec in, clients out: render each version's document in-process, generate, then write or compare."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from baton_codegen._generators import GENERATED_DIRS, GENERATORS, LANGUAGES, ROOT, Files, GeneratorError

CLIENTS_DIR = ROOT / "clients"

# What a build folder copies from clients/ besides the generated code: the hand-written layers
# and build files, never build output.
_COPY_IGNORE = shutil.ignore_patterns(
    "target", "__pycache__", ".pytest_cache", ".mypy_cache", "*.egg-info", ".venv", "build", "dist"
)


def load_documents() -> dict[str, dict[str, Any]]:
    """Version → OpenAPI document, from the same in-process code that writes spec/."""
    from baton_server.spec import render_specs

    files = render_specs()
    index = json.loads(files["versions.json"])
    return {entry["version"]: json.loads(files[f"{entry['version']}.json"]) for entry in index["versions"]}


def latest_version(documents: dict[str, dict[str, Any]]) -> str:
    """The newest version: the one committed under clients/."""
    return sorted(documents)[-1]


def generate(version: str, document: dict[str, Any], languages: Sequence[str] = LANGUAGES) -> Files:
    """All generated files of one version for the given languages, generators running in parallel."""
    unknown = sorted(set(languages) - set(LANGUAGES))
    if unknown:
        raise GeneratorError(f"unknown language(s) {', '.join(unknown)}; known: {', '.join(LANGUAGES)}")
    with (
        tempfile.TemporaryDirectory(prefix="baton-codegen-") as scratch,
        ThreadPoolExecutor(max_workers=len(languages)) as pool,
    ):
        work = Path(scratch)
        futures = [pool.submit(GENERATORS[lang], version, document, work / lang) for lang in languages]
        results = [future.result() for future in futures]
    files: Files = {}
    for result in results:
        files.update(result)
    return dict(sorted(files.items()))


def _existing(clients: Path, languages: Iterable[str]) -> Files:
    files: Files = {}
    for lang in languages:
        for folder in GENERATED_DIRS[lang]:
            base = clients / folder
            if not base.exists():
                continue
            for path in sorted(base.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    files[path.relative_to(clients).as_posix()] = path.read_bytes()
    return files


def write(files: Files, clients: Path, languages: Iterable[str]) -> None:
    """Replace each language's generated folder under ``clients`` with exactly ``files``."""
    for lang in languages:
        for folder in GENERATED_DIRS[lang]:
            shutil.rmtree(clients / folder, ignore_errors=True)
    for relative, content in files.items():
        path = clients / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def drift(files: Files, clients: Path, languages: Iterable[str]) -> list[str]:
    """Differences between freshly generated ``files`` and what ``clients`` holds (empty when in sync)."""
    existing = _existing(clients, languages)
    problems = [f"clients/{p}: missing" for p in sorted(files.keys() - existing.keys())]
    problems += [f"clients/{p}: not generated any more" for p in sorted(existing.keys() - files.keys())]
    problems += [
        f"clients/{p}: differs from what the generator makes"
        for p in sorted(files.keys() & existing.keys())
        if files[p] != existing[p]
    ]
    return problems


def build_folder(files: Files, out: Path, languages: Sequence[str]) -> None:
    """A complete copy of each language's client (hand-written layer + this version's generated code)."""
    out.mkdir(parents=True, exist_ok=True)
    for lang in languages:
        destination = out / lang
        shutil.rmtree(destination, ignore_errors=True)
        if (CLIENTS_DIR / lang).exists():
            shutil.copytree(CLIENTS_DIR / lang, destination, ignore=_COPY_IGNORE)
    write(files, out, languages)
