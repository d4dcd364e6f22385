"""How long ``baton-server serve`` takes from its process start to a healthy ``/execution/health``.

Run by ``scripts/nox -s bench`` (or alone: ``python server/benchmarks/bench_cold_start.py
[--starts 5] [--postgres-url URL]``). Each start is a new process on a free port of 127.0.0.1,
timed until the health check answers 200 (polled every 20 ms): the first on a fresh data folder
(the database is created and migrated), the others on the same folder (the database is at the
code's head, the common case of a restart). With ``--postgres-url`` it does the same on a
throw-away PostgreSQL database. Right after the first 200 it asks for the health of the oldest
API version, which the server builds after it listens (a request for it waits for it), and reports
when that answered too. Reports each start, the median and the load average, as JSON (``--out``).
Target (issue 16): ≤ 3 s on an idle machine. Bounded: every start has 300 s.
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
from baton_server.api.versions import supported_versions
from bench_execution_api import _drop_database, _free_port, _stop, _tree_cpu_ms, throwaway_database

START_PATIENCE_S = 300.0
OLDEST_VERSION = supported_versions()[0]


def _start_seconds(
    folder: Path, database_url: str | None, signing_key: str, processes: int = 1
) -> tuple[float, float, float]:
    """One server start: (seconds from the process's launch to the first 200 from the health check,
    CPU seconds the process spent by then — a busy machine stretches the first far more — and
    seconds from the launch to the oldest version's health answering, asked right after)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_DATA_DIR=str(folder),
        BATON_PORT=str(port),
        BATON_SIGNING_KEY=signing_key,
        BATON_LOG_LEVEL="warning",
        BATON_PROCESSES=str(processes),
    )
    if database_url:
        env["BATON_DATABASE_URL"] = database_url
    server_command = Path(sys.executable).with_name("baton-server")
    # One client for every probe, built before the clock starts: a client per probe built an SSL
    # context each time (tens of ms of CPU every 20 ms), a core taken from the start it measured.
    http = httpx.Client(timeout=2)
    started = time.perf_counter()
    process = subprocess.Popen([str(server_command), "serve"], env=env)
    try:
        deadline = started + START_PATIENCE_S
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"bench: the server exited with {process.returncode} while starting")
            try:
                if http.get(f"http://127.0.0.1:{port}/execution/health").status_code == 200:
                    healthy, cpu = time.perf_counter() - started, _tree_cpu_ms(process.pid) / 1000
                    oldest = http.get(
                        f"http://127.0.0.1:{port}/execution/health",
                        headers={"Baton-API-Version": OLDEST_VERSION},
                        timeout=START_PATIENCE_S,
                    )
                    if oldest.status_code != 200:
                        raise SystemExit(f"bench: {OLDEST_VERSION}'s health answered {oldest.status_code}")
                    return healthy, cpu, time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise SystemExit(f"bench: no healthy server within {START_PATIENCE_S:.0f} s")
    finally:
        _stop(process)
        http.close()


def _series(name: str, starts: int, database_url: str | None, processes: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-start-"))
    signing_key = secrets.token_urlsafe(32)
    try:
        first, first_cpu, first_oldest = _start_seconds(folder, database_url, signing_key, processes)
        again = [_start_seconds(folder, database_url, signing_key, processes) for _ in range(starts - 1)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{name}: first start (fresh database, migrated) {first:.2f} s ({first_cpu:.2f} s CPU); "
        f"restarts {', '.join(f'{s:.2f}' for s, _, _ in again)} s, "
        f"median {statistics.median(s for s, _, _ in again):.2f} s "
        f"({statistics.median(c for _, c, _ in again):.2f} s CPU) (target <= 3 s); "
        f"{OLDEST_VERSION} answered at median {statistics.median(o for _, _, o in again):.2f} s",
        flush=True,
    )
    return {
        "database": name,
        "processes": processes,
        "first_start_s": first,
        "first_start_cpu_s": first_cpu,
        "first_start_oldest_version_s": first_oldest,
        "restarts_s": [s for s, _, _ in again],
        "restarts_cpu_s": [c for _, c, _ in again],
        "restarts_oldest_version_s": [o for _, _, o in again],
    }


def main(argv: list[str] | None = None) -> int:
    """Time server starts on SQLite (and PostgreSQL when given); print them and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--starts", type=int, default=5, help="per database, the first included (>= 2)")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument(
        "--processes", type=int, default=1, help="BATON_PROCESSES (CPU counted over all the processes)"
    )
    parser.add_argument("--out", type=Path, default=Path("build/bench-cold-start.json"))
    args = parser.parse_args(argv)
    if args.starts < 2:
        parser.error("--starts must be at least 2: a first start and a restart")
    load_before = os.getloadavg()
    series = [_series("SQLite (the embedded default)", args.starts, None, args.processes)]
    if args.postgres_url:
        admin_url, url = throwaway_database(args.postgres_url)
        try:
            series.append(_series("PostgreSQL", args.starts, url, args.processes))
        finally:
            asyncio.run(_drop_database(admin_url, url))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"load_average": {"before": load_before, "after": os.getloadavg()}, "series": series}, indent=2
        )
        + "\n"
    )
    print(f"load average {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}; written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
