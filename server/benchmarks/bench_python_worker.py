"""Benchmark the Python worker: its overhead per no-op task, and no-op tasks per second through one worker.

Run through ``scripts/nox -s bench`` (after the Task Execution API benchmark), once per isolation:
``--isolation process`` (the default: each attempt in a task process of its own, forked from the
worker's fork server, or with ``--task-start spawn`` a new interpreter, ``python -m baton._runner``)
and ``--isolation thread`` (each attempt in a thread of the worker). It writes a
bundle of one DAG of ``--tasks`` independent no-op tasks and measures it as ``_worker_bench`` says,
like the Go and the Java worker: overhead per task from the claim to the final state stored,
tasks/s through the one worker, CPU per task of the server and of the worker (with its task
processes). Issue targets: <= 150 ms per task in process isolation, <= 20 ms in thread isolation.

Then, on the embedded default (SQLite, scheduler inside the server), one worker with one slot
(``--concurrency`` is for the throughput part): ``--singles`` runs of a one-task DAG, one after the
other, give each phase of a no-op attempt from the server's records (the claim's wait after the
task was queued; claim to start: the claim's answer, taking a warm task process or starting one,
the ``run`` call; start to end: the task process running the no-op and the last log batch; end to
final state stored: the ``state`` call), and ``--chains`` runs of a 5-task chain give the time
from the trigger to the run's end and how long each downstream task waited, from its upstream's
final state stored to being queued itself. The start of a task process (interpreter and the task
path's imports, ``python -c 'import baton._runner ...'``) is timed alone too. Targets: a chain in
<= 2 s, a downstream queued within 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _worker_bench import WorkerUnderTest, _healthy, _issue, _stop, _wait, arguments, measure
from bench_execution_api import _drop_database, _free_port, throwaway_database
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

CHAIN_TASKS = 5
TARGET_CHAIN_S = 2.0
TARGET_DOWNSTREAM_MS = 100.0

BUNDLE = '''"""The benchmark's DAG: {tasks} independent no-op tasks on queue bench."""

from baton import DAG, Task


def noop() -> None:
    """Do nothing."""


NOOP = Task(noop)

with DAG("bench_noop_python", queue="bench"):
    for index in range({tasks}):
        NOOP.override(task_id=f"t{{index:04d}}")()

'''


LATENCY_BUNDLE = '''"""The latency DAGs: one no-op task, and a chain of {chain} no-op tasks (queue bench)."""

from baton import DAG, Task


def noop() -> None:
    """Do nothing."""


NOOP = Task(noop)

with DAG("bench_single_python", queue="bench"):
    NOOP.override(task_id="only")()

with DAG("bench_chain_python", queue="bench"):
    previous = None
    for index in range({chain}):
        current = NOOP.override(task_id=f"c{{index}}")()
        if previous is not None:
            previous >> current
        previous = current
