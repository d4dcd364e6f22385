"""Airflow 3.3.2 end to end, the anchor of the Python worker's throughput: no-op tasks through its
LocalExecutor, measured as the Python worker is.

``python server/benchmarks/bench_airflow_local_executor.py --postgres-url URL [--tasks 200]
[--parallelism 8]`` installs Airflow into its own virtualenv (once, ``_airflow_anchor``), migrates a
throw-away database on the same PostgreSQL, writes a DAG of ``--tasks`` independent no-op
``@task`` functions (not ``EmptyOperator``: the scheduler marks those done without running them),
serializes it, and starts ``airflow api-server --apps execution`` and ``airflow scheduler`` with
the LocalExecutor and ``--parallelism`` slots (the Python worker's 8 by default). It triggers one
warm-up run, then ``--runs`` measured runs, one after the other, each bounded in time; from
Airflow's own records, a run's throughput is its tasks / (last end - first start), and the CPU one
task costs is the scheduler's (with its executor's worker and task processes) plus the API
server's, over the measured runs. With the Python worker's figures in ``build/`` (``nox -s bench``
writes them first) it prints the ratios. Loopback only; it stops what it started and drops its
database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _airflow_anchor import AIRFLOW_VERSION, prepared_airflow
from _worker_bench import _healthy, _query, _wait, tree_cpu_ms
from bench_execution_api import _drop_database, _free_port, throwaway_database
from sqlalchemy.engine import make_url

DAG = """
from airflow.sdk import DAG, task

with DAG("e2e", schedule=None, catchup=False):

    @task
    def noop():
        pass

    for n in range({tasks}):
        noop.override(task_id=f"t{{n}}")()
