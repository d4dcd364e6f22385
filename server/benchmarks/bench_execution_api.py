"""Benchmark the Task Execution API's hot paths against a real server on PostgreSQL, with wrk.

Run through ``scripts/nox -s bench``. It creates a throw-away database, seeds one DAG run of
running task instances (attempts started through the real ``run`` endpoint), starts
``baton-server serve`` (one process, scheduler off) on 127.0.0.1 and drives it with wrk:

- heartbeats (PUT .../heartbeat) at 1, 16 and 64 connections;
- variable reads (GET /execution/variables/{key}) and XCom pushes (PUT /execution/xcoms/...).

It reports requests/s, p50/p99 latency, non-2xx responses, server CPU per request and RSS, and
writes them as JSON (``--out``). Every run is bounded: a few seconds per scenario, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from baton_server.config import Settings
from baton_server.db.migrate import upgrade
from baton_server.db.tables import DagRecord, DagRunRecord, DagVersionRecord, TaskInstanceRecord
from baton_server.db.types import utcnow
from baton_server.runtime import Runtime
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

HOSTNAME, PID = "bench-host", 4242
VERSION_HEADER = "Baton-API-Version"
AIRFLOW_ANCHOR = {1: 300.0, 16: 240.0, 64: 200.0}  # heartbeats/s of Airflow 3.3.2 on this kind of machine


@dataclass
class Result:
    """One wrk scenario's figures."""

    scenario: str
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    server_cpu_ms_per_request: float
    server_rss_mb: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _create_database(admin_url: str) -> str:
    name = f"baton_bench_{secrets.token_hex(4)}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def throwaway_database(postgres_url: str | None) -> tuple[str, str]:
    """(admin URL, URL of a fresh database) on the benchmark's PostgreSQL; exits when none is given."""
    if not postgres_url:
        raise SystemExit("bench: set BATON_TEST_POSTGRES_URL (scripts/postgres.sh start prints one)")
    admin_url = Settings(database_url=postgres_url).effective_database_url
    return admin_url, asyncio.run(_create_database(admin_url))


