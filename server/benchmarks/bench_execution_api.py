"""Benchmark the Task Execution API against a real server on PostgreSQL, with wrk, beside its anchors.

Run through ``scripts/nox -s bench [-- --against airflow]``. It creates a throw-away database, seeds one
DAG run of running task instances (attempts started through the real ``run`` endpoint), starts
``baton-server serve`` (one process, scheduler off), the bare FastAPI + PyJWT + asyncpg routes
(``bare_routes.py``) and, with ``--against airflow``, Airflow 3.3.2's execution API
(``_airflow_anchor.py``), all on 127.0.0.1, and drives them alike with wrk, interleaved: per round,
scenario and client count (1, 16, 64), each target in turn — Baton at its newest and its oldest API
version, the bare routes and Airflow (neither has the log upload), each round starting one target later
than the round before, so that no target always runs right after the same one. The ``run_state``
scenario starts and finishes fresh attempts — each request a ``run`` of a queued attempt seeded for that
wrk run, or the ``state`` (success) of one just started — on Baton and Airflow; the ``claim`` scenario
is workers' loops (claim one workload, run it, finish it), on Baton only (Airflow's executor hands
workloads out); the ``worker_heartbeat`` scenario is registered workers' signs of life, on Baton and
the bare routes (Airflow's execution API has no workers of its own).

It reports requests/s, p50/p99 latency, non-2xx responses (any of Baton's or the bare routes' fails the
benchmark; an Airflow run with any is left out of the ratios and listed), server CPU per request, RSS,
PostgreSQL connections held and the load average, Baton's ratios to each other target as the median and
min-max over the rounds, and writes everything as JSON (``--out``). After the rounds, each scenario runs
paced below saturation (``--paced``) and in pairs of back-to-back runs of the newest and the oldest
version (``--version-pairs``): what the oldest costs, with the machine's drift falling on both. Every run
is bounded: a few seconds per scenario, loopback only; it stops what it started and drops its databases.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import httpx
from baton_server.config import Settings
from baton_server.db.migrate import upgrade
from baton_server.db.tables import (
    ConnectionRecord,
    DagRecord,
    DagRunRecord,
    DagVersionRecord,
    PoolRecord,
    TaskInstanceRecord,
)
from baton_server.db.types import utcnow
from baton_server.runtime import Runtime
from baton_server.services.credentials import issue_credential
from baton_server.services.dag_specs import DEFAULT_POOL, DagSpec, TaskSpec
from baton_server.services.tokens import TokenService
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

HOSTNAME, PID = "bench-host", 4242
VERSION_HEADER = "Baton-API-Version"
CLIENTS = (1, 16, 64)


@dataclass
class Result:
    """One wrk scenario's figures."""

    target: str
    scenario: str
    connections: int
    round: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    server_cpu_ms_per_request: float
    server_rss_mb: float
    load_average: float
    server_cores: float = 0.0  # the server's CPU over the run's wall time: 1.0 is one core all along
    machine_busy: float = 0.0  # the share of the machine's CPU time busy during the run (all processes)
    server_pss_mb: float = 0.0  # proportional set size of the process tree: shared pages counted once
    asked_per_s: float = 0.0  # a paced run's rate (0: a closed loop)
    requests: int = 0  # answers counted in the run (0 in runs saved before 2026-12-07)
    # The server's threads' time runnable but not running (waiting for a core), summed over its threads, over
    # the run's wall time: 0.1 is a tenth of it for a server of one busy thread; a server of many runnable
    # threads (Airflow's thread pool) can pass 1 (0 in runs saved before 2026-12-07).
    server_waited: float = 0.0
    wrk_waited: float = 0.0  # the same for wrk's threads


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


async def _dag_version(session: AsyncSession, dag_id: str, task_ids: list[str]) -> DagVersionRecord:
    """A DAG and its first version, described as registration stores it (so that the scheduler, when
    on, reads it as it would): independent no-op tasks."""
    session.add(DagRecord(dag_id=dag_id))
    spec = DagSpec(
        dag_id=dag_id, tasks=tuple(TaskSpec(task_id=t, entry_point="bench:noop") for t in task_ids)
    )
    version = DagVersionRecord(
        dag_id=dag_id, version_number=1, description_hash=spec.content_hash(), description=spec.to_document()
    )
    session.add(version)
    await session.flush()
    return version


async def _queued_run(
    session: AsyncSession, version: DagVersionRecord, run_id: str, task_ids: list[str]
) -> list[TaskInstanceRecord]:
    """A running DAG run of ``version`` with a queued first try of each task."""
    run = DagRunRecord(
        dag_id=version.dag_id,
        run_id=run_id,
        dag_version_id=version.id,
        state="running",
        logical_date=utcnow(),
    )
    session.add(run)
    await session.flush()
    tis = [
        TaskInstanceRecord(
            dag_run_id=run.id,
            dag_id=version.dag_id,
            run_id=run_id,
            task_id=task_id,
            dag_version_id=version.id,
            state="queued",
            try_number=1,
            max_tries=1,
        )
        for task_id in task_ids
    ]
    session.add_all(tis)
    return tis


async def _seed(
    settings: Settings, count: int, worker_dags: list[str] | None = None
) -> tuple[list[tuple[str, str]], str]:
    """Create a DAG run with ``count`` queued task instances and a worker credential (for the DAG id
    patterns ``worker_dags``; None: every DAG); return (id, workload token) pairs and the credential's
    token (the ``claim`` scenario's workers')."""
    runtime = Runtime.create(settings)
    try:
        await upgrade(runtime.engine)
        async with runtime.sessions() as session:
            session.add(
                ConnectionRecord(conn_id="bench_conn", conn_type="postgres", host="db.example", port=5432)
            )
            task_ids = [f"t{n}" for n in range(count)]
            version = await _dag_version(session, "bench", task_ids)
            tis = await _queued_run(session, version, "bench_run", task_ids)
            await session.commit()
            worker = await issue_credential(session, "worker", "bench-worker", dag_patterns=worker_dags)
            return [(str(ti.id), runtime.tokens.issue(ti.id, 1, "workload")) for ti in tis], worker.token
    finally:
        await runtime.close()


FRESH_TASKS_PER_RUN = 10
FRESH_PER_SECOND = 1500
"""Queued attempts seeded per second of a ``run_state`` or ``claim`` wrk run: more than it can start (each
start is followed by its finish, two requests); running out fails the run loudly (a 409 for a reused
one, an empty claim)."""
AIRFLOW_FRESH_PER_SECOND = 150
"""The same for Airflow, whose attempts are made up front by ``airflow_prepare.py`` (through its own
``create_dagrun``, far slower than Baton's seeding): above what its ``run`` and ``state`` reach here."""


def _seed_engine(settings: Settings) -> AsyncEngine:
    """An engine whose connections are named ``bench-seed``: not ones the server holds."""
    return create_async_engine(
        settings.effective_database_url, connect_args={"server_settings": {"application_name": "bench-seed"}}
    )


