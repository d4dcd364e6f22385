"""The procedure both worker benchmarks share, so that the Go and the Java worker are measured alike.

One ``baton-server serve`` (scheduler on) on a throw-away PostgreSQL database, one worker of the
language under test with ``--concurrency`` slots serving one DAG of independent no-op tasks; one
warm-up run (not counted: a JVM compiles its hot code then, a Go binary pages itself in), then
``--runs`` measured runs, one after the other. From the server's own records, for each measured
run:

- overhead per task: from the claim that handed the workload out (``claimed_at``, after the
  claim's wait for work) to the final state stored (``updated_at``) — everything the worker and
  the API do for one attempt: start, the no-op, the log upload, the state;
- throughput: the run's tasks / (its last final state - its first claim);

and over all measured runs, the CPU time (from ``/proc``) one task costs the server (its
scheduler included) and the worker (with its child processes: the Go worker's bundle process).
On a busy machine the rates fall; the CPU per task moves far less. Targets: <= 50 ms per task,
>= 50 no-op tasks/s. Every run is bounded in time, loopback only, and stops what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from bench_execution_api import _cpu_ms, _drop_database, _free_port, throwaway_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

TARGET_OVERHEAD_MS = 50.0
TARGET_TASKS_PER_S = 50.0
TASKS = 500
"""No-op tasks in each benchmark DAG (the Go bundle's and the Java bundle's)."""


@dataclass
class WorkerUnderTest:
    """How to start one worker: its command (without server or credential), its DAG and its tasks."""

    language: str
    command: list[str]
    dag_id: str
    tasks: int = TASKS
    env: dict[str, str] = field(default_factory=dict)


def arguments(description: str, out: str) -> argparse.ArgumentParser:
    """The command line both benchmarks take."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--postgres-url", default=os.environ.get("BATON_TEST_POSTGRES_URL"))
    parser.add_argument("--concurrency", type=int, default=8, help="the worker's slots")
    parser.add_argument("--runs", type=int, default=2, help="measured runs, after one warm-up run")
    parser.add_argument("--out", type=Path, default=Path("build") / out)
    parser.add_argument("--keep-log", type=Path, help="copy the worker's own log here")
    return parser


def tree_cpu_ms(pid: int) -> float:
    """CPU time of a process and of its children, the living and those it has waited for (task processes)."""
    total = _cpu_ms(pid, waited_children=True)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            total += tree_cpu_ms(int(child))
    return total


def _issue(kind: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "baton_server.cli", kind, f"bench-{secrets.token_hex(3)}", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    token: str = json.loads(out)["token"]
    return token


def _wait(what: str, probe: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)


def _healthy(url: str) -> Callable[[], bool]:
    """A probe of whether GET url answers 200, all its probes through one client (a client per probe
    builds an SSL context each time: tens of ms of CPU taken from the start it waits for)."""
    http = httpx.Client(timeout=2)

    def probe() -> bool:
        try:
            return http.get(url).status_code == 200
        except httpx.TransportError:
            return False

    return probe


async def _query(url: str, sql: str, **params: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql), params)]
    finally:
        await engine.dispose()


def _ended(url: str, dag_id: str, run_id: str) -> int:
    rows = asyncio.run(
        _query(
            url,
            "SELECT count(*) FROM task_instances WHERE dag_id = :dag AND run_id = :run"
            " AND state IN ('success', 'failed')",
            dag=dag_id,
            run=run_id,
        )
    )
    count = rows[0][0]
    assert isinstance(count, int)
    return count