async def _drop_database(admin_url: str, url: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    await engine.dispose()


async def _seed(settings: Settings, count: int) -> list[tuple[str, str]]:
    """Create a DAG run with ``count`` queued task instances; return (id, workload token) pairs."""
    runtime = Runtime.create(settings)
    try:
        await upgrade(runtime.engine)
        async with runtime.sessions() as session:
            session.add(DagRecord(dag_id="bench"))
            await session.flush()
            tasks = [{"task_id": f"t{n}", "entry_point": "bench:noop"} for n in range(count)]
            version = DagVersionRecord(
                dag_id="bench", version_number=1, description_hash="0" * 64, description={"tasks": tasks}
            )
            session.add(version)
            await session.flush()
            run = DagRunRecord(
                dag_id="bench",
                run_id="bench_run",
                dag_version_id=version.id,
                state="running",
                logical_date=utcnow(),
            )
            session.add(run)
            await session.flush()
            tis = [
                TaskInstanceRecord(
                    dag_run_id=run.id,
                    dag_id="bench",
                    run_id="bench_run",
                    task_id=f"t{n}",
                    dag_version_id=version.id,
                    state="queued",
                    try_number=1,
                    max_tries=1,
                )
                for n in range(count)
            ]
            session.add_all(tis)
            await session.commit()
            return [(str(ti.id), runtime.tokens.issue(ti.id, 1, "workload")) for ti in tis]
    finally:
        await runtime.close()


def _start_attempts(base: str, version: str, workloads: list[tuple[str, str]]) -> list[tuple[str, str]]:
    started = []
    with httpx.Client(base_url=base, headers={VERSION_HEADER: version}, timeout=30) as client:
        for ti_id, token in workloads:
            response = client.patch(
                f"/execution/task-instances/{ti_id}/run",
                json={
                    "hostname": HOSTNAME,
                    "pid": PID,
                    "unix_user": "bench",
                    "start_date": utcnow().isoformat(),
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            started.append((ti_id, response.headers["Refreshed-API-Token"]))
        client.put(
            "/execution/variables/bench_var",
            json={"value": {"rows": 100, "ok": True}},
            headers={"Authorization": f"Bearer {started[0][1]}"},
        ).raise_for_status()
    return started


_LUA = """
local ids = {%(ids)s}
local tokens = {%(tokens)s}
local n = 0
request = function()
  n = n + 1
  local i = (n %% #ids) + 1
  local headers = {}
  headers["Authorization"] = "Bearer " .. tokens[i]
  headers["Content-Type"] = "application/json"
  headers["%(header)s"] = "%(version)s"
  %(request)s
end
"""

_REQUESTS = {
    "heartbeat": 'return wrk.format("PUT", "/execution/task-instances/" .. ids[i] .. "/heartbeat", headers, '
    f'\'{{"hostname": "{HOSTNAME}", "pid": {PID}}}\')',
    "variable_get": 'return wrk.format("GET", "/execution/variables/bench_var", headers)',
    # A task pushes under its own address: the i-th token belongs to task t(i-1).
    "xcom_push": 'return wrk.format("PUT", "/execution/xcoms/bench/bench_run/t" .. (i - 1) .. "/out", '
    'headers, \'{"value": {"rows": [1, 2, 3], "n": 3}}\')',
}


def _lua(scenario: str, attempts: list[tuple[str, str]], version: str, folder: Path) -> Path:
    script = _LUA % {
        "ids": ", ".join(f'"{ti}"' for ti, _ in attempts),
        "tokens": ", ".join(f'"{tok}"' for _, tok in attempts),
        "header": VERSION_HEADER,
        "version": version,
        "request": _REQUESTS[scenario],
    }
    path = folder / f"{scenario}.lua"
    path.write_text(script)
    return path


def _cpu_ms(pid: int, *, waited_children: bool = False) -> float:
    """CPU time of a process; with ``waited_children``, also of the children it has reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if waited_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _to_ms(value: str) -> float:
    match = re.match(r"([\d.]+)([a-z]+)", value)
    if match is None:
        raise ValueError(f"not a wrk duration: {value!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _wrk(base: str, script: Path, connections: int, seconds: int, server_pid: int, scenario: str) -> Result:
    threads = min(2, connections)
    cpu_before = _cpu_ms(server_pid)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    cpu = _cpu_ms(server_pid) - cpu_before
    (script.parent / f"{scenario}-{connections}.wrk.txt").write_text(out)
    print(out, file=sys.stderr)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(
        scenario=scenario,
        connections=connections,
        requests_per_s=rps,
        p50_ms=_to_ms(re.search(r"^\s*50%\s+(\S+)", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        p99_ms=_to_ms(re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        non_2xx=int(non_2xx_match.group(1)) if non_2xx_match else 0,
        server_cpu_ms_per_request=cpu / max(total, 1),
        server_rss_mb=_rss_mb(server_pid),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default=os.environ.get("BATON_TEST_POSTGRES_URL"))
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--task-instances", type=int, default=64)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("build/bench.json"))
    args = parser.parse_args(argv)
    admin_url, url = throwaway_database(args.postgres_url)
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    signing_key = secrets.token_urlsafe(32)
    settings = Settings(database_url=url, data_dir=folder, signing_key=signing_key, run_scheduler=False)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_DATABASE_URL=url,
        BATON_SIGNING_KEY=signing_key,
        BATON_DATA_DIR=str(folder),
        BATON_PORT=str(port),
        BATON_RUN_SCHEDULER="false",
        BATON_DB_POOL_SIZE=str(args.pool_size),
        BATON_LOG_LEVEL="warning",
    )
    server = None
    results: list[Result] = []
    try:
        from baton_server.api.versions import supported_versions

        version = supported_versions()[-1]
        workloads = asyncio.run(_seed(settings, args.task_instances))
        server = subprocess.Popen([sys.executable, "-m", "baton_server.cli", "serve"], env=env)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/execution/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        attempts = _start_attempts(base, version, workloads)
        scenarios = [("heartbeat", c) for c in (1, 16, 64)] + [("variable_get", 16), ("xcom_push", 16)]
        for scenario, connections in scenarios:
            script = _lua(scenario, attempts, version, folder)
            results.append(_wrk(base, script, connections, args.seconds, server.pid, scenario))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        asyncio.run(_drop_database(admin_url, url))
    header = ("scenario", "conns", "req/s", "p50 ms", "p99 ms", "non2xx", "cpu ms/req", "rss MB")
    print("".join(f"{h:>12}" for h in header))
    for r in results:
        print(
            f"{r.scenario:>12}{r.connections:>12}{r.requests_per_s:>12.0f}{r.p50_ms:>12.2f}{r.p99_ms:>12.2f}"
            f"{r.non_2xx:>12}{r.server_cpu_ms_per_request:>12.3f}{r.server_rss_mb:>12.0f}"
        )
    for r in results:
        if r.scenario == "heartbeat" and r.connections in AIRFLOW_ANCHOR:
            ratio = r.requests_per_s / AIRFLOW_ANCHOR[r.connections]
            anchor = AIRFLOW_ANCHOR[r.connections]
            print(f"heartbeats at {r.connections} connections: {ratio:.1f}x Airflow 3.3.2's ~{anchor:.0f}/s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    failed = [r for r in results if r.non_2xx]
    if failed:
        print(f"bench: {len(failed)} scenario(s) had non-2xx responses", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
