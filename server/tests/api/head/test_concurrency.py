"""Concurrency on PostgreSQL: one winner per start, and a bounded connection pool under load."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.factories import RUN_PAYLOAD, attempt_of, make_dag_run, started

pytestmark = pytest.mark.postgres_only

_CLIENT = """
import json, sys, time, httpx
port, pid, start_at, jobs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
payload = {"hostname": "host-%d" % pid, "pid": pid, "unix_user": "u",
           "start_date": "2026-11-24T12:00:00+00:00"}
with httpx.Client(base_url="http://127.0.0.1:%d" % port, timeout=30) as client:
    time.sleep(max(0.0, start_at - time.time()))
    codes = {}
    for ti, token in jobs:
        r = client.patch("/execution/task-instances/%s/run" % ti, json=payload,
                         headers={"Authorization": "Bearer " + token})
        codes[ti] = r.status_code
print(json.dumps(codes))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 300  # a cold start on a loaded machine
    # One client for every probe: a client per probe builds an SSL context each time.
    with httpx.Client(timeout=10) as http:
        while time.monotonic() < deadline:
            try:
                if http.get(f"http://127.0.0.1:{port}/execution/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
    raise AssertionError("the server did not come up")


def _race(jobs: list[list[str]], database_url: str, signing_key: str, data_dir: Path) -> list[dict[str, int]]:
    """Start a real server, then two client processes that call `run` for every job at the same instant."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_DATABASE_URL=database_url,
        BATON_SIGNING_KEY=signing_key,
        BATON_DATA_DIR=str(data_dir),
        BATON_PORT=str(port),
        BATON_RUN_SCHEDULER="false",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "baton_server.cli", "serve"], env=env, stderr=subprocess.DEVNULL
    )
    try:
        _wait_healthy(port)
        start_at = time.time() + 2.0
        clients = [
            subprocess.Popen(
                [sys.executable, "-c", _CLIENT, str(port), str(pid), str(start_at), json.dumps(jobs)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for pid in (1001, 1002)
        ]
        return [json.loads(c.communicate(timeout=300)[0]) for c in clients]
    finally:
        proc.terminate()
        proc.wait(timeout=300)


async def test__run__two_processes_race__exactly_one_wins(server: ServerHarness, tmp_path: Path) -> None:
    tis = await make_dag_run(server.runtime, task_ids=tuple(f"t{n}" for n in range(25)))
    jobs = [[str(ti.id), attempt_of(server.runtime, ti).workload_token] for ti in tis.values()]
    key = server.settings.signing_key
    assert key is not None
    results = await asyncio.to_thread(
        _race, jobs, server.settings.effective_database_url, key.get_secret_value(), tmp_path
    )
    for ti, _token in jobs:
        assert sorted([results[0][ti], results[1][ti]]) == [200, 409], (ti, results[0][ti], results[1][ti])


async def test__heartbeats__200_concurrent__never_more_connections_than_pool(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    pool_size = 4
    url = await databases.create()
    harness = ServerHarness(make_settings(url, tmp_path, db_pool_size=pool_size))
    await harness.start()
    monitor = create_async_engine(url, pool_size=1, max_overflow=0)
    database = make_url(url).database
    peak = 0
    done = asyncio.Event()
    sampled = asyncio.Event()

    async def sample() -> None:
        """Count the server's connections until the calls are done, and once more after them (the
        connections its pool kept): a slow start or a fast run of the calls cannot leave it unsampled."""
        nonlocal peak
        async with monitor.connect() as conn:
            while True:
                last = done.is_set()
                count = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = :db AND application_name LIKE 'baton-server%'"
                    ),
                    {"db": database},
                )
                peak = max(peak, int(count or 0))
                sampled.set()
                if last:
                    return
                await asyncio.sleep(0.005)

    try:
        async with harness.client() as client:
            attempts = await started(harness.runtime, client, task_ids=tuple(f"t{n}" for n in range(50)))
            sampler = asyncio.create_task(sample())
            while not sampled.is_set():  # its connection made: it samples while the calls run
                if sampler.done():
                    sampler.result()  # raises what stopped it
                await asyncio.sleep(0.01)
            body = {"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]}
            calls = [
                client.put(f"/execution/task-instances/{a.id}/heartbeat", json=body, headers=a.headers())
                for a in attempts.values()
                for _ in range(4)
            ]
            responses = await asyncio.gather(*calls)
            done.set()
            await sampler
    finally:
        await monitor.dispose()
        await harness.stop()
    assert len(responses) == 200
    assert {r.status_code for r in responses} == {204}
    assert 0 < peak <= pool_size, peak
