"""Fixtures of the fault suite: one PostgreSQL cluster for the session, and the figures table it prints."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from harness import ROOT, Postgres


@dataclass
class Figures:
    """One row per scenario, printed at the end and written to build/faults/figures.md."""

    rows: list[dict[str, str]] = field(default_factory=list)

    def add(self, scenario: str, **values: object) -> None:
        self.rows.append({"scenario": scenario, **{k: str(v) for k, v in values.items()}})

    def markdown(self) -> str:
        columns: list[str] = []
        for row in self.rows:
            columns += [c for c in row if c not in columns]
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row.get(c, "") for c in columns) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"


_FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Figures:
    return _FIGURES


@pytest.fixture(scope="session")
def pg() -> Iterator[Postgres]:
    """A PostgreSQL cluster of the suite's own, on a free port (restarted by one scenario).

    Its folder is under the repository's .baton/ (the 'postgres' user cannot reach pytest's private
    temp folders) and removed at the end.
    """
    (ROOT / ".baton").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="faults-pg-", dir=ROOT / ".baton"))
    folder.chmod(0o755)
    cluster = Postgres(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _FIGURES.rows:
        return
    table = _FIGURES.markdown()
    terminalreporter.write_sep("=", "fault suite figures")
    terminalreporter.write(table)
    out = Path(os.environ.get("FAULTS_FIGURES", ROOT / "build" / "faults" / "figures.md"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    terminalreporter.write_line(f"(written to {out})")
