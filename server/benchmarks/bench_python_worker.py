"""Benchmark the Python worker: its overhead per no-op task, and no-op tasks per second through one worker.

Run through ``scripts/nox -s bench`` (after the Task Execution API benchmark), once per isolation:
``--isolation process`` (the default: each attempt in a task process of its own, ``python -m
baton._runner``) and ``--isolation thread`` (each attempt in a thread of the worker). It writes a
bundle of one DAG of ``--tasks`` independent no-op tasks and measures it as ``_worker_bench`` says,
like the Go and the Java worker: overhead per task from the claim to the final state stored,
tasks/s through the one worker, CPU per task of the server and of the worker (with its task
processes). Issue targets: <= 150 ms per task in process isolation, <= 20 ms in thread isolation.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from _worker_bench import WorkerUnderTest, arguments, measure

BUNDLE = '''"""The benchmark's DAG: {tasks} independent no-op tasks on queue bench."""

from baton import DAG, Task


def noop() -> None:
    """Do nothing."""


NOOP = Task(noop)

with DAG("bench_noop_python", queue="bench"):
    for index in range({tasks}):
        NOOP.override(task_id=f"t{{index:04d}}")()
'''


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures and write them as JSON."""
    parser = arguments(__doc__ or "", "bench-python-worker.json")
    parser.add_argument("--isolation", choices=["process", "thread"], default="process")
    parser.add_argument("--tasks", type=int, default=200, help="no-op tasks in the DAG")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-python-"))
    try:
        bundle = folder / "bench_bundle.py"
        bundle.write_text(BUNDLE.format(tasks=args.tasks))
        command = [
            str(Path(sys.executable).parent / "baton"),
            "worker",
            "--bundle",
            str(bundle),
            "--queue",
            "bench",
            "--isolation",
            args.isolation,
            "--log-level",
            "warning",
        ]
        language = f"Python ({args.isolation} isolation)"
        worker = WorkerUnderTest(language, command, dag_id="bench_noop_python", tasks=args.tasks)
        return measure(worker, args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
