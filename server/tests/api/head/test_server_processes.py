"""Real ``baton-server`` processes on real sockets: the standalone scheduler, two replicas sharing work."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton_server.db.migrate import prepare_database
from baton_server.db.tables import WorkerRecord
from baton_server.runtime import Runtime
from baton_server.services.credentials import issue_credential
from sqlalchemy import select

from tests.conftest import DatabaseFactory, make_settings
from tests.orchestration import FakeWorker, dag, task

SIGNING_KEY = "process-test-signing-key-" + "y" * 32
SPEC_DIR = Path(__file__).resolve().parents[4] / "spec"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(BATON_DATABASE_URL=database_url, BATON_DATA_DIR=str(data_dir), BATON_SIGNING_KEY=SIGNING_KEY)
    env["TMPDIR"] = str(data_dir.parent)  # what a server killed on purpose leaves behind stays here
    env.update(extra)
    return env


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "baton_server.cli", *args], env=env, stderr=out, stdout=out
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=300)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def _healthy(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server answers; fail with its log if it exits, or stays silent for 5 minutes."""
    deadline = time.monotonic() + 300
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"{base_url} exited with {proc.returncode}:\n{_tail(log)}")
            try:
                if (await http.get("/api/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base_url} did not come up:\n{_tail(log)}")


async def _credentials(database_url: str, data_dir: Path, workers: int) -> tuple[str, list[str]]:
    """Migrate the database and issue an admin token and worker credentials."""
    runtime = Runtime.create(make_settings(database_url, data_dir, signing_key=SIGNING_KEY))
    try:
        await prepare_database(runtime)
        async with runtime.sessions() as session:
            admin = (await issue_credential(session, "admin", "operator")).token
            tokens = [(await issue_credential(session, "worker", f"w{i}")).token for i in range(workers)]
    finally:
        await runtime.close()
    return admin, tokens


@asynccontextmanager
async def _worker(base_url: str, token: str, name: str) -> AsyncIterator[FakeWorker]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        worker = FakeWorker(http, name)
        response = await worker.register(capacity=10_000)
        assert response.status_code == 200, response.text
        yield worker


def _no_tracebacks(*logs: Path) -> None:
    for log in logs:
        text = log.read_text(errors="replace")
        assert "Traceback" not in text, f"{log.name}:\n{text[-3000:]}"


async def _claim_within(worker: FakeWorker, seconds: float) -> list[dict[str, Any]]:
    """Long-poll claims until one hands out work or ``seconds`` have passed (then: none)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        claimed = await worker.claim(wait=15)
        if claimed:
            return claimed
    return []


@pytest.mark.parametrize(
    "interval",
    [
        "0.2",
        # Passes an hour apart: only the server's wake-up, relayed to the scheduler's process (over
        # PostgreSQL, or on SQLite over the processes' sockets), starts a run.
        pytest.param("3600", id="woken-by-the-server"),
    ],
)
async def test__scheduler_command__turns_a_triggered_run_into_claimable_work(
    databases: DatabaseFactory, tmp_path: Path, interval: str
) -> None:
    url = await databases.create()
    admin_token, (worker_token,) = await _credentials(url, tmp_path / "data", 1)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = _env(url, tmp_path / "data", BATON_PORT=str(port), BATON_RUN_SCHEDULER="false")
    scheduler_env = _env(url, tmp_path / "data", BATON_SCHEDULER_INTERVAL=interval)
    server_log, scheduler_log = tmp_path / "serve.log", tmp_path / "scheduler.log"
    with (
        _process(["serve"], env, server_log) as server,
        _process(["scheduler"], scheduler_env, scheduler_log) as scheduler,
    ):
        await _healthy(base, server, server_log)
        async with (
            _worker(base, worker_token, "solo") as worker,
            httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {admin_token}"}) as admin,
        ):
            await worker.register_dags(dag("standalone", task("work")))
            # The first run may come before the scheduler listens (it then looks once it does); the
            # second one comes after the first was queued, once the scheduler is past its first pass.
            for run_id in ("first", "second"):
                made = await admin.post("/api/dags/standalone/dag-runs", json={"run_id": run_id})
                assert made.status_code == 201, made.text
                claimed = await _claim_within(worker, 120)
                assert [w["task_instance"]["run_id"] for w in claimed] == [run_id], _tail(scheduler_log)
                await worker.run(claimed[0])
        scheduler.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(scheduler.wait, 30)
    assert exit_code == 0
    _no_tracebacks(server_log, scheduler_log)


@pytest.mark.postgres_only
@pytest.mark.slow
async def test__two_servers_four_claimers__500_workloads__each_claimed_exactly_once(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    tasks_per_run, runs, claimers = 100, 5, 4
    total = tasks_per_run * runs
    url = await databases.create()
    admin_token, tokens = await _credentials(url, tmp_path / "data", claimers)
    ports = [_free_port(), _free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    logs = [tmp_path / f"serve-{i}.log" for i in range(2)]
    # Both replicas run their scheduler too: the runs must still start once each.
    envs = [
        _env(
            url,
            tmp_path / "data",
            BATON_PORT=str(port),
            BATON_SCHEDULER_INTERVAL="0.1",
            BATON_DB_POOL_SIZE="5",
        )
        for port in ports
    ]
    claimed: dict[str, list[str]] = {}
    # Every claimer is registered before any claims, so that a slow start (a loaded machine) does
    # not leave one out; small claims share the work over many rounds.
    all_registered = asyncio.Barrier(claimers)

    async def claim_until_done(index: int) -> None:
        async with _worker(bases[index % 2], tokens[index], f"claimer-{index}") as worker:
            mine = claimed.setdefault(worker.id, [])
            rng = random.Random(index)
            await all_registered.wait()
            while sum(len(ids) for ids in claimed.values()) < total:
                workloads = await worker.claim(max_workloads=rng.randint(1, 5), wait=1.0)
                mine.extend(w["task_instance"]["id"] for w in workloads)

    with _process(["serve"], envs[0], logs[0]) as first, _process(["serve"], envs[1], logs[1]) as second:
        await asyncio.gather(_healthy(bases[0], first, logs[0]), _healthy(bases[1], second, logs[1]))
        async with _worker(bases[0], tokens[0], "registrar") as registrar:
            await registrar.register_dags(dag("wide", *(task(f"t{i:03d}") for i in range(tasks_per_run))))
        async with httpx.AsyncClient(
            base_url=bases[1], headers={"Authorization": f"Bearer {admin_token}"}
        ) as admin:
            for run in range(runs):
                assert (
                    await admin.post("/api/dags/wide/dag-runs", json={"run_id": f"r{run}"})
                ).status_code == 201
            await asyncio.wait_for(
                asyncio.gather(*(claim_until_done(i) for i in range(claimers))), timeout=600
            )
            details: list[dict[str, Any]] = [
                (await admin.get(f"/api/dags/wide/dag-runs/r{run}")).json() for run in range(runs)
            ]

    every_claim = [ti_id for ids in claimed.values() for ti_id in ids]
    assert len(every_claim) == total
    assert Counter(every_claim).most_common(1)[0][1] == 1
    assert all(len(ids) > 0 for ids in claimed.values()), {k: len(v) for k, v in claimed.items()}
    holder = {ti_id: worker_id for worker_id, ids in claimed.items() for ti_id in ids}
    task_instances = [ti for detail in details for ti in detail["task_instances"]]
    assert len(task_instances) == total
    for ti in task_instances:
        assert (ti["state"], ti["try_number"]) == ("queued", 1)
        assert ti["worker_id"] == holder[ti["id"]]
    _no_tracebacks(*logs)


@pytest.mark.postgres_only
@pytest.mark.slow
async def test__two_servers_six_claimers__pool_slots_and_max_active_tasks_never_exceeded(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    pool_slots, max_active = 3, 4
    pooled = [task(f"p{i:02d}", pool="db", pool_slots=1 + i % 2) for i in range(30)]
    capped = [task(f"c{i:02d}") for i in range(30)]
    total, claimers = len(pooled) + len(capped), 6
    url = await databases.create()
    admin_token, tokens = await _credentials(url, tmp_path / "data", claimers)
    ports = [_free_port(), _free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    logs = [tmp_path / f"serve-{i}.log" for i in range(2)]
    envs = [
        _env(url, tmp_path / "data", BATON_PORT=str(port), BATON_SCHEDULER_INTERVAL="0.1") for port in ports
    ]
    # What the claimers hold: added once a claim answers, removed before the attempt's end is sent,
    # so it is always a part of what the server counts; over a limit here is over it on the server.
    held: dict[str, tuple[str, int]] = {}
    done: list[str] = []
    peaks = {"db": 0, "capped": 0}
    all_registered = asyncio.Barrier(claimers)

    def check() -> None:
        in_pool = sum(slots for dag_id, slots in held.values() if dag_id == "pooled")
        in_dag = sum(1 for dag_id, _ in held.values() if dag_id == "capped")
        assert in_pool <= pool_slots, held
        assert in_dag <= max_active, held
        peaks["db"], peaks["capped"] = max(peaks["db"], in_pool), max(peaks["capped"], in_dag)

    async def claim_and_run(index: int) -> None:
        async with _worker(bases[index % 2], tokens[index], f"claimer-{index}") as worker:
            rng = random.Random(index)
            await all_registered.wait()
            while len(done) < total:
                for workload in await worker.claim(max_workloads=rng.randint(1, 4), wait=1.0):
                    ti = workload["task_instance"]
                    slots = 1 + int(ti["task_id"][1:]) % 2 if ti["dag_id"] == "pooled" else 1
                    held[ti["id"]] = (ti["dag_id"], slots)
                    check()
                    started = await worker.start(workload)
                    assert started.status_code == 200, started.text
                    await asyncio.sleep(rng.random() / 20)  # hold it a little: others claim meanwhile
                    del held[ti["id"]]
                    finished = await worker.finish(workload, "success")
                    assert finished.status_code == 200, finished.text
                    done.append(ti["id"])

    with _process(["serve"], envs[0], logs[0]) as first, _process(["serve"], envs[1], logs[1]) as second:
        await asyncio.gather(_healthy(bases[0], first, logs[0]), _healthy(bases[1], second, logs[1]))
        async with httpx.AsyncClient(
            base_url=bases[1], headers={"Authorization": f"Bearer {admin_token}"}
        ) as admin:
            assert (await admin.put("/api/pools/db", json={"slots": pool_slots})).status_code == 200
            async with _worker(bases[0], tokens[0], "registrar") as registrar:
                await registrar.register_dags(
                    dag("pooled", *pooled), dag("capped", *capped, max_active_tasks=max_active)
                )
            for dag_id in ("pooled", "capped"):
                assert (await admin.post(f"/api/dags/{dag_id}/dag-runs", json={})).status_code == 201
            await asyncio.wait_for(asyncio.gather(*(claim_and_run(i) for i in range(claimers))), timeout=600)

    assert sorted(Counter(done).values()) == [1] * total
    assert peaks["db"] >= 2  # the limit was reached for, not just never approached
    assert peaks["capped"] >= 2
    _no_tracebacks(*logs)


def _get_on(sock: socket.socket, path: str) -> bytes:
    """Send one keep-alive GET on ``sock`` and read its whole answer (b"" if the server closed it)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            return answer
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


async def test__idle_connection__outlives_a_client_pools_idle_expiry(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # httpx keeps an idle pooled connection 5 s; a server closing at 5 s too raced requests sent on it.
    url = await databases.create()
    port = _free_port()
    env = _env(url, tmp_path / "data", BATON_PORT=str(port), BATON_RUN_SCHEDULER="false")
    log = tmp_path / "serve.log"
    with _process(["serve"], env, log) as server:
        await _healthy(f"http://127.0.0.1:{port}", server, log)
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            assert _get_on(sock, "/api/health").startswith(b"HTTP/1.1 200")
            await asyncio.sleep(8)  # idle on purpose: longer than a client's pool keeps the connection
            assert _get_on(sock, "/api/health").startswith(b"HTTP/1.1 200")
    _no_tracebacks(log)


async def test__serve__right_after_it_is_healthy__answers_every_version_as_its_spec_says(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # serve builds the latest version before listening and the older ones after: a request for an
    # older version that comes first waits for them, and is answered by that version.
    from baton_server import spec as spec_module
    from baton_server.api.versions import supported_versions

    versions = supported_versions()
    url = await databases.create()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with _process(["serve"], _env(url, tmp_path / "data", BATON_PORT=str(port)), log) as server:
        await _healthy(base, server, log)
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            healths = await asyncio.gather(
                *(http.get("/execution/health", headers={"Baton-API-Version": v}) for v in versions * 3)
            )
            documents = await asyncio.gather(
                *(http.get("/openapi.json", params={"version": v}) for v in versions)
            )
        assert [(h.status_code, h.headers["Baton-API-Version"]) for h in healths] == [
            (200, v) for v in versions * 3
        ]
        for version, document in zip(versions, documents, strict=True):
            assert document.status_code == 200
            emitted = json.dumps(spec_module._normalise(document.json()), indent=2, ensure_ascii=False)
            assert emitted + "\n" == (SPEC_DIR / f"{version}.json").read_text(), version
        server.terminate()
        # uvicorn stops on SIGTERM, then raises it again: the exit is the signal's.
        assert await asyncio.to_thread(server.wait, 60) in (0, -signal.SIGTERM)
    _no_tracebacks(log)


@asynccontextmanager
async def _served(
    databases: DatabaseFactory, tmp_path: Path, **extra: str
) -> AsyncIterator[tuple[subprocess.Popen[bytes], Path]]:
    """``baton-server serve`` on a new database and a free port, once healthy; and its log."""
    url = await databases.create()
    port = _free_port()
    log = tmp_path / "serve.log"
    with _process(["serve"], _env(url, tmp_path / "data", BATON_PORT=str(port), **extra), log) as server:
        await _healthy(f"http://127.0.0.1:{port}", server, log)
        yield server, log


async def test__serve__stopped_right_after_it_is_healthy__exits_cleanly(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # The older versions may still be building in their thread: the process still stops.
    async with _served(databases, tmp_path) as (server, log):
        server.terminate()
        # uvicorn stops on SIGTERM, then raises it again: the exit is the signal's.
        assert await asyncio.to_thread(server.wait, 60) in (0, -signal.SIGTERM)
    _no_tracebacks(log)


async def _worker_seen_at(runtime: Runtime, worker_id: str) -> datetime | None:
    """When the server last recorded a sign of life of the worker (a claim's first look records one)."""
    async with runtime.sessions() as session:
        seen: datetime | None = await session.scalar(
            select(WorkerRecord.last_heartbeat_at).where(WorkerRecord.id == uuid.UUID(worker_id))
        )
        return seen


@pytest.mark.parametrize("processes", ["1", "2"])
async def test__serve__stopped_while_a_claim_long_polls__the_claim_answers_no_workloads_at_once(
    databases: DatabaseFactory, tmp_path: Path, processes: str
) -> None:
    # The claim may wait 60 s, the most a server allows: a stop done long before that did not wait
    # for it (it did: a worker's claim held `serve`'s stop for up to BATON_CLAIM_MAX_WAIT).
    url = await databases.create()
    _, (worker_token,) = await _credentials(url, tmp_path / "data", 1)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = _env(
        url, tmp_path / "data", BATON_PORT=str(port), BATON_CLAIM_MAX_WAIT="60", BATON_PROCESSES=processes
    )
    log = tmp_path / "serve.log"
    runtime = Runtime.create(make_settings(url, tmp_path / "data", signing_key=SIGNING_KEY))
    try:
        with _process(["serve"], env, log) as server:
            await _healthy(base, server, log)
            async with _worker(base, worker_token, "w0") as worker:
                registered = await _worker_seen_at(runtime, worker.id)
                started = time.monotonic()
                claim = asyncio.ensure_future(worker.claim(wait=60))
                # Its first look made (and found nothing): from here on the claim waits.
                while await _worker_seen_at(runtime, worker.id) == registered:
                    assert not claim.done(), claim.result()
                    await asyncio.sleep(0.05)
                server.terminate()
                assert await claim == []
                exit_code = await asyncio.to_thread(server.wait, 120)
                stopped_after = time.monotonic() - started
    finally:
        await runtime.close()
    # uvicorn stops on SIGTERM, then raises it again: the exit is the signal's.
    assert exit_code in (0, -signal.SIGTERM)
    assert stopped_after < 50
    _no_tracebacks(log)


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` that are still processes."""
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()}


def _accepted_on(port: int, pid: int) -> int:
    """How many established TCP connections to ``port`` the process ``pid`` holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:
            count += 1
    return count


async def _until(condition: Any, what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s: {what}")
        await asyncio.sleep(0.1)


async def _connections_of(url: str) -> int:
    """The server's connections to the PostgreSQL database of ``url``."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            count: int = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = :name AND application_name LIKE 'baton-server%'"
                ),
                {"name": make_url(url).database},
            )
    finally:
        await engine.dispose()
    return count


async def _scrape(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=60) as scraper:
        response = await scraper.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text


def _requests(metrics: str, operation: str, version: str) -> float:
    """``baton_http_requests_total`` of one operation and API version, every status added up."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("baton_http_requests_total{")
        and f'operation="{operation}"' in line
        and f'version="{version}"' in line
    )


async def test__serve_with_two_processes__spreads_connections__shares_pool_and_metrics__replaces_a_dead_one(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    url = await databases.create()
    admin_token, (worker_token,) = await _credentials(url, tmp_path / "data", 1)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = _env(
        url,
        tmp_path / "data",
        BATON_PORT=str(port),
        BATON_PROCESSES="2",
        BATON_DB_POOL_SIZE="4",
        BATON_SCHEDULER_INTERVAL="0.2",
    )
    log = tmp_path / "serve.log"
    with _process(["serve"], env, log) as server:
        await _healthy(base, server, log)
        await _until(lambda: len(_children(server.pid)) == 2, "two server processes")
        first = _children(server.pid)

        # 24 connections held open at once: the kernel spreads them over both processes (all in one:
        # a chance of one in eight million with an even spread). Each asks for one of the versions,
        # all built before the processes were forked.
        from baton_server.api.versions import supported_versions

        versions = supported_versions()
        clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(24)]
        try:
            asked = [versions[i % len(versions)] for i in range(len(clients))]
            answers = await asyncio.gather(
                *(
                    c.get("/execution/health", headers={"Baton-API-Version": v})
                    for c, v in zip(clients, asked, strict=True)
                )
            )
            assert [(a.status_code, a.headers["Baton-API-Version"]) for a in answers] == [
                (200, v) for v in asked
            ]
            accepted = {pid: _accepted_on(port, pid) for pid in first}
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        assert sum(accepted.values()) == 24, accepted
        assert min(accepted.values()) >= 1, accepted

        async def work_flows(run_id: str) -> None:
            # The scheduler (in the first process only) turns the run into a claimable workload.
            async with _worker(base, worker_token, f"w-{run_id}") as worker:
                await worker.register_dags(dag("forked", task("work")))
                async with httpx.AsyncClient(
                    base_url=base, headers={"Authorization": f"Bearer {admin_token}"}
                ) as admin:
                    made = await admin.post("/api/dags/forked/dag-runs", json={"run_id": run_id})
                    assert made.status_code == 201, made.text
                claimed = await worker.claim(wait=15)
                assert [w["task_instance"]["run_id"] for w in claimed] == [run_id]

        await work_flows("before")
        metrics = await _scrape(base)
        # Both processes' shares (2 each) added up; on PostgreSQL each keeps one for its wake-up relay.
        pooled = "\nbaton_db_pool_size 2.0\n" if databases.is_postgres else "\nbaton_db_pool_size 4.0\n"
        assert pooled in metrics
        # Whichever process answers the scrape counts every process's requests (6 of the 24 asked
        # for the oldest version, which nothing else in this test asks for).
        assert _requests(metrics, "check_health", versions[0]) == 6
        if databases.is_postgres:
            # The pool of 4 is shared: 2 connections each at most, the relay's among them.
            assert 2 <= await _connections_of(url) <= 4

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        await _until(
            lambda: len(_children(server.pid)) == 2 and victim not in _children(server.pid),
            "the killed process replaced",
        )
        await _healthy(base, server, log)
        await work_flows("after")
        for _ in range(10):
            async with httpx.AsyncClient(base_url=base, timeout=60) as fresh:
                answer = await fresh.get("/execution/health", headers={"Baton-API-Version": versions[0]})
                assert answer.status_code == 200
        metrics = await _scrape(base)
        # The killed process's requests still count; its pool no longer does, its successor's does.
        assert _requests(metrics, "check_health", versions[0]) == 16
        assert pooled in metrics

        children = _children(server.pid)
        server.terminate()
        assert await asyncio.to_thread(server.wait, 120) == 0
    assert not _alive(children)
    text = log.read_text(errors="replace")
    assert f"(pid {victim}) was killed by signal {signal.SIGKILL.value}; starting it again" in text
    _no_tracebacks(log)


async def test__serve_with_two_processes__supervisor_killed__its_processes_stop_too(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    async with _served(databases, tmp_path, BATON_PROCESSES="2", BATON_DB_POOL_SIZE="2") as (server, _):
        await _until(lambda: len(_children(server.pid)) == 2, "two server processes")
        children = _children(server.pid)
        server.kill()
        await asyncio.to_thread(server.wait, 60)
        await _until(lambda: not _alive(children), "the server processes gone with their supervisor")


def test__serve_forked__a_process_that_cannot_start__stops_the_server_with_an_error() -> None:
    from baton_server.processes import serve_forked

    assert serve_forked(2, lambda index: False) == 1


_STOPPED_WHILE_FORKING = """
import os, signal, sys
from baton_server import processes

real_fork = os.fork
forks = []

def fork():
    pid = real_fork()
    if pid != 0:
        forks.append(pid)
        if len(forks) == 1:  # the stop comes as the first process was just forked
            os.kill(os.getpid(), signal.SIGTERM)
    return pid

os.fork = fork

def serve(index):
    while True:
        signal.pause()

sys.exit(processes.serve_forked(2, serve))
"""


def test__serve_forked__stopped_while_it_forks__every_process_stops_and_so_does_the_supervisor(
    tmp_path: Path,
) -> None:
    # A SIGTERM that came between a fork and the record of its child was never passed on to that
    # child, and the processes forked after it were started all the same: the supervisor waited for
    # them for ever. It must stop them all and exit 0.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen(
        [sys.executable, "-c", _STOPPED_WHILE_FORKING],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    ) as supervisor:
        try:
            output, _ = supervisor.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(supervisor.pid, signal.SIGKILL)  # its session: the supervisor and its children
            supervisor.communicate()
            raise AssertionError("the supervisor still waited for its processes after 120 s") from None
    assert supervisor.returncode == 0, output.decode(errors="replace")
