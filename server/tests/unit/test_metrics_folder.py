"""The metrics folder of a server of several processes: fresh, named after its supervisor, and the
folders that killed supervisors left behind removed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from baton_server.processes import shared_metrics_folder


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test__a_new_folder__removes_only_the_folders_of_supervisors_no_longer_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    stale = tmp_path / f"baton-metrics-{_dead_pid()}-abc"
    (stale / "sub").mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"x")
    living = tmp_path / f"baton-metrics-{os.getppid()}-def"  # the test runner's parent: alive
    living.mkdir()
    unrelated = tmp_path / "baton-metrics-notapid-ghi"
    unrelated.mkdir()

    made = Path(shared_metrics_folder())

    assert made.parent == tmp_path
    assert made.name.startswith(f"baton-metrics-{os.getpid()}-")
    assert made.is_dir()
    assert not any(made.iterdir())
    assert not stale.exists()
    assert living.is_dir()
    assert unrelated.is_dir()
