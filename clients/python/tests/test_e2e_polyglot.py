"""End to end: one DAG, two languages. A Go task feeds a Python task, whose result feeds a Go task.

The Python bundle describes the DAG (its Go tasks are stubs naming their Go entry points); the Go
bundle, built with ``go build``, implements them, and ``baton-go-worker`` runs them. On SQLite, and
on PostgreSQL when BATON_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from e2e import Stack, WorkerProcess, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
GO_MODULE = ROOT / "clients" / "go"
PYTHON_BUNDLE = Path(__file__).parent / "bundles" / "polyglot"


def _go() -> str:
    found = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(found).exists():
        pytest.fail("Go 1.26+ is needed to build the Go worker and bundle")
    return found


def _start_go_worker(stack: Stack, tmp_path: Path) -> WorkerProcess:
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    worker_binary = tmp_path / "baton-go-worker"
    for package, out in (
        ("./internal/integration/testdata/polyglot", bundles / "polyglot"),
        ("./cmd/baton-go-worker", worker_binary),
    ):
        subprocess.run(
            [_go(), "build", "-o", str(out), package],
            cwd=GO_MODULE,
            env={**os.environ, "GOFLAGS": "-mod=mod"},
            check=True,
            timeout=600,
        )
    log_path = tmp_path / "go-worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(BATON_SERVER_URL=stack.url, BATON_WORKER_TOKEN=stack.worker_token)
    command = [str(worker_binary), "--bundles", str(bundles), "--queue", "go", "--heartbeat-interval", "1s"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProcess(process, log_path)
    stack.workers.append(worker)
    wait_for("the Go worker to register", lambda: "registered worker" in worker.output(), timeout=120)
    return worker


def test__dag_in_two_languages__go_feeds_python_feeds_go(stack: Stack, tmp_path: Path) -> None:
    stack.start_worker("python", bundle=PYTHON_BUNDLE)
    go_worker = _start_go_worker(stack, tmp_path)

    run_id = stack.trigger("polyglot")
    run = stack.wait_run("polyglot", run_id, timeout=180)

    assert run["state"] == "success", (run, go_worker.output())
    assert {task: ti["runtime"] for task, ti in run["tasks"].items()} == {
        "produce": "go",
        "double": "python",
        "consume": "go",
    }
    assert "from Go: {'sensor': 's-1', 'values': [1.5, 2, 3]}" in stack.baton("logs", run_id, "double").stdout
    assert "s-1: 3 values from Python, total 13" in stack.baton("logs", run_id, "consume").stdout
    dags = stack.baton("dags", "list").stdout
    assert "polyglot" in dags
