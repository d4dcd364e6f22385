"""Benchmark the Go worker: its overhead per no-op task, and no-op tasks per second through one worker.

Run through ``scripts/nox -s bench`` (after the Task Execution API benchmark). It creates a
throw-away PostgreSQL database, starts ``baton-server serve`` (scheduler on) on 127.0.0.1, builds
``baton-go-worker`` and a bundle of one DAG of independent no-op tasks with ``go build``, starts
one worker, triggers one run, and waits for every task to end. From the server's own records:

- overhead per task: from the claim that handed the workload out (``claimed_at``, after the
  claim's wait for work) to the final state stored (``updated_at``): everything the worker and
  the API do for one attempt — start, run in the bundle process, log upload, state;
- throughput: tasks / (last final state - first claim), through the one worker.

Targets (issue 12): at most 50 ms overhead per task, at least 50 no-op tasks/s. Every run is
bounded in time, loopback only, and stops what it started.
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
import tempfile
import time
from pathlib import Path

import httpx
from bench_execution_api import _cpu_ms, _drop_database, _free_port, throwaway_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[2]
GO_MODULE = ROOT / "clients" / "go"
DAG_ID = "bench_noop"
TARGET_OVERHEAD_MS = 50.0
TARGET_TASKS_PER_S = 50.0


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


def _tree_cpu_ms(pid: int) -> float:
    """CPU time of a process and of its children (the worker and its bundle process)."""
    total = _cpu_ms(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            total += _tree_cpu_ms(int(child))
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


def _wait(what: str, probe: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not probe():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)


async def _records(url: str) -> list[tuple[str | None, float, float]]:
    """(state, claimed_at, updated_at) of the benchmark's task instances, as epoch seconds."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT state, claimed_at, updated_at FROM task_instances WHERE dag_id = :dag"),
                {"dag": DAG_ID},
            )
            return [
                (state, claimed.timestamp(), updated.timestamp())
                for state, claimed, updated in rows
                if claimed is not None and updated is not None
            ]
    finally:
        await engine.dispose()


async def _finished(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            count = await conn.scalar(
                text("SELECT count(*) FROM task_instances WHERE dag_id = :dag AND state IN (:ok, :failed)"),
                {"dag": DAG_ID, "ok": "success", "failed": "failed"},
            )
            return int(count or 0)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures and write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default=os.environ.get("BATON_TEST_POSTGRES_URL"))
    parser.add_argument("--concurrency", type=int, default=16, help="the worker's slots")
    parser.add_argument("--out", type=Path, default=Path("build/bench-go-worker.json"))
    args = parser.parse_args(argv)
    admin_url, url = throwaway_database(args.postgres_url)
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-go-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_DATABASE_URL=url,
        BATON_SIGNING_KEY=secrets.token_urlsafe(32),
        BATON_DATA_DIR=str(folder),
        BATON_PORT=str(port),
        BATON_LOG_LEVEL="warning",
    )
    server = worker = None
    try:
        bundles, worker_binary = _build(folder)
        server = subprocess.Popen([sys.executable, "-m", "baton_server.cli", "serve"], env=env)

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/execution/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        _wait("the server to start", healthy, 120)
        admin_token, worker_token = _issue("create-admin-token", env), _issue("create-worker-credential", env)
        worker_log = folder / "worker.log"
        worker_env = {k: v for k, v in env.items() if not k.startswith("BATON_")}
        worker_env.update(BATON_SERVER_URL=base, BATON_WORKER_TOKEN=worker_token)
        with worker_log.open("wb") as log:
            command = [str(worker_binary), "--bundles", str(bundles), "--queue", "bench"]
            worker = subprocess.Popen(
                [*command, "--concurrency", str(args.concurrency), "--log-level", "warning"],
                env=worker_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        from baton_server.api.versions import supported_versions

        headers = {"Authorization": f"Bearer {admin_token}", "Baton-API-Version": supported_versions()[-1]}

        def registered() -> bool:
            response = httpx.get(f"{base}/api/dags/{DAG_ID}", headers=headers, timeout=10)
            return response.status_code == 200

        _wait("the worker to register the DAG", registered, 120)
        server_cpu, worker_cpu = _cpu_ms(server.pid), _tree_cpu_ms(worker.pid)
        httpx.post(
            f"{base}/api/dags/{DAG_ID}/dag-runs", json={}, headers=headers, timeout=30
        ).raise_for_status()
        tasks = json.loads(
            subprocess.run([str(bundles / "bench"), "--describe"], capture_output=True, check=True).stdout
        )
        total = len(tasks["dags"][0]["tasks"])
        _wait(f"{total} tasks to end", lambda: asyncio.run(_finished(url)) >= total, 600)
        server_cpu, worker_cpu = _cpu_ms(server.pid) - server_cpu, _tree_cpu_ms(worker.pid) - worker_cpu
        records = asyncio.run(_records(url))
    finally:
        for process in (worker, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        asyncio.run(_drop_database(admin_url, url))
        shutil.rmtree(folder, ignore_errors=True)
    overheads = sorted((updated - claimed) * 1000 for _, claimed, updated in records)
    span = max(u for _, _, u in records) - min(c for _, c, _ in records)
    result = {
        "tasks": len(records),
        "succeeded": sum(1 for state, _, _ in records if state == "success"),
        "concurrency": args.concurrency,
        "overhead_ms_p50": statistics.median(overheads),
        "overhead_ms_p95": overheads[int(len(overheads) * 0.95) - 1],
        "overhead_ms_mean": statistics.fmean(overheads),
        "tasks_per_s": len(records) / span if span > 0 else 0.0,
        # What one task costs the server (its scheduler included) and the worker (with its bundle
        # process): on a busy machine the rates fall, these much less.
        "server_cpu_ms_per_task": server_cpu / max(len(records), 1),
        "worker_cpu_ms_per_task": worker_cpu / max(len(records), 1),
    }
    print(
        f"Go worker, {result['tasks']} no-op tasks, {args.concurrency} slots: overhead per task "
        f"p50 {result['overhead_ms_p50']:.1f} ms, p95 {result['overhead_ms_p95']:.1f} ms, "
        f"mean {result['overhead_ms_mean']:.1f} ms (target <= {TARGET_OVERHEAD_MS:g}); "
        f"{result['tasks_per_s']:.1f} tasks/s (target >= {TARGET_TASKS_PER_S:g}); CPU per task: "
        f"server {result['server_cpu_ms_per_task']:.1f} ms, worker {result['worker_cpu_ms_per_task']:.1f} ms"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    if result["succeeded"] != total:
        print(f"bench: only {result['succeeded']} of {total} tasks succeeded", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
