"""Benchmark the Java worker: its overhead per no-op task, and no-op tasks per second through one worker.

Run through ``scripts/nox -s bench``. It builds the Java worker (Maven) and a bundle of one DAG of
independent no-op tasks (``java/NoopBundle.java``, compiled with javac against the worker jar),
starts ``baton-server serve`` on a throw-away PostgreSQL database (fast scheduler) and one
``baton-worker.jar`` on 127.0.0.1, triggers runs one after the other, and reads the worker's own log:

- overhead per task: from the worker's claim of a workload to the final state it reported (its
  ``claimed`` line to its ``success after`` line): start, run the no-op, ship logs, report;
- tasks/s: the run's tasks divided by the time from the first claim to the last final state.

The first run warms the JVM up and is not counted. Targets: <= 50 ms per task, >= 50 tasks/s.
Everything is bounded in time, loopback only, and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from bench_execution_api import _create_database, _drop_database, _free_port

ROOT = Path(__file__).resolve().parents[2]
JAVA = ROOT / "clients" / "java"
BUNDLE_SOURCE = Path(__file__).parent / "java" / "NoopBundle.java"
LINE = re.compile(
    r"^(\d\d:\d\d:\d\d\.\d{3}) INFO baton\.worker - (?:claimed (\S+) try|(\S+) try \S+: success after)"
)


def _build(work: Path) -> tuple[Path, Path]:
    """The worker jar, and a bundle folder holding the no-op bundle's jar."""
    mvn, javac, jar = shutil.which("mvn"), shutil.which("javac"), shutil.which("jar")
    if not (mvn and javac and jar):
        raise SystemExit("bench: the Java worker benchmark needs Maven and a JDK 17 (mvn, javac, jar)")
    subprocess.run([mvn, "-B", "-q", "-f", str(JAVA), "package", "-DskipTests"], check=True)
    worker_jar = JAVA / "worker" / "target" / "baton-worker.jar"
    classes = work / "classes"
    subprocess.run(
        [javac, "--release", "17", "-cp", str(worker_jar), "-d", str(classes), str(BUNDLE_SOURCE)], check=True
    )
    services = classes / "META-INF" / "services"
    services.mkdir(parents=True)
    (services / "org.baton.sdk.Bundle").write_text("org.baton.bench.NoopBundle\n")
    bundles = work / "bundles"
    bundles.mkdir()
    archive = bundles / "noop.jar"
    subprocess.run([jar, "--create", "--file", str(archive), "-C", str(classes), "."], check=True)
    return worker_jar, bundles


def _wait(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        time.sleep(0.1)


def _cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "baton_server.cli", *args], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def _measure(log: str, run_id: str) -> tuple[list[float], float]:
    """Per-task overheads (ms) and the tasks/s of one run, from the worker's log."""
    claimed: dict[str, datetime] = {}
    finished: dict[str, datetime] = {}
    for line in log.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        at = datetime.strptime(match.group(1), "%H:%M:%S.%f")
        label = match.group(2) or match.group(3)
        if f"/{run_id}/" not in label:
            continue
        (claimed if match.group(2) else finished)[label] = at
    overheads = [(finished[k] - claimed[k]).total_seconds() * 1000 for k in finished if k in claimed]
    span = (max(finished.values()) - min(claimed.values())).total_seconds()
    return overheads, len(finished) / span if span > 0 else float("inf")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("BATON_TEST_POSTGRES_URL"))
    parser.add_argument("--tasks", type=int, default=200, help="no-op tasks per run")
    parser.add_argument("--runs", type=int, default=3, help="measured runs (after one warm-up run)")
    parser.add_argument("--concurrency", type=int, default=8, help="the worker's slots")
    parser.add_argument("--out", default=str(ROOT / "build" / "bench-java-worker.json"))
    args = parser.parse_args(argv)
    if not args.postgres_url:
        print("bench: set BATON_TEST_POSTGRES_URL (scripts/postgres.sh start prints one)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="baton-bench-java-"))
    worker_jar, bundles = _build(work)
    url = asyncio.run(_create_database(args.postgres_url))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_DATABASE_URL=url,
        BATON_DATA_DIR=str(work / "server"),
        BATON_PORT=str(port),
        BATON_SCHEDULER_INTERVAL="0.05",
        BATON_LOG_LEVEL="warning",
    )
    server = worker = None
    try:
        server = subprocess.Popen([sys.executable, "-m", "baton_server.cli", "serve"], env=env)

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/api/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        _wait("the server", healthy, 120)
        admin = _cli(env, "create-admin-token", "bench")
        token = _cli(env, "create-worker-credential", "bench")
        worker_log = work / "worker.log"
        worker_env = {**env, "BENCH_TASKS": str(args.tasks), "BATON_SERVER_URL": base}
        worker_env["BATON_WORKER_TOKEN"] = token
        with worker_log.open("wb") as out:
            command = ["java", "-jar", str(worker_jar), "--bundles", str(bundles)]
            worker = subprocess.Popen(
                [*command, "--concurrency", str(args.concurrency)],
                env=worker_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait("the worker", lambda: "registered worker" in worker_log.read_text(), 120)
        headers = {"Authorization": f"Bearer {admin}"}
        overheads: list[float] = []
        rates: list[float] = []
        for n in range(args.runs + 1):
            run_id = f"bench_{n}_{int(time.time())}"
            runs = f"{base}/api/dags/java_bench_noop/dag-runs"
            answer = httpx.post(runs, json={"run_id": run_id}, headers=headers, timeout=30)
            answer.raise_for_status()

            def done(run_id: str = run_id, runs: str = runs) -> bool:
                run = httpx.get(f"{runs}/{run_id}", headers=headers, timeout=30).json()
                return run["state"] in ("success", "failed")

            _wait(f"run {run_id}", done, 600)
            if n == 0:
                continue  # warm-up
            run_overheads, rate = _measure(worker_log.read_text(), run_id)
            overheads += run_overheads
            rates.append(rate)
            p50 = statistics.median(run_overheads)
            print(f"run {n}: {len(run_overheads)} tasks, {rate:.0f} tasks/s, overhead p50 {p50:.1f} ms")
        quantiles = statistics.quantiles(overheads, n=100)
        figures = {
            "tasks_per_run": args.tasks,
            "runs": args.runs,
            "concurrency": args.concurrency,
            "overhead_ms_p50": round(statistics.median(overheads), 1),
            "overhead_ms_p90": round(quantiles[89], 1),
            "overhead_ms_mean": round(statistics.fmean(overheads), 1),
            "tasks_per_s_median": round(statistics.median(rates), 1),
        }
        print(json.dumps(figures, indent=2))
        ok = figures["overhead_ms_p50"] <= 50 and figures["tasks_per_s_median"] >= 50
        print(f"targets (<= 50 ms per task, >= 50 tasks/s): {'met' if ok else 'NOT met'}")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        for process in (worker, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        asyncio.run(_drop_database(args.postgres_url, url))
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