def _records(url: str, dag_id: str, run_id: str) -> list[tuple[str, float, float]]:
    """(state, claimed_at, updated_at) of one run's task instances, as epoch seconds."""
    rows = asyncio.run(
        _query(
            url,
            "SELECT state, claimed_at, updated_at FROM task_instances WHERE dag_id = :dag AND run_id = :run",
            dag=dag_id,
            run=run_id,
        )
    )
    return [
        (str(state), claimed.timestamp(), updated.timestamp())  # type: ignore[attr-defined]
        for state, claimed, updated in rows
        if claimed is not None and updated is not None
    ]


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(worker: WorkerUnderTest, args: argparse.Namespace, folder: Path) -> int:
    """Run the benchmark with this worker; print the figures, write them to ``args.out``; the exit status."""
    admin_url, url = throwaway_database(args.postgres_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_DATABASE_URL=url,
        BATON_SIGNING_KEY=secrets.token_urlsafe(32),
        BATON_DATA_DIR=str(folder / "server"),
        BATON_PORT=str(port),
        BATON_LOG_LEVEL="warning",
    )
    server = process = None
    worker_log = folder / "worker.log"
    overheads: list[float] = []
    rates: list[float] = []
    ended: list[str] = []
    try:
        server = subprocess.Popen([sys.executable, "-m", "baton_server.cli", "serve"], env=env)
        _wait("the server to start", _healthy(f"{base}/execution/health"), 120)
        admin_token, worker_token = _issue("create-admin-token", env), _issue("create-worker-credential", env)
        worker_env = {k: v for k, v in env.items() if not k.startswith("BATON_")}
        worker_env.update(worker.env, BATON_SERVER_URL=base, BATON_WORKER_TOKEN=worker_token)
        with worker_log.open("wb") as log:
            process = subprocess.Popen(
                [*worker.command, "--concurrency", str(args.concurrency)],
                env=worker_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        from baton_server.api.versions import supported_versions

        headers = {"Authorization": f"Bearer {admin_token}", "Baton-API-Version": supported_versions()[-1]}
        dag = f"{base}/api/dags/{worker.dag_id}"
        _wait(
            "the worker to register the DAG",
            lambda: httpx.get(dag, headers=headers, timeout=10).status_code == 200,
            120,
        )
        server_cpu = worker_cpu = 0.0
        for n in range(args.runs + 1):
            if n == 1:
                server_cpu, worker_cpu = _cpu_ms(server.pid), tree_cpu_ms(process.pid)
            run_id = f"bench_{n}"
            answer = httpx.post(f"{dag}/dag-runs", json={"run_id": run_id}, headers=headers, timeout=30)
            answer.raise_for_status()
            _wait(
                f"{worker.tasks} tasks of {run_id} to end",
                lambda run_id=run_id: _ended(url, worker.dag_id, run_id) >= worker.tasks,  # type: ignore[misc]
                600,
            )
            if n == 0:
                continue  # the warm-up run
            records = _records(url, worker.dag_id, run_id)
            run_overheads = [(updated - claimed) * 1000 for _, claimed, updated in records]
            span = max(u for _, _, u in records) - min(c for _, c, _ in records)
            rates.append(len(records) / span if span > 0 else 0.0)
            overheads += run_overheads
            ended += [state for state, _, _ in records]
            print(
                f"{worker.language} worker, run {n}: {len(records)} tasks, {rates[-1]:.1f} tasks/s, "
                f"overhead p50 {statistics.median(run_overheads):.1f} ms"
            )
        server_cpu, worker_cpu = _cpu_ms(server.pid) - server_cpu, tree_cpu_ms(process.pid) - worker_cpu
    finally:
        _stop(process)
        _stop(server)
        if args.keep_log and worker_log.exists():
            shutil.copy(worker_log, args.keep_log)
        asyncio.run(_drop_database(admin_url, url))
    overheads.sort()
    counted = max(len(overheads), 1)
    result = {
        "worker": worker.language,
        "tasks": len(overheads),
        "succeeded": ended.count("success"),
        "runs": args.runs,
        "concurrency": args.concurrency,
        "overhead_ms_p50": round(statistics.median(overheads), 1),
        "overhead_ms_p95": round(overheads[int(len(overheads) * 0.95) - 1], 1),
        "overhead_ms_mean": round(statistics.fmean(overheads), 1),
        "tasks_per_s": round(statistics.median(rates), 1),
        "server_cpu_ms_per_task": round(server_cpu / counted, 2),
        "worker_cpu_ms_per_task": round(worker_cpu / counted, 2),
    }
    print(
        f"{worker.language} worker, {result['tasks']} no-op tasks in {args.runs} run(s), "
        f"{args.concurrency} slots: "
        f"overhead per task p50 {result['overhead_ms_p50']:.1f} ms, p95 {result['overhead_ms_p95']:.1f} ms, "
        f"mean {result['overhead_ms_mean']:.1f} ms (target <= {TARGET_OVERHEAD_MS:g}); "
        f"{result['tasks_per_s']:.1f} tasks/s (target >= {TARGET_TASKS_PER_S:g}); CPU per task: "
        f"server {result['server_cpu_ms_per_task']:.1f} ms, worker {result['worker_cpu_ms_per_task']:.1f} ms"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    if result["succeeded"] != worker.tasks * args.runs:
        expected = worker.tasks * args.runs
        print(f"bench: only {result['succeeded']} of {expected} tasks succeeded", file=sys.stderr)
        return 1
    return 0