"""


def _asyncpg(url: str, database: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg", database=database).render_as_string(False)


def _records(url: str, run_id: str) -> list[tuple[str, float, float]]:
    """(state, start, end) of the run's ended task instances, as epoch seconds."""
    rows = asyncio.run(
        _query(
            url,
            "SELECT state, start_date, end_date FROM task_instance WHERE dag_id = 'e2e' AND run_id = :run"
            " AND state IN ('success', 'failed', 'upstream_failed')",
            run=run_id,
        )
    )
    return [
        (str(state), start.timestamp(), end.timestamp())  # type: ignore[attr-defined]
        for state, start, end in rows
        if start is not None and end is not None
    ]


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a process and its group (the scheduler's executor and task processes)."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _baton_figures() -> dict[str, float]:
    """The Python worker's tasks/s by isolation, from this benchmark's earlier output, if present."""
    found = {}
    for isolation in ("process", "thread"):
        path = Path("build") / f"bench-python-worker-{isolation}.json"
        if path.exists():
            found[isolation] = float(json.loads(path.read_text())["tasks_per_s"])
    return found


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Run Airflow's LocalExecutor end to end; its figures."""
    admin_url, url = throwaway_database(args.postgres_url)
    database = str(make_url(url).database)
    port = _free_port()
    api = scheduler = None
    rates: list[float] = []
    states: list[str] = []
    try:
        _, env = prepared_airflow(args.airflow_env, admin_url, database, folder / "airflow")
        env.update(
            AIRFLOW__CORE__PARALLELISM=str(args.parallelism),
            AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG=str(args.parallelism),
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        )
        airflow = str(args.airflow_env / "bin" / "airflow")
        Path(env["AIRFLOW__CORE__DAGS_FOLDER"], "e2e.py").write_text(DAG.format(tasks=args.tasks))
        subprocess.run(
            [airflow, "dags", "reserialize"], env=env, check=True, timeout=900, capture_output=True
        )
        subprocess.run(
            [airflow, "dags", "unpause", "e2e"], env=env, check=True, timeout=300, capture_output=True
        )
        api = _start(
            [airflow, "api-server", "--apps", "execution", "--host", "127.0.0.1", "--port", str(port)],
            env,
            folder / "airflow-api-server.log",
        )
        _wait("Airflow's API server to start", _healthy(f"http://127.0.0.1:{port}/execution/health"), 300)
        scheduler = _start([airflow, "scheduler"], env, folder / "airflow-scheduler.log")
        airflow_url = _asyncpg(admin_url, database)
        cpu_before = 0.0
        for n in range(args.runs + 1):
            if n == 1:
                cpu_before = tree_cpu_ms(scheduler.pid) + tree_cpu_ms(api.pid)
            run_id = f"e2e_{n}"
            subprocess.run(
                [airflow, "dags", "trigger", "e2e", "--run-id", run_id],
                env=env,
                check=True,
                timeout=300,
                capture_output=True,
            )
            _wait(
                f"{args.tasks} tasks of {run_id} to end",
                lambda run_id=run_id: len(_records(airflow_url, run_id)) >= args.tasks,  # type: ignore[misc]
                args.run_timeout,
            )
            if n == 0:
                continue  # the warm-up run: the scheduler's and the executor's first work
            records = _records(airflow_url, run_id)
            span = max(end for _, _, end in records) - min(start for _, start, _ in records)
            rates.append(len(records) / span if span > 0 else 0.0)
            states += [state for state, _, _ in records]
            print(f"Airflow LocalExecutor, run {n}: {len(records)} tasks, {rates[-1]:.2f} tasks/s")
        cpu = tree_cpu_ms(scheduler.pid) + tree_cpu_ms(api.pid) - cpu_before
    finally:
        _stop(scheduler)
        _stop(api)
        asyncio.run(_drop_database(admin_url, url))
    counted = max(len(states), 1)
    return {
        "airflow": AIRFLOW_VERSION,
        "executor": "LocalExecutor",
        "parallelism": args.parallelism,
        "tasks": len(states),
        "succeeded": states.count("success"),
        "runs": args.runs,
        "tasks_per_s": round(statistics.median(rates), 2) if rates else 0.0,
        "tasks_per_s_runs": [round(rate, 2) for rate in rates],
        "cpu_ms_per_task": round(cpu / counted, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures and the ratios, write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default=os.environ.get("BATON_TEST_POSTGRES_URL"))
    parser.add_argument("--tasks", type=int, default=200, help="no-op tasks in the DAG")
    parser.add_argument("--parallelism", type=int, default=8, help="the LocalExecutor's slots")
    parser.add_argument("--runs", type=int, default=2, help="measured runs, after one warm-up run")
    parser.add_argument("--run-timeout", type=float, default=900.0, help="seconds one run may take")
    parser.add_argument("--airflow-env", type=Path, default=Path(f".baton/airflow-{AIRFLOW_VERSION}"))
    parser.add_argument("--out", type=Path, default=Path("build/bench-airflow-local-executor.json"))
    args = parser.parse_args(argv)
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-airflow-e2e-"))
    try:
        result = measure(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result["ratios"] = {
        f"baton_python_{isolation}": round(rate / result["tasks_per_s"], 1) if result["tasks_per_s"] else None
        for isolation, rate in _baton_figures().items()
    }
    print(
        f"Airflow {AIRFLOW_VERSION} LocalExecutor, {result['parallelism']} slots, "
        f"{result['tasks']} no-op tasks in {result['runs']} run(s): {result['tasks_per_s']:.2f} tasks/s "
        f"(runs {result['tasks_per_s_runs']}), {result['cpu_ms_per_task']:.0f} ms of CPU per task "
        "(scheduler, executor, task processes, API server); Baton's Python worker / Airflow: "
        f"{result['ratios'] or 'no Python worker figures in build/'}; load average "
        f"{result['load_average']}; {time.monotonic() - started:.0f} s in all"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    if result["succeeded"] != args.tasks * args.runs:
        print(
            f"bench: only {result['succeeded']} of {args.tasks * args.runs} tasks succeeded", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