async def _seed_fresh(settings: Settings, count: int, tag: str) -> list[tuple[str, str]]:
    """``count`` queued task instances in DAG runs of ``FRESH_TASKS_PER_RUN`` independent tasks (as a
    real run's end is decided over its own few tasks); (id, workload token) pairs, in order."""
    engine = _seed_engine(settings)
    assert settings.signing_key is not None
    tokens = TokenService(settings.signing_key.get_secret_value(), workload_ttl=86400, execution_ttl=86400)
    task_ids = [f"f{n}" for n in range(FRESH_TASKS_PER_RUN)]
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            version = await session.scalar(
                select(DagVersionRecord).where(DagVersionRecord.dag_id == "bench_fresh")
            )
            if version is None:
                version = await _dag_version(session, "bench_fresh", task_ids)
            tis = []
            for k in range(-(-count // FRESH_TASKS_PER_RUN)):
                tis += await _queued_run(session, version, f"fresh_{tag}_{k}", task_ids)
            await session.commit()
        await _settle(engine)
        return [(str(ti.id), tokens.issue(ti.id, 1, "workload")) for ti in tis[:count]]
    finally:
        await engine.dispose()


async def _limit_a_pool(settings: Settings, which: str) -> None:
    """A pool with a slot limit (``--limited-pool``): every claim then takes the path under limits, as in an
    installation where some pool or DAG is limited. ``elsewhere``: a pool no seeded task names; ``tasks``:
    the seeded tasks' own pool, with more slots than the run can take, so that each claim counts them."""
    engine = _seed_engine(settings)
    try:
        async with async_sessionmaker(engine)() as session:
            name, slots = ("bench_limited", 5) if which == "elsewhere" else (DEFAULT_POOL, 1_000_000)
            await session.merge(PoolRecord(name=name, slots=slots, updated_at=utcnow()))
            await session.commit()
    finally:
        await engine.dispose()


async def _more_dags(settings: Settings, limited: int, idle: int) -> None:
    """DAGs with no runs: ``limited`` with ``max_active_tasks`` (``--limited-dags``), ``idle`` with no
    limit (``--idle-dags``)."""
    engine = _seed_engine(settings)
    try:
        async with async_sessionmaker(engine)() as session:
            session.add_all(DagRecord(dag_id=f"limited_{n}", max_active_tasks=16) for n in range(limited))
            session.add_all(DagRecord(dag_id=f"idle_{n}") for n in range(idle))
            await session.commit()
        async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            # As autovacuum's analyze keeps them in a running installation: the planner then knows how
            # few DAGs set a limit.
            await conn.execute(text("ANALYZE dags"))
        await _settle(engine)
    finally:
        await engine.dispose()


async def _settle(engine: AsyncEngine) -> None:
    """Leave ``task_instances`` as autovacuum keeps it in a running installation before a measured run:
    dead rows and their index entries gone, new rows' visibility settled, the planner's statistics
    fresh. Otherwise a run pays for the seeding before it (its claims step over the index entries of
    every attempt retired since the last autovacuum; its reads set hint bits on rows just written),
    and two runs of one scenario differ by up to 3x with the same CPU per request."""
    async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        await conn.execute(text("VACUUM (ANALYZE) task_instances"))


async def _retire_fresh(settings: Settings) -> None:
    """Take what a ``run_state`` or ``claim`` run left queued out of the queue (skipped), so that the next
    run's claims look at its own seeding only, not at a queue grown by every run before it."""
    engine = _seed_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE task_instances SET state = 'skipped' "
                    "WHERE dag_id = 'bench_fresh' AND state = 'queued' AND worker_id IS NULL"
                )
            )
        await _settle(engine)
    finally:
        await engine.dispose()


CLAIM_WORKERS = 64
"""Workers of the ``claim`` scenario, its requests taking turns among them: a worker's claims run one
after another (its slots are counted under its row's lock), as the claims of many workers do not."""