'''


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
        "min": round(ordered[0], 1),
    }


def task_process_start_ms(runs: int = 7) -> float:
    """Median wall time of a task process's start: the interpreter and the task path's imports."""
    probe = "import baton._runner as runner; runner._import_task_path()"
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


async def _rows(url: str, dag_id: str) -> list[Any]:
    from baton_server.db.tables import DagRunRecord, TaskInstanceRecord

    ti = TaskInstanceRecord
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(
                    DagRunRecord.run_id,
                    DagRunRecord.end_date,
                    ti.task_id,
                    ti.state,
                    ti.queued_at,
                    ti.claimed_at,
                    ti.start_date,
                    ti.end_date,
                    ti.updated_at,
                )
                .join(DagRunRecord, DagRunRecord.id == ti.dag_run_id)
                .where(ti.dag_id == dag_id)
            )
            return list(result)
    finally:
        await engine.dispose()


def measure_latency(args: argparse.Namespace, folder: Path, bundle: Path, url: str | None) -> dict[str, Any]:
    """Phases of single no-op attempts and 5-task chains, one slot: on the embedded default (SQLite; with
    ``--latency-processes``, that many server processes), or with ``url`` on that PostgreSQL database,
    ``--latency-processes`` server processes and a pool of ``--latency-pool-size``."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    data = folder / "sqlite-server"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_SIGNING_KEY=secrets.token_urlsafe(32),
        BATON_DATA_DIR=str(data),
        BATON_PORT=str(port),
        BATON_LOG_LEVEL="warning",
    )
    database = "sqlite (embedded default)"
    if url is None:
        url = f"sqlite+aiosqlite:///{(data / 'baton.db').resolve()}"
        if args.latency_processes:
            env.update(BATON_PROCESSES=str(args.latency_processes))
            database += f", {args.latency_processes} server processes"
    else:
        env.update(
            BATON_DATABASE_URL=url,
            BATON_PROCESSES=str(args.latency_processes),
            BATON_DB_POOL_SIZE=str(args.latency_pool_size),
        )
        # A process's share of one connection leaves it no wake-up relay (docs/operations.md).
        relay = "on" if args.latency_pool_size // args.latency_processes >= 2 else "off"
        database = (
            f"postgresql, {args.latency_processes} server processes, pool {args.latency_pool_size}, "
            f"wake-up relay {relay}"
        )
    server = worker = None
    stack = contextlib.ExitStack()
    try:
        server = subprocess.Popen([sys.executable, "-m", "baton_server.cli", "serve"], env=env)
        _wait("the server to start", _healthy(f"{base}/execution/health"), 120)
        admin_token, worker_token = _issue("create-admin-token", env), _issue("create-worker-credential", env)
        worker_env = {k: v for k, v in env.items() if not k.startswith("BATON_")}
        worker_env.update(BATON_SERVER_URL=base, BATON_WORKER_TOKEN=worker_token)
        command = [
            str(Path(sys.executable).parent / "baton"), "worker", "--bundle", str(bundle), "--queue", "bench",
            "--isolation", args.isolation, "--task-start", args.task_start, "--log-level", "warning",
            "--concurrency", "1",
        ]  # fmt: skip
        with (folder / "latency-worker.log").open("wb") as log:
            worker = subprocess.Popen(command, env=worker_env, stdout=log, stderr=subprocess.STDOUT)
        from baton_server.api.versions import supported_versions

        headers = {"Authorization": f"Bearer {admin_token}", "Baton-API-Version": supported_versions()[-1]}
        # One client for every trigger and poll: a new one per request (httpx.get) costs ~35 ms of
        # CPU for its SSL context, on this 2-core machine beside the attempt being measured.
        api = stack.enter_context(httpx.Client(base_url=base, headers=headers, timeout=30))

        def run(dag_id: str, run_id: str, tasks: int) -> float:
            started = time.time()
            answer = api.post(f"/api/dags/{dag_id}/dag-runs", json={"run_id": run_id})
            answer.raise_for_status()

            def ended() -> bool:
                detail = api.get(f"/api/dags/{dag_id}/dag-runs/{run_id}")
                return detail.status_code == 200 and detail.json()["state"] in ("success", "failed")

            _wait(f"{dag_id} {run_id} to end", ended, 300)
            return started

        _wait(
            "the worker to register the DAGs",
            lambda: api.get("/api/dags/bench_chain_python").status_code == 200,
            120,
        )
        run("bench_chain_python", "warmup", CHAIN_TASKS)
        for n in range(args.singles):
            run("bench_single_python", f"s{n}", 1)
        triggered = {f"c{n}": run("bench_chain_python", f"c{n}", CHAIN_TASKS) for n in range(args.chains)}
    finally:
        stack.close()
        _stop(worker)
        _stop(server)
    singles = asyncio.run(_rows(url, "bench_single_python"))
    phases: dict[str, list[float]] = {
        k: [] for k in ("claim_wait", "claim_to_start", "start_to_end", "overhead")
    }
    for row in singles:
        phases["claim_wait"].append(_ms((row.claimed_at - row.queued_at).total_seconds()))
        phases["claim_to_start"].append(_ms((row.start_date - row.claimed_at).total_seconds()))
        phases["start_to_end"].append(_ms((row.end_date - row.start_date).total_seconds()))
        phases["overhead"].append(_ms((row.updated_at - row.claimed_at).total_seconds()))
    chains = [r for r in asyncio.run(_rows(url, "bench_chain_python")) if r.run_id in triggered]
    chain_s: list[float] = []
    downstream_ms: list[float] = []
    downstream_claim_ms: list[float] = []
    for run_id, started in triggered.items():
        rows = {r.task_id: r for r in chains if r.run_id == run_id}
        chain_s.append(round(max(r.updated_at for r in rows.values()).timestamp() - started, 3))
        for index in range(1, CHAIN_TASKS):
            upstream, downstream = rows[f"c{index - 1}"], rows[f"c{index}"]
            downstream_ms.append(_ms((downstream.queued_at - upstream.updated_at).total_seconds()))
            downstream_claim_ms.append(_ms((downstream.claimed_at - downstream.queued_at).total_seconds()))
    return {
        "database": database,
        "singles": len(singles),
        "phases_ms": {name: _summary(values) for name, values in phases.items()},
        "chain_runs": len(chain_s),
        "chain_s": {"p50": round(statistics.median(chain_s), 3), "max": max(chain_s)},
        "downstream_queued_ms": {
            "p50": round(statistics.median(downstream_ms), 1),
            "max": max(downstream_ms),
        },
        "downstream_claim_wait_ms": {
            "p50": round(statistics.median(downstream_claim_ms), 1),
            "max": max(downstream_claim_ms),
        },
        "all_succeeded": all(r.state == "success" for r in [*singles, *chains]),
    }


def _label(args: argparse.Namespace) -> str:
    if args.isolation == "thread":
        return "thread isolation"
    return f"process isolation, tasks {'forked' if args.task_start == 'fork' else 'spawned'}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures and write them as JSON."""
    parser = arguments(__doc__ or "", "bench-python-worker.json")
    parser.add_argument("--isolation", choices=["process", "thread"], default="process")
    parser.add_argument(
        "--task-start", choices=["fork", "spawn"], default="fork", help="how task processes start"
    )
    parser.add_argument("--tasks", type=int, default=200, help="no-op tasks in the DAG")
    parser.add_argument("--singles", type=int, default=20, help="one-task runs timed phase by phase")
    parser.add_argument("--chains", type=int, default=5, help="5-task chains timed")
    parser.add_argument("--skip-throughput", action="store_true", help="only the latency part")
    parser.add_argument(
        "--latency-processes",
        type=int,
        default=0,
        help="run the latency part with this many server processes: on PostgreSQL with --postgres-url, "
        "else on the embedded default, SQLite (default: one process on SQLite)",
    )
    parser.add_argument("--latency-pool-size", type=int, default=10, help="the pool of --latency-processes")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-python-"))
    try:
        bundle = folder / "bench_bundle.py"
        bundle.write_text(BUNDLE.format(tasks=args.tasks))
        latency_bundle = folder / "latency" / "latency_bundle.py"
        latency_bundle.parent.mkdir()
        latency_bundle.write_text(LATENCY_BUNDLE.format(chain=CHAIN_TASKS))
        if args.latency_processes and args.postgres_url:
            admin_url, latency_url = throwaway_database(args.postgres_url)
            try:
                latency = measure_latency(args, folder, latency_bundle, latency_url)
            finally:
                asyncio.run(_drop_database(admin_url, latency_url))
        else:
            latency = measure_latency(args, folder, latency_bundle, None)
        latency["task_process_start_ms"] = task_process_start_ms()
        latency["load_average"] = [round(x, 2) for x in os.getloadavg()]
        latency["task_start"] = args.task_start
        phases = latency["phases_ms"]
        print(
            f"Python worker ({_label(args)}), {latency['database']}, 1 slot, "
            f"{latency['singles']} single runs: "
            + ", ".join(f"{name} p50 {v['p50']:.1f} ms (p95 {v['p95']:.1f})" for name, v in phases.items())
        )
        chain, down = latency["chain_s"], latency["downstream_queued_ms"]
        waited = latency["downstream_claim_wait_ms"]
        print(
            f"  {CHAIN_TASKS}-task chain: p50 {chain['p50']:.2f} s, max {chain['max']:.2f} s "
            f"(target <= {TARGET_CHAIN_S:g} s); downstream queued after its upstream's final state: "
            f"p50 {down['p50']:.1f} ms, max {down['max']:.1f} ms (target <= {TARGET_DOWNSTREAM_MS:g}), "
            f"then claimed after p50 {waited['p50']:.1f} ms, max {waited['max']:.1f} ms; "
            f"task process start {latency['task_process_start_ms']:.0f} ms; "
            f"load average {latency['load_average']}"
        )
        latency_out = args.out.with_name(args.out.stem + "-latency.json")
        latency_out.parent.mkdir(parents=True, exist_ok=True)
        latency_out.write_text(json.dumps(latency, indent=2) + "\n")
        if not latency["all_succeeded"]:
            print("bench: a latency run did not succeed", file=sys.stderr)
            return 1
        if args.skip_throughput:
            return 0
        command = [
            str(Path(sys.executable).parent / "baton"),
            "worker",
            "--bundle",
            str(bundle),
            "--queue",
            "bench",
            "--isolation",
            args.isolation,
            "--task-start",
            args.task_start,
            "--log-level",
            "warning",
        ]
        language = f"Python ({_label(args)})"
        worker = WorkerUnderTest(language, command, dag_id="bench_noop_python", tasks=args.tasks)
        return measure(worker, args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
