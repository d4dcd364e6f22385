"""Benchmark the Go worker: its overhead per no-op task, and no-op tasks per second through one worker.

Run through ``scripts/nox -s bench`` (after the Task Execution API benchmark). It builds
``baton-go-worker`` and a bundle of one DAG of 500 independent no-op tasks with ``go build``, then
measures them as ``_worker_bench`` says (the Java worker's benchmark does the same): overhead per
task from the claim to the final state stored, tasks/s through the one worker, CPU per task of the
server and of the worker (with its bundle process).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _worker_bench import WorkerUnderTest, arguments, measure

ROOT = Path(__file__).resolve().parents[2]
GO_MODULE = ROOT / "clients" / "go"


def _go() -> str:
    found = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(found).exists():
        raise SystemExit("bench: Go 1.26+ is needed to build the Go worker")
    return found


def _build(folder: Path) -> tuple[Path, Path]:
    bundles, worker = folder / "bundles", folder / "baton-go-worker"
    bundles.mkdir()
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    for package, out in (("./internal/benchbundle", bundles / "bench"), ("./cmd/baton-go-worker", worker)):
        subprocess.run(
            [_go(), "build", "-o", str(out), package], cwd=GO_MODULE, env=env, check=True, timeout=600
        )
    return bundles, worker


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures and write them as JSON."""
    args = arguments(__doc__ or "", "bench-go-worker.json").parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-go-"))
    try:
        bundles, binary = _build(folder)
        command = [str(binary), "--bundles", str(bundles), "--queue", "bench", "--log-level", "warning"]
        return measure(WorkerUnderTest("Go", command, dag_id="bench_noop"), args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