def _register_workers(
    base: str, version: str, token: str, count: int = CLAIM_WORKERS, first: int = 0
) -> list[str]:
    """Register ``count`` workers named from ``bench-worker-<first>`` on (the ``claim`` scenario's: one
    queue, room for every attempt in flight); their ids."""
    with httpx.Client(base_url=base, headers={VERSION_HEADER: version}, timeout=30) as client:
        ids = []
        for n in range(count):
            response = client.post(
                "/workers/registrations",
                json={
                    "name": f"bench-worker-{first + n}",
                    "queues": ["default"],
                    "capacity": 1000,
                    "runtime": "python",
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
        return ids


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


def _start_airflow_attempts(base: str, workloads: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Start each attempt through Airflow's own ``run``; its answer carries the execution token."""
    started = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for ti_id, token, task_id in workloads:
            response = client.patch(
                f"/execution/task-instances/{ti_id}/run",
                json={
                    "state": "running",
                    "hostname": HOSTNAME,
                    "unixname": "bench",
                    "pid": PID,
                    "start_date": utcnow().isoformat(),
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            started.append((ti_id, response.headers["Refreshed-API-Token"], task_id))
    return started


_LUA = """
local ids = {%(ids)s}
local tokens = {%(tokens)s}
local tasks = {%(tasks)s}
local n = 0
local threads_made = 0
setup = function(thread)  -- each thread its own share of the attempts, not the same ones in step
  thread:set("offset", threads_made)
  thread:set("stride", %(threads)d)
  threads_made = threads_made + 1
end
request = function()
  n = n + 1
  local i = ((n * stride + offset) %% #ids) + 1
  local headers = {}
  headers["Authorization"] = "Bearer " .. tokens[i]
  headers["Content-Type"] = "application/json"
  %(version_header)s
  %(request)s
end
"""

_PACED_LUA = """
-- An open loop: this thread's requests leave on a fixed schedule (its share of the rate), whichever
-- connection is free, rather than each connection's next one as soon as its answer came (which
-- would make the connections move in step). Late ones leave at once, so the schedule holds.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local interval, due = %(interval_ms)f, nil
delay = function()
  local now = now_ms()
  due = due or now
  local wait = due - now
  due = due + interval
  return wait > 0 and math.floor(wait) or 0
end
"""

_LIFECYCLE_LUA = """
-- What the run/state and claim scripts share: attempts started and not yet finished (any
-- connection's), each found from its execution token's subject — its task instance, in Baton's
-- tokens as in Airflow's: the JWT payload's "sub".
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local sextet = {}
for k = 1, #alphabet do sextet[alphabet:sub(k, k)] = k - 1 end
local function base64url(text)
  local out, acc, bits = {}, 0, 0
  for c in text:gmatch(".") do
    acc, bits = acc * 64 + sextet[c], bits + 6
    if bits >= 8 then
      bits = bits - 8
      local byte = math.floor(acc / 2 ^ bits)
      out[#out + 1] = string.char(byte)
      acc = acc - byte * 2 ^ bits
    end
  end
  return table.concat(out)
end
local function subject(token)
  local payload = token and string.match(token, "^[^.]+%%.([^.]+)%%.")
  return payload and string.match(base64url(payload), '"sub"%%s*:%%s*"([^"]+)"')
end
local started, first, last = {}, 1, 0
local function headers_for(token)
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. token
  %(version_header)s
  return headers
end
-- The state of the oldest attempt started and not finished yet; nil when there is none.
local function next_state()
  if last < first then return nil end
  local attempt = started[first]
  started[first] = nil
  first = first + 1
  local path = "/execution/task-instances/" .. attempt[1] .. "/state"
  return wrk.format("PATCH", path, headers_for(attempt[2]), '%(state)s')
end
local function run(id, token)
  return wrk.format("PATCH", "/execution/task-instances/" .. id .. "/run", headers_for(token), '%(run)s')
end
-- A run's answer: its attempt is started when it carries the execution token.
local function took_run(headers)
  for name, value in pairs(headers) do
    if string.lower(name) == "refreshed-api-token" and subject(value) then
      last = last + 1
      started[last] = {subject(value), value}
      return true
    end
  end
  return false
end
local threads = {}
setup = function(thread)
  thread:set("offset", #threads)
  thread:set("stride", %(threads)d)
  threads[#threads + 1] = thread
end
"""

_RUN_STATE_LUA = (
    _LIFECYCLE_LUA
    + """
local ids = {%(ids)s}
local tokens = {%(tokens)s}
local n = 0
request = function()
  local state = next_state()
  if state then return state end
  -- This thread's share of the fresh attempts; past the end it reuses one, whose 409 fails the run.
  local i = ((n * stride + offset) %% #ids) + 1
  n = n + 1
  return run(ids[i], tokens[i])
end
response = function(status, headers, body)
  took_run(headers)
end
"""
)

_CLAIM_LUA = (
    _LIFECYCLE_LUA
    + """
-- A worker's loop, as fast as it goes: claim one workload, start it (run, with the workload token
-- the claim handed out), finish it (state, with the execution token run handed out).
local claimed, cfirst, clast = {}, 1, 0
local workers, w = {%(workers)s}, 0
empty = 0  -- claims answered with no workload: the queue ran dry, which fails the run
request = function()
  local state = next_state()
  if state then return state end
  if clast >= cfirst then
    local workload = claimed[cfirst]
    claimed[cfirst] = nil
    cfirst = cfirst + 1
    return run(workload[1], workload[2])
  end
  -- The workers take turns; each thread its own share of them.
  local claim = "/workers/" .. workers[((w * stride + offset) %% #workers) + 1] .. "/claims"
  w = w + 1
  return wrk.format("POST", claim, headers_for("%(worker_token)s"), '{"max_workloads": 1}')
end
response = function(status, headers, body)
  if took_run(headers) or not string.find(body, '"workloads"', 1, true) then return end
  local workload = string.match(body, '"token"%%s*:%%s*"([^"]+)"')
  if workload then
    clast = clast + 1
    claimed[clast] = {subject(workload), workload}
  else
    empty = empty + 1
  end
end
done = function(summary, latency, requests)
  local dry = 0
  for _, thread in ipairs(threads) do dry = dry + thread:get("empty") end
  io.write(string.format("Empty claims: %%d\\n", dry))
end
"""
)
UNIX_USER_SINCE = "2026-10-15"
"""The API version whose ``run`` body first has ``unix_user`` (an older one refuses the field)."""


def _run_body(version: str | None) -> str:
    unix_user = '"unix_user": "bench", ' if version is None or version >= UNIX_USER_SINCE else ""
    return f'{{"hostname": "{HOSTNAME}", "pid": {PID}, {unix_user}"start_date": "2026-12-04T10:00:00Z"}}'


_STATE_BODY = '{"state": "success", "end_date": "2026-12-04T10:00:01Z"}'
_HEARTBEAT_BODY = f'{{"hostname": "{HOSTNAME}", "pid": {PID}}}'
_LOG_BODY = '{"lines": [{"timestamp": "2026-12-03T10:00:00Z", "level": "info", "message": "bench line"}]}'
_XCOM = '"/execution/xcoms/bench/" .. RUN .. "/" .. tasks[i] .. "/out"'

_AIRFLOW_RUN_BODY = (
    f'{{"state": "running", "hostname": "{HOSTNAME}", "unixname": "bench", "pid": {PID}, '
    '"start_date": "2026-12-04T10:00:00Z"}'
)
_AIRFLOW_STATE_BODY = (
    '{"state": "success", "end_date": "2026-12-04T10:00:01Z", "task_outlets": [], "outlet_events": []}'
)

# Each target's request per scenario (Lua); None: the target has no such request.
PACED_SUFFIX = " paced"
"""What a paced run's target name ends with (``--paced``): the target's, on a fixed schedule."""
PACED_TARGETS = ("bare",)
"""The targets paced beside Baton's newest version (the anchors' own latency below saturation)."""

RUN_STATE = "run/state of fresh attempts"
"""The ``run_state`` scenario's marker: its script is ``_RUN_STATE_LUA``, over attempts seeded for the run."""
CLAIM = "claim, run and state of queued attempts"
"""The ``claim`` scenario's marker: its script is ``_CLAIM_LUA``, a worker's loop over attempts queued for
the run."""
WORKER_HEARTBEAT = 'return wrk.format("PUT", "/workers/" .. ids[i] .. "/heartbeat", headers)'
"""The ``worker_heartbeat`` scenario's request: its ``ids`` are the registered workers, taking turns, and
its token their credential's (``Target.workers``), not the attempts'."""
BATON_REQUESTS: dict[str, str | None] = {
    "heartbeat": 'return wrk.format("PUT", "/execution/task-instances/" .. ids[i] .. "/heartbeat", headers, '
    f"'{_HEARTBEAT_BODY}')",
    "variable_get": 'return wrk.format("GET", "/execution/variables/bench_var", headers)',
    "variable_set": 'return wrk.format("PUT", "/execution/variables/bench_set", headers, '
    '\'{"value": {"rows": 100, "ok": true}}\')',
    "connection_get": 'return wrk.format("GET", "/execution/connections/bench_conn", headers)',
    # A task pushes under its own address: the i-th token belongs to tasks[i]; it pulls what it pushed.
    "xcom_push": f'return wrk.format("PUT", {_XCOM}, headers, '
    '\'{"value": {"rows": [1, 2, 3], "n": 3}}\')',
    "xcom_get": f'return wrk.format("GET", {_XCOM}, headers)',
    "log_upload": 'return wrk.format("POST", "/execution/task-instances/" .. ids[i] .. "/logs", headers, '
    f"'{_LOG_BODY}')",
    "run_state": RUN_STATE,
    "claim": CLAIM,
    "worker_heartbeat": WORKER_HEARTBEAT,
}
BARE_REQUESTS: dict[str, str | None] = {
    k: (None if k in ("log_upload", "run_state", "claim") else v) for k, v in BATON_REQUESTS.items()
}
AIRFLOW_REQUESTS: dict[str, str | None] = {
    "heartbeat": BATON_REQUESTS["heartbeat"],
    "variable_get": BATON_REQUESTS["variable_get"],
    # Airflow stores a variable as a string, sent as "val".
    "variable_set": 'return wrk.format("PUT", "/execution/variables/bench_set", headers, '
    '\'{"val": "{\\\\"rows\\\\": 100, \\\\"ok\\\\": true}"}\')',
    "connection_get": BATON_REQUESTS["connection_get"],
    # Airflow's XCom body is the value itself.
    "xcom_push": f'return wrk.format("POST", {_XCOM}, headers, \'{{"rows": [1, 2, 3], "n": 3}}\')',
    "xcom_get": BATON_REQUESTS["xcom_get"],
    "log_upload": None,  # a task's logs go to files / remote storage, not through the execution API
    "run_state": RUN_STATE,  # over queued attempts airflow_prepare.py made with Airflow's create_dagrun
    "claim": None,  # Airflow's executor hands workloads out: no claim in its execution API
    "worker_heartbeat": None,  # nor workers of its own: its executors watch their workers themselves
}
SCENARIOS = (
    "heartbeat",
    "variable_get",
    "variable_set",
    "connection_get",
    "xcom_push",
    "xcom_get",
    "log_upload",
    "run_state",
    "claim",
    "worker_heartbeat",
)


@dataclass
class Target:
    """One server (and API version) the scenarios run against."""

    name: str
    base: str
    pid: int
    requests: dict[str, str | None]
    attempts: list[tuple[str, str, str]]  # (task instance id, token, task id)
    version_header: str
    database: str
    application_name: str | None = None  # its connections' name, when it shares a database
    version: str | None = None  # Baton's API version the requests ask for
    run_body: str = ""  # a ``run`` of the run_state and claim scenarios (default: Baton's, for its version)
    state_body: str = _STATE_BODY
    fresh: Callable[[int, str], list[tuple[str, str]]] | None = None  # n queued attempts for a run (tag)
    fresh_per_second: int = 0  # how many a run_state run gets per second of it
    workers: tuple[list[str], str] | None = None  # the claim scenario's workers: (ids, credential token)


def _lua(
    target: Target,
    scenario: str,
    folder: Path,
    rate: float | None = None,
    fresh: list[tuple[str, str]] | None = None,
    threads: int = 1,
) -> Path:
    request = target.requests[scenario]
    assert request is not None
    lifecycle = {
        "threads": threads,
        "version_header": target.version_header,
        "run": target.run_body or _run_body(target.version),
        "state": target.state_body,
    }
    if request == RUN_STATE:
        assert fresh, "the run_state scenario starts fresh attempts"
        script = _RUN_STATE_LUA % {
            **lifecycle,
            "ids": ", ".join(f'"{ti}"' for ti, _ in fresh),
            "tokens": ", ".join(f'"{tok}"' for _, tok in fresh),
        }
    elif request == CLAIM:
        assert target.workers is not None, "the claim scenario needs registered workers"
        ids, token = target.workers
        script = _CLAIM_LUA % {
            **lifecycle,
            "workers": ", ".join(f'"{i}"' for i in ids),
            "worker_token": token,
        }
    else:
        rows = target.attempts
        if request == WORKER_HEARTBEAT:
            assert target.workers is not None, "the worker_heartbeat scenario needs registered workers"
            workers, worker_token = target.workers
            rows = [(worker, worker_token, "") for worker in workers]
        script = _LUA % {
            "ids": ", ".join(f'"{ti}"' for ti, _, _ in rows),
            "tokens": ", ".join(f'"{tok}"' for _, tok, _ in rows),
            "tasks": ", ".join(f'"{task}"' for _, _, task in rows),
            "version_header": target.version_header,
            "request": request.replace("RUN", '"bench_run"'),
            "threads": threads,
        }
    if rate is not None:
        script += _PACED_LUA % {"interval_ms": threads * 1000.0 / rate}
    path = folder / f"{target.name.replace('@', '-').replace(' ', '-')}-{scenario}.lua"
    path.write_text(script)
    return path


def _cpu_ms(pid: int, *, waited_children: bool = False) -> float:
    """CPU time of a process; with ``waited_children``, also of the children it has reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if waited_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """The process and its descendants (a server may fork workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _tree_cpu_ms(pid: int) -> float:
    total = 0.0
    for member in _tree(pid):
        with contextlib.suppress(OSError):
            total += _cpu_ms(member)
    return total


def _thread_waits(pid: int) -> dict[tuple[int, int], int]:
    """Time each thread of a process has spent runnable but waiting for a core (the scheduler's run queue,
    ``/proc/<pid>/task/<tid>/schedstat``'s second field), in ns, by (pid, tid)."""
    waits: dict[tuple[int, int], int] = {}
    for schedstat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            waits[(pid, int(schedstat.parent.name))] = int(schedstat.read_text().split()[1])
    return waits


def _tree_waits(pid: int) -> dict[tuple[int, int], int]:
    """``_thread_waits`` of a process and its descendants."""
    waits: dict[tuple[int, int], int] = {}
    for member in _tree(pid):
        waits.update(_thread_waits(member))
    return waits


def _waited_since_ms(before: dict[tuple[int, int], int], after: dict[tuple[int, int], int]) -> float:
    """The waits for a core between two reads, in ms, over the threads there at the second (a thread that
    ended meanwhile took its figure with it: what it waited is not counted, never subtracted)."""
    return sum(ns - before.get(thread, 0) for thread, ns in after.items()) / 1e6


def _machine_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine since boot, from /proc/stat."""
    # user nice system idle iowait irq softirq steal (guest time is counted in user already)
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _memory_mb(pid: int, field: str) -> float:
    """A memory figure (``VmRSS`` from status, ``Pss`` from smaps_rollup) summed over the process and
    its descendants."""
    source = "status" if field == "VmRSS" else "smaps_rollup"
    total = 0.0
    for member in _tree(pid):
        try:
            for line in Path(f"/proc/{member}/{source}").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def _rss_mb(pid: int) -> float:
    """Resident memory of the process and its descendants (a page they share counted in each)."""
    return _memory_mb(pid, "VmRSS")


def _pss_mb(pid: int) -> float:
    """Proportional memory of the process and its descendants (a page shared by n counted 1/n in each)."""
    return _memory_mb(pid, "Pss")


def _to_ms(value: str) -> float:
    match = re.match(r"([\d.]+)([a-z]+)", value)
    if match is None:
        raise ValueError(f"not a wrk duration: {value!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


async def _connections_held(admin_url: str, target: Target) -> int:
    """PostgreSQL connections the target's server holds now (from pg_stat_activity; client backends only:
    an autovacuum worker busy in the database is listed there too)."""
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            )
            params: dict[str, str] = {"db": target.database}
            if target.application_name is not None:
                query += " AND application_name = :app"
                params["app"] = target.application_name
            else:
                # Not the bare route's, nor the run/state seeding's (a backend may outlive its engine).
                query += " AND application_name NOT IN ('bench-bare', 'bench-seed')"
            return int((await conn.execute(text(query), params)).scalar_one())
    finally:
        await engine.dispose()


def _wrk(
    target: Target,
    scenario: str,
    connections: int,
    seconds: int,
    folder: Path,
    round_: int,
    *,
    rate: float | None = None,
    fresh: list[tuple[str, str]] | None = None,
) -> Result:
    """One wrk run of a scenario against a target (``rate``: requests per second on a fixed schedule, an
    open loop, instead of each connection's next request as soon as its answer came; ``fresh``: the
    queued attempts a ``run_state`` run starts)."""
    threads = min(2, connections)
    script = _lua(target, scenario, folder, rate, fresh, threads)
    cpu_before = _tree_cpu_ms(target.pid)
    waited_before = _tree_waits(target.pid)
    busy_before, ticks_before = _machine_ticks()
    wall_before = time.monotonic()
    wrk = subprocess.Popen(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            # wrk's default 2 s would drop slow answers from the count (a "timeout" socket error).
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(script),
            target.base,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    wrk_waits: dict[tuple[int, int], int] = {}
    try:
        # wrk's threads' waits, read until it ends (its threads' figures go with them): the last
        # fifth of a second of a run is not counted.
        deadline = time.monotonic() + seconds + 60
        while wrk.poll() is None and time.monotonic() < deadline:
            for thread, ns in _thread_waits(wrk.pid).items():
                wrk_waits[thread] = max(ns, wrk_waits.get(thread, 0))
            time.sleep(0.2)
        out, _ = wrk.communicate(timeout=max(deadline - time.monotonic(), 1.0))
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    if wrk.returncode != 0:
        raise subprocess.CalledProcessError(wrk.returncode, wrk.args, out)
    cpu = _tree_cpu_ms(target.pid) - cpu_before
    waited = _waited_since_ms(waited_before, _tree_waits(target.pid))
    wall_ms = (time.monotonic() - wall_before) * 1000
    busy_after, ticks_after = _machine_ticks()
    (folder / f"{script.stem}-{connections}-{round_}.wrk.txt").write_text(out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    dry = re.search(r"Empty claims: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result = Result(
        target=target.name,
        scenario=scenario,
        connections=connections,
        round=round_,
        requests_per_s=rps,
        p50_ms=_to_ms(re.search(r"^\s*50%\s+(\S+)", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        p99_ms=_to_ms(re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        non_2xx=(int(non_2xx_match.group(1)) if non_2xx_match else 0)
        + (sum(int(g) for g in errors.groups()) if errors else 0)
        + (int(dry.group(1)) if dry else 0),
        server_cpu_ms_per_request=cpu / max(total, 1),
        server_rss_mb=_rss_mb(target.pid),
        server_pss_mb=_pss_mb(target.pid),
        load_average=os.getloadavg()[0],
        server_cores=cpu / max(wall_ms, 1.0),
        machine_busy=(busy_after - busy_before) / max(ticks_after - ticks_before, 1),
        asked_per_s=rate or 0.0,
        requests=total,
        server_waited=waited / max(wall_ms, 1.0),
        wrk_waited=_waited_since_ms({}, wrk_waits) / max(wall_ms, 1.0),
    )
    print(
        f"round {round_} {target.name:>22} {scenario:>14} c={connections:<3} {rps:8.0f} req/s "
        f"p99 {result.p99_ms:8.1f} ms  cpu {result.server_cpu_ms_per_request:6.2f} ms/req "
        f"({result.server_cores:.2f} cores, machine {result.machine_busy:.0%} busy, waited for a core: "
        f"server {result.server_waited:.0%}, wrk {result.wrk_waited:.0%})  "
        f"non-2xx {result.non_2xx}  rss {result.server_rss_mb:.0f} MB  load {result.load_average:.1f}",
        file=sys.stderr,
        flush=True,
    )
    return result


QUIET_SHARE = 0.05
"""A server counts as settled once it uses less than this share of a core for a second."""


def _wait_quiet(targets: list[Target], seconds: float) -> None:
    """Wait until every target's server has settled after its start (a healthy server may still be
    importing or building what it serves lazily, which would be counted against the first runs);
    after ``seconds``, go on and say which did not."""
    pids = {t.pid for t in targets}
    deadline = time.monotonic() + seconds
    busy = pids
    while busy and time.monotonic() < deadline:
        before = {pid: _tree_cpu_ms(pid) for pid in busy}
        time.sleep(1.0)
        busy = {pid for pid in busy if _tree_cpu_ms(pid) - before[pid] >= QUIET_SHARE * 1000}
    if busy:
        names = ", ".join(t.name for t in targets if t.pid in busy)
        print(f"bench: still busy after {seconds:.0f} s, measuring anyway: {names}", file=sys.stderr)


def _wait_healthy(base: str, path: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=2) as http:  # one client: a client per probe builds an SSL context each time
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"bench: the server for {base} exited with {process.returncode}")
            try:
                if http.get(f"{base}{path}").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
    raise SystemExit(f"bench: {base}{path} not healthy within {seconds:.0f} s")


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def _spread(values: list[float], unit: str = "") -> str:
    """The median and, over more than one value, min-max (each followed by ``unit``)."""
    middle = statistics.median(values)
    if len(values) == 1:
        return f"{middle:.2f}{unit}"
    return f"{middle:.2f}{unit} ({min(values):.2f}{unit}-{max(values):.2f}{unit})"


def _range(values: list[float], digits: int = 0) -> str:
    """min-max of ``values``."""
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}" if values else "n/a"


ANCHORS = ("airflow",)
"""Targets whose own errors (an anchor failing under load) leave its run out of the ratios rather than
failing the benchmark: only a run whose every answer was a 2xx is counted."""


def _counted(result: Result) -> bool:
    return result.non_2xx == 0


def _is_anchor(name: str) -> bool:
    return name.startswith(ANCHORS)


def _is_version(name: str, baton: str) -> bool:
    """Whether target ``name`` is Baton itself at another API version than ``baton``."""
    return name != baton and name.split("@")[0] == baton.split("@")[0]


def _summary_header(names: list[str]) -> list[str]:
    """The columns of :func:`_summary`'s rows."""
    baton = names[0]
    columns = ["scenario", "clients", f"{baton} req/s"]
    for name in names[1:]:
        columns.append(f"x {name}")
        if _is_version(name, baton):
            columns.append(f"{name} CPU / {baton}'s")
    columns += [f"{baton} CPU ms/req", f"{baton} p99 ms"]
    for name in names[1:]:
        if not _is_version(name, baton):
            columns += [f"{name} req/s", f"{name} p99 ms"]
    return [*columns, "machine busy"]


def _summary(results: list[Result], names: list[str]) -> list[str]:
    """Markdown rows: per scenario and clients, Baton's (the first name's) req/s and its ratio to each
    other target per round, as the median (min-max) over the rounds; for Baton at another API version
    also that version's server CPU per request over the first's (what it costs); the first's CPU per
    request and p99, the other targets' req/s and p99, and how busy the machine was in the first's runs."""
    by_key: dict[tuple[str, str, int], dict[int, Result]] = {}
    for r in results:
        by_key.setdefault((r.target, r.scenario, r.connections), {})[r.round] = r
    rows = []
    baton = names[0]
    for scenario in SCENARIOS:
        for connections in sorted({r.connections for r in results}):
            mine = by_key.get((baton, scenario, connections))
            if not mine:
                continue
            cells = [scenario, str(connections), _range([r.requests_per_s for r in mine.values()])]
            others = []
            for name in names[1:]:
                theirs = by_key.get((name, scenario, connections), {})
                both = [k for k in mine if k in theirs and _counted(theirs[k]) and _counted(mine[k])]
                ratios = [mine[k].requests_per_s / max(theirs[k].requests_per_s, 0.01) for k in both]
                cells.append(_spread(ratios, "x") if ratios else "n/a")
                if _is_version(name, baton):
                    costs = [
                        theirs[k].server_cpu_ms_per_request / max(mine[k].server_cpu_ms_per_request, 1e-6)
                        for k in both
                    ]
                    cells.append(_spread(costs, "x") if costs else "n/a")
                else:
                    counted = [r for r in theirs.values() if _counted(r)]
                    if theirs and not counted:
                        others += ["none counted"] * 2
                    else:
                        others += [
                            _range([r.requests_per_s for r in counted]),
                            _range([r.p99_ms for r in counted]),
                        ]
            cells += [
                _range([r.server_cpu_ms_per_request for r in mine.values()], 2),
                _range([r.p99_ms for r in mine.values()]),
                *others,
                _range([100 * r.machine_busy for r in mine.values()]) + " %",
            ]
            rows.append("| " + " | ".join(cells) + " |")
    return rows


def _paced_report(paced: list[Result], results: list[Result]) -> list[str]:
    """The paced runs beside the closed loop they were paced from: the latency below saturation, and the
    closed loop's floor (its clients over its throughput: what each waits on average, however fast)."""
    if not paced:
        return []
    lines = [
        "| scenario | clients | target | paced req/s (asked) | p50 ms | p99 ms | closed loop: p99 ms | "
        "closed loop: clients / req/s, ms |",
        "|---" * 8 + "|",
    ]
    for run in paced:
        name = run.target.removesuffix(PACED_SUFFIX)
        closed = [
            r
            for r in results
            if (r.target, r.scenario, r.connections) == (name, run.scenario, run.connections)
        ]
        floor = [1000.0 * r.connections / r.requests_per_s for r in closed if r.requests_per_s]
        got, asked = f"{run.requests_per_s:.0f}", f"{run.asked_per_s:.0f}"
        lines.append(
            f"| {run.scenario} | {run.connections} | {name} | {got} ({asked}) | {run.p50_ms:.1f} "
            f"| {run.p99_ms:.1f} | {_range([r.p99_ms for r in closed])} | {_range(floor)} |"
        )
    return lines


def _report(results: list[Result], held: dict[str, int]) -> list[str]:
    """What a run found: the Markdown table of :func:`_summary` (docs/benchmarks.md shows it), each
    target's CPU, cores, memory and connections held, and the anchors' runs left out of the ratios."""
    names = list(dict.fromkeys(r.target for r in results))  # in the order they ran: Baton's newest first
    header = _summary_header(names)
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|", *_summary(results, names)]
    for name in names:
        mine = [r for r in results if r.target == name]
        cpu = [r.server_cpu_ms_per_request for r in mine]
        rss = [r.server_rss_mb for r in mine]
        pss = [r.server_pss_mb for r in mine if r.server_pss_mb]
        cores = [r.server_cores for r in mine]
        busy = [100 * r.machine_busy for r in mine]
        # Runs saved before 2026-12-07 did not measure the waits for a core.
        waited = [(100 * r.server_waited, 100 * r.wrk_waited) for r in mine if r.server_waited + r.wrk_waited]
        lines.append(
            f"{name}: server CPU {_range(cpu, 2)} ms/req, {_range(cores, 2)} cores "
            f"(machine {_range(busy)} % busy), RSS {_range(rss)} MB"
            + (f" (PSS {_range(pss)} MB)" if pss else "")
            + f", PostgreSQL connections held <= {held.get(name, 0)}"
            + (
                f"; waited for a core: the server {_range([s for s, _ in waited])} %, "
                f"wrk {_range([w for _, w in waited])} % of a run"
                if waited
                else ""
            )
        )
    lines += [
        f"left out of the ratios: {r.target} {r.scenario} c={r.connections} round {r.round} "
        f"({r.non_2xx} non-2xx answers or socket errors)"
        for r in results
        if r.non_2xx and _is_anchor(r.target)
    ]
    return lines


HEARTBEAT_TIMEOUT = "86400"
"""The servers' heartbeat timeout: the seeded attempts heartbeat only when a scenario picks them, and none
may time out meanwhile (a heartbeat's indexed floor still moves once a minute, as in production)."""


def _start_baton(
    url: str,
    folder: Path,
    signing_key: str,
    pool_size: int,
    *,
    scheduler: bool = False,
    processes: int = 1,
) -> tuple[subprocess.Popen[bytes], str]:
    """``baton-server serve`` on a free port of 127.0.0.1 (its scheduler off unless asked for)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_DATABASE_URL=url,
        BATON_SIGNING_KEY=signing_key,
        BATON_DATA_DIR=str(folder),
        BATON_PORT=str(port),
        BATON_RUN_SCHEDULER=str(scheduler).lower(),
        BATON_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT,
        # wrk replays the execution tokens `run` handed out and does not take the refreshed ones a
        # worker would: they must outlive a run of several rounds (10 minutes by default).
        BATON_EXECUTION_TOKEN_TTL="86400",  # noqa: S106 - a lifetime, not a secret
        BATON_DB_POOL_SIZE=str(pool_size),
        BATON_PROCESSES=str(processes),
        BATON_LOG_LEVEL="warning",
        BATON_LOG_MAX_BYTES_PER_ATTEMPT=str(1 << 40),
    )
    server = subprocess.Popen([sys.executable, "-m", "baton_server.cli", "serve"], env=env)
    return server, f"http://127.0.0.1:{port}"


def _start_bare(url: str, signing_key: str, pool_size: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = dict(os.environ)
    env.update(
        BENCH_DATABASE_URL=make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
        BENCH_SIGNING_KEY=signing_key,
        BENCH_POOL_SIZE=str(pool_size),
        BENCH_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT,
    )
    script = Path(__file__).with_name("bare_routes.py")
    server = subprocess.Popen([sys.executable, str(script), "--port", str(port)], env=env)
    return server, f"http://127.0.0.1:{port}"


def _rotated(targets: list[Target], by: int) -> list[Target]:
    """``targets`` in turn, starting ``by`` places later (round after round, each target runs after
    another one: what a run leaves behind, in the server or PostgreSQL, does not always fall on the
    same target)."""
    by %= len(targets)
    return targets[by:] + targets[:by]


def _measured(
    target: Target,
    scenario: str,
    connections: int,
    seconds: int,
    folder: Path,
    round_: int,
    tag: str,
    retire: Callable[[], None],
    *,
    rate: float | None = None,
) -> Result:
    """One wrk run (:func:`_wrk`); a ``run_state`` or ``claim`` run gets queued attempts of its own,
    seeded before it (``tag`` names their DAG runs) and taken out of the queue after it (``retire``)."""
    request = target.requests[scenario]
    fresh = None
    if request in (RUN_STATE, CLAIM):
        # Queued attempts for this run alone: run_state starts them by their workload tokens, claim finds
        # them in the queue.
        assert target.fresh is not None
        fresh = target.fresh(seconds * target.fresh_per_second, tag)
    result = _wrk(
        target,
        scenario,
        connections,
        seconds,
        folder,
        round_,
        rate=rate,
        fresh=fresh if request == RUN_STATE else None,
    )
    if fresh is not None and target.workers is not None:
        retire()
    return result


def _paced_runs(
    targets: list[Target],
    scenarios: list[str],
    connections: int,
    args: argparse.Namespace,
    results: list[Result],
    folder: Path,
    retire: Callable[[], None],
) -> list[Result]:
    """Each scenario once more per target, on a fixed schedule at ``args.paced`` of its median closed-loop
    throughput at ``connections`` (an open loop below saturation: what a request waits when the server
    keeps up, where a closed loop at full speed waits its clients over its throughput)."""
    paced: list[Result] = []
    for scenario in scenarios:
        for target in targets:
            closed = [
                r.requests_per_s
                for r in results
                if (r.target, r.scenario, r.connections) == (target.name, scenario, connections)
            ]
            if target.requests[scenario] is None or not closed:
                continue
            paced.append(
                _measured(
                    replace(target, name=target.name + PACED_SUFFIX),
                    scenario,
                    connections,
                    args.seconds,
                    folder,
                    0,
                    f"paced_{len(paced)}",
                    retire,
                    rate=args.paced * statistics.median(closed),
                )
            )
    return paced


def _version_pairs(
    newest: Target,
    oldest: Target,
    scenarios: list[str],
    args: argparse.Namespace,
    folder: Path,
    retire: Callable[[], None],
) -> list[Result]:
    """Each scenario in ``args.version_pairs`` pairs of runs (``args.pair_seconds`` each, at
    ``args.pair_clients``), the newest and the oldest version back to back, the first of each pair in turn
    (newest-oldest, oldest-newest, ...): what the machine does meanwhile falls on both versions alike, so
    their CPU per request compares the versions' own work, where the rounds' runs of one version lie
    minutes apart."""
    pairs: list[Result] = []
    for pair in range(1, args.version_pairs + 1):
        # Pair after pair of every scenario, rather than one scenario's pairs in a row: each pair of a
        # scenario meets the machine at another time, so that their spread shows how much it moved.
        for scenario in scenarios:
            if newest.requests[scenario] is None:
                continue
            for target in (newest, oldest) if pair % 2 else (oldest, newest):
                pairs.append(
                    _measured(
                        target,
                        scenario,
                        args.pair_clients,
                        args.pair_seconds,
                        folder,
                        pair,
                        f"pair_{len(pairs)}",
                        retire,
                    )
                )
    return pairs


def _pairs_report(pairs: list[Result]) -> list[str]:
    """The oldest version's server CPU per request over the newest's, per scenario, from the back-to-back
    pairs of :func:`_version_pairs`: over all of them (their CPU over their requests) and per pair."""
    if not pairs:
        return []
    newest = max(r.target for r in pairs)  # baton@<date>: the latest date is the newest version
    lines = [
        "| scenario | clients | pairs | oldest CPU / newest's, all pairs | per pair, median (min-max) "
        "| newest CPU ms/req | oldest CPU ms/req |",
        "|---" * 7 + "|",
    ]
    for scenario in SCENARIOS:
        runs = [r for r in pairs if r.scenario == scenario]
        if not runs:
            continue
        mine = {r.round: r for r in runs if r.target == newest}
        theirs = {r.round: r for r in runs if r.target != newest}
        both = sorted(k for k in mine if k in theirs)

        def cpu_per_request(results: list[Result]) -> float:
            cpu = sum(r.server_cpu_ms_per_request * r.requests for r in results)
            return cpu / max(sum(r.requests for r in results), 1)

        new = cpu_per_request([mine[k] for k in both])
        old = cpu_per_request([theirs[k] for k in both])
        per_pair = [
            theirs[k].server_cpu_ms_per_request / max(mine[k].server_cpu_ms_per_request, 1e-6) for k in both
        ]
        lines.append(
            f"| {scenario} | {runs[0].connections} | {len(both)} | {old / max(new, 1e-6):.2f}x "
            f"| {_spread(per_pair, 'x')} | {new:.3f} | {old:.3f} |"
        )
    return lines


def _exit_on_signal(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default=os.environ.get("BATON_TEST_POSTGRES_URL"))
    parser.add_argument("--seconds", type=int, default=8, help="per scenario, client count, target and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--task-instances", type=int, default=64)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument(
        "--baton-processes",
        type=int,
        default=1,
        help="Baton's server processes (BATON_PROCESSES; the pool size is shared between them)",
    )
    parser.add_argument(
        "--worker-dags",
        action="append",
        metavar="PATTERN",
        help="the claim and worker heartbeat scenarios' workers hold a credential for these DAG id patterns "
        "only (repeatable; the seeded DAGs' ids start with 'bench'), as a team's workers do",
    )
    parser.add_argument(
        "--limited-pool",
        nargs="?",
        const="elsewhere",
        choices=("elsewhere", "tasks"),
        help="limit a pool's slots, so that claims take the path under limits: one no task names "
        "(elsewhere, the default), or the seeded tasks' own, with more slots than a run takes (tasks)",
    )
    parser.add_argument(
        "--limited-dags",
        type=int,
        default=0,
        help="add this many DAGs (with no runs) that set max_active_tasks, as an installation where many "
        "DAGs do: claims then take the path under limits",
    )
    parser.add_argument(
        "--idle-dags",
        type=int,
        default=0,
        help="add this many DAGs with no runs and no limits, as a large installation has",
    )
    parser.add_argument(
        "--paced",
        type=float,
        default=0.7,
        help="after the rounds, each scenario once more at the most clients, Baton's newest version and the "
        "bare routes, on a fixed schedule at this share of their median closed-loop throughput there: "
        "the latency below saturation (0: skip)",
    )
    parser.add_argument(
        "--version-pairs",
        type=int,
        default=8,
        help="after the rounds (and the paced runs), each scenario in this many pairs of back-to-back runs "
        "of Baton's newest and oldest API version, the first of a pair in turn: the oldest version's CPU per "
        "request over the newest's with the machine's drift cancelled (0: skip)",
    )
    parser.add_argument("--pair-seconds", type=int, default=2, help="each run of a version pair")
    parser.add_argument("--pair-clients", type=int, default=16, help="the version pairs' clients")
    parser.add_argument("--against", choices=["airflow"], action="append", default=[])
    parser.add_argument("--airflow-env", type=Path, default=Path(".baton/airflow-3.3.2"))
    parser.add_argument("--out", type=Path, default=Path("build/bench.json"))
    parser.add_argument(
        "--scenario", choices=SCENARIOS, action="append", default=[], help="only these (default: all)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        action="append",
        default=[],
        help=f"only these client counts (default: {CLIENTS})",
    )
    parser.add_argument(
        "--report",
        type=Path,
        help="print the report of a saved run (an --out file) and stop, running nothing",
    )
    args = parser.parse_args(argv)
    if args.report is not None:
        saved = json.loads(args.report.read_text())
        closed = [Result(**r) for r in saved["results"]]
        if closed:
            print("\n".join(_report(closed, saved["connections_held"])))
        paced_lines = _paced_report([Result(**r) for r in saved.get("paced", [])], closed)
        if paced_lines:
            print("\n" + "\n".join(paced_lines))
        pairs_saved = [Result(**r) for r in saved.get("version_pairs", [])]
        if pairs_saved:
            print("\n" + "\n".join(_pairs_report(pairs_saved)))
        return 0
    scenarios = [s for s in SCENARIOS if not args.scenario or s in args.scenario]
    # A stop (``kill``, a CI job's timeout) ends the run as Ctrl-C does: through the ``finally`` below,
    # which stops the servers it started and drops its databases.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    admin_url, url = throwaway_database(args.postgres_url)
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    signing_key = secrets.token_urlsafe(32)
    settings = Settings(database_url=url, data_dir=folder, signing_key=signing_key, run_scheduler=False)
    processes: list[subprocess.Popen[bytes]] = []
    airflow_db: str | None = None
    results: list[Result] = []
    paced: list[Result] = []
    pairs: list[Result] = []
    started = time.monotonic()
    load_before = os.getloadavg()
    try:
        from baton_server.api.versions import supported_versions

        versions = supported_versions()
        oldest, newest = versions[0], versions[-1]
        workloads, worker_token = asyncio.run(_seed(settings, args.task_instances, args.worker_dags))
        if args.limited_pool:
            asyncio.run(_limit_a_pool(settings, args.limited_pool))
        if args.limited_dags or args.idle_dags:
            asyncio.run(_more_dags(settings, args.limited_dags, args.idle_dags))
        baton, base = _start_baton(url, folder, signing_key, args.pool_size, processes=args.baton_processes)
        processes.append(baton)
        _wait_healthy(base, "/execution/health", baton, 300)
        attempts = [
            (ti, tok, f"t{n}") for n, (ti, tok) in enumerate(_start_attempts(base, newest, workloads))
        ]
        workers = (_register_workers(base, newest, worker_token), worker_token)
        database = make_url(url).database or ""

        def seeded(count: int, tag: str) -> list[tuple[str, str]]:
            return asyncio.run(_seed_fresh(settings, count, tag))

        targets = [
            Target(
                f"baton@{version}",
                base,
                baton.pid,
                BATON_REQUESTS,
                attempts,
                f'headers["{VERSION_HEADER}"] = "{version}"',
                database,
                version=version,
                fresh=seeded,
                fresh_per_second=FRESH_PER_SECOND,
                workers=workers,
            )
            for version in (newest, oldest)
        ]
        bare, bare_base = _start_bare(url, signing_key, args.pool_size)
        processes.append(bare)
        _wait_healthy(bare_base, "/execution/health", bare, 300)
        targets.append(
            Target(
                "bare",
                bare_base,
                bare.pid,
                BARE_REQUESTS,
                attempts,
                "",
                database,
                "bench-bare",
                workers=workers,
            )
        )
        if "airflow" in args.against:
            from _airflow_anchor import start_airflow  # type: ignore[import-not-found]

            airflow_db = make_url(asyncio.run(_create_database(admin_url))).database
            assert airflow_db is not None
            fresh_runs = 3 * args.rounds if "run_state" in scenarios else 0
            airflow = start_airflow(
                args.airflow_env,
                admin_url,
                airflow_db,
                args.task_instances,
                fresh_runs * args.seconds * AIRFLOW_FRESH_PER_SECOND,
                folder,
                _free_port(),
            )
            processes.append(airflow.process)
            _wait_healthy(airflow.base, "/execution/health", airflow.process, 300)
            airflow.attempts = _start_airflow_attempts(airflow.base, airflow.attempts)
            targets.append(
                Target(
                    "airflow 3.3.2",
                    airflow.base,
                    airflow.process.pid,
                    AIRFLOW_REQUESTS,
                    airflow.attempts,
                    "",
                    airflow_db,
                    run_body=_AIRFLOW_RUN_BODY,
                    state_body=_AIRFLOW_STATE_BODY,
                    fresh=airflow.take_fresh,
                    fresh_per_second=AIRFLOW_FRESH_PER_SECOND,
                )
            )
        _wait_quiet(targets, 120)

        def retire() -> None:
            asyncio.run(_retire_fresh(settings))

        held: dict[str, int] = {}
        for round_ in range(1, args.rounds + 1):
            for scenario in scenarios:
                for connections in args.clients or CLIENTS:
                    for target in _rotated(targets, round_ - 1):
                        if target.requests[scenario] is None:
                            continue
                        results.append(
                            _measured(
                                target,
                                scenario,
                                connections,
                                args.seconds,
                                folder,
                                round_,
                                f"{round_}_{connections}_{len(results)}",
                                retire,
                            )
                        )
                        held[target.name] = max(
                            held.get(target.name, 0), asyncio.run(_connections_held(admin_url, target))
                        )
        if args.paced > 0:
            paced = _paced_runs(
                [t for t in targets if t.version == newest or t.name in PACED_TARGETS],
                scenarios,
                max(args.clients or CLIENTS),
                args,
                results,
                folder,
                retire,
            )
        if args.version_pairs > 0:
            pairs = _version_pairs(targets[0], targets[1], scenarios, args, folder, retire)
    finally:
        for process in reversed(processes):
            _stop(process)
        shutil.rmtree(folder, ignore_errors=True)  # its scripts and wrk's output: the figures are in --out
        asyncio.run(_drop_database(admin_url, url))
        if airflow_db is not None:
            asyncio.run(
                _drop_database(
                    admin_url, make_url(admin_url).set(database=airflow_db).render_as_string(False)
                )
            )
    load_after = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "load_average": {"before": load_before, "after": load_after},
                "connections_held": held,
                "results": [asdict(r) for r in results],
                "paced": [asdict(r) for r in paced],
                "version_pairs": [asdict(r) for r in pairs],
            },
            indent=2,
        )
        + "\n"
    )
    print(
        f"\n{args.rounds} interleaved rounds, {args.seconds} s each, "
        f"{time.monotonic() - started:.0f} s in all; "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    if results:
        print("\n".join(_report(results, held)))
    if paced:
        print("\n" + "\n".join(_paced_report(paced, results)))
    if pairs:
        print("\n" + "\n".join(_pairs_report(pairs)))
    failed = [r for r in [*results, *paced, *pairs] if r.non_2xx and not _is_anchor(r.target)]
    if failed:
        print(f"bench: {len(failed)} run(s) had non-2xx responses or socket errors", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
