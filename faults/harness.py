"""Real processes for the fault suite: a PostgreSQL cluster, ``baton-server serve`` replicas, HAProxy
in front of them, ``baton worker`` processes, and what the suite reads back from the database.

Everything listens on 127.0.0.1 on free ports under one temp folder, every wait polls a condition
against a generous deadline, and everything started is stopped when its scenario ends.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = Path(__file__).parent / "bundle"
BIN = Path(sys.executable).parent
T = TypeVar("T")


class FaultSuiteError(AssertionError):
    """A scenario's condition did not hold (or a process did not come up) within its deadline."""


def wait_for(
    what: str, probe: Callable[[], T | bool | None], timeout: float = 180.0, every: float = 0.2
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise FaultSuiteError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Postgres:
    """A throw-away cluster (``scripts/postgres.sh`` under a temp folder, on a free port)."""

    folder: Path
    port: int = field(default_factory=free_port)

    def _script(self, action: str) -> str:
        env = {**os.environ, "BATON_PG_PORT": str(self.port), "BATON_PG_DIR": str(self.folder)}
        done = subprocess.run(
            [str(ROOT / "scripts" / "postgres.sh"), action],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise FaultSuiteError(f"postgres.sh {action} failed: {done.stderr}")
        return done.stdout.strip()

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def url(self, database: str) -> str:
        return f"postgresql://baton@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        self.query("baton", f'CREATE DATABASE "{name}" OWNER baton')
        return self.url(name)

    def query(self, database: str, sql: str, *args: object) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.url(database), timeout=30)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()

        return asyncio.run(run())


@dataclass
class Process:
    """A child process with its output in a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            self.popen.send_signal(signum)

    def stop(self) -> None:
        """SIGCONT (in case it was stopped), SIGTERM, then SIGKILL if it lingers."""
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGCONT)
        self.popen.terminate()
        try:
            self.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def spawn(name: str, command: list[str], env: dict[str, str], folder: Path) -> Process:
    """Start ``command`` with its output in ``folder/<name>.log``."""
    log_path = folder / f"{name}.log"
    with log_path.open("ab") as log:
        popen = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Process(name, popen, log_path)


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Deployment:
    """Server replicas on one database (sharing keys), optionally behind HAProxy, and their workers."""

    folder: Path
    database_url: str
    settings: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    url: str = ""
    admin_token: str = ""
    worker_token: str = ""

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ledger = self.folder / "ledger.txt"
        self.ledger.touch()
        self._keys = {"BATON_SIGNING_KEY": secrets.token_hex(32), "BATON_ENCRYPTION_KEY": _fernet_key()}

    def server_env(self, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env.update(
            BATON_DATA_DIR=str(self.folder / "data"),
            BATON_DATABASE_URL=self.database_url,
            BATON_HOST="127.0.0.1",
            BATON_PORT=str(port),
            BATON_LOG_LEVEL="warning",
            BATON_SCHEDULER_INTERVAL="0.5",
            # Long enough that a workload waiting it out would blow the scenario's deadline.
            BATON_CLAIM_TIMEOUT="3600",
            **self._keys,
        )
        env.update(self.settings)
        return env

    def start_server(self, name: str, port: int | None = None) -> Process:
        """Start (or restart, on the same port) a replica; returns once it answers its health check."""
        port = port or self.ports.get(name) or free_port()
        self.ports[name] = port
        server = spawn(name, [str(BIN / "baton-server"), "serve"], self.server_env(port), self.folder)
        self.processes.append(server)

        def healthy() -> bool:
            if not server.alive():
                raise FaultSuiteError(f"{name} exited with {server.popen.returncode}:\n{server.output()}")
            try:
                return http.get(f"http://127.0.0.1:{port}/execution/health").status_code == 200
            except httpx.TransportError:
                return False

        # One client for every probe: a client per probe builds an SSL context each time (tens of ms of
        # CPU), which on a small machine slows the very start it waits for.
        with httpx.Client(timeout=5) as http:
            wait_for(f"{name} to answer", healthy)
        if not self.url:
            self.url = f"http://127.0.0.1:{port}"
        if not self.admin_token:
            env = self.server_env(port)
            self.admin_token = self._issue(env, "create-admin-token", "faults")
            self.worker_token = self._issue(env, "create-worker-credential", "faults")
        return server

    def start_scheduler(self, name: str) -> Process:
        """A standalone ``baton-server scheduler`` on the deployment's database (the servers then run
        with ``BATON_RUN_SCHEDULER=false``); returns once it led a pass."""
        env = self.server_env(free_port())
        env["BATON_LOG_LEVEL"] = "info"
        scheduler = spawn(name, [str(BIN / "baton-server"), "scheduler"], env, self.folder)
        self.processes.append(scheduler)
        wait_for(f"{name} to start", lambda: said(scheduler, "scheduler started"))
        return scheduler

    @staticmethod
    def _issue(env: dict[str, str], command: str, name: str) -> str:
        done = subprocess.run(
            [str(BIN / "baton-server"), command, name, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        token: str = json.loads(done.stdout)["token"]
        return token

    def start_haproxy(self, replicas: list[str]) -> Process:
        """HAProxy (Debian's package) on a free port, round-robin over ``replicas`` with health checks."""
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        port = free_port()
        backends = "\n".join(
            f"    server {name} 127.0.0.1:{self.ports[name]} check inter 1s fall 3 rise 2"
            for name in replicas
        )
        config = self.folder / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 2000
defaults
    mode http
    timeout connect 5s
    timeout client 90s
    timeout server 90s
    # A health check answered slowly (a busy machine) is not a dead replica.
    timeout check 10s
    retries 3
    option redispatch
frontend baton
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /execution/health
{backends}
"""
        )
        check = subprocess.run(
            [haproxy, "-c", "-f", str(config)], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise FaultSuiteError(f"haproxy refused its configuration:\n{check.stdout}{check.stderr}")
        proxy = spawn("haproxy", [haproxy, "-db", "-f", str(config)], dict(os.environ), self.folder)
        self.processes.append(proxy)
        wait_for("haproxy to listen", lambda: _listening(port) or (not proxy.alive() and _dead(proxy)))
        self.url = f"http://127.0.0.1:{port}"
        return proxy

    def start_worker(self, name: str, queue: str, *args: str, tasks: int = 0) -> Process:
        """``baton worker`` on the suite's bundle, serving ``queue``; returns once it registered."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "FAULTS_"))}
        env.update(
            BATON_SERVER_URL=self.url,
            BATON_WORKER_TOKEN=self.worker_token,
            FAULTS_LEDGER=str(self.ledger),
            FAULTS_TASKS=str(tasks),
        )
        command = [
            str(BIN / "baton"), "worker", "--bundle", str(BUNDLE), "--queue", queue, "--name", name,
            "--heartbeat-interval", "1", *args,
        ]  # fmt: skip
        worker = spawn(name, command, env, self.folder)
        self.processes.append(worker)
        wait_for(f"{name} to register", lambda: said(worker, "registered worker "))
        return worker

    def trigger(self, dag_id: str, run_id: str, **conf: Any) -> None:
        """Trigger a run through the admin API (retried while a replica restarts)."""

        def sent() -> bool:
            try:
                response = http.post(
                    f"{self.url}/api/dags/{dag_id}/dag-runs",
                    json={"run_id": run_id, "conf": conf},
                    headers={"Authorization": f"Bearer {self.admin_token}"},
                )
            except httpx.TransportError:
                return False
            if response.status_code == 409:
                return True  # the first try was stored, its answer lost
            if response.status_code >= 500:
                return False
            if response.status_code != 201:
                raise FaultSuiteError(f"triggering {dag_id}: {response.status_code} {response.text}")
            return True

        with httpx.Client(timeout=30) as http:  # one client for every try
            wait_for(f"a run of {dag_id} to be triggered", sent, timeout=120)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def _dead(process: Process) -> bool:
    if process.alive():
        return False
    raise FaultSuiteError(
        f"{process.name} exited with {process.popen.returncode}:\n{process.output()[-4000:]}"
    )


def said(process: Process, text: str) -> bool:
    """Whether ``process`` has written ``text``; an error if it exited without."""
    return text in process.output() or _dead(process)


@contextmanager
def deployment(folder: Path, database_url: str, **settings: str) -> Iterator[Deployment]:
    """A deployment whose every process is stopped when the block ends."""
    deployed = Deployment(folder, database_url, settings)
    try:
        yield deployed
    finally:
        deployed.stop()


@dataclass(frozen=True)
class Tally:
    """What the database and the ledger say about the task instances of some runs."""

    total: int
    states: Counter[str]
    tries: Counter[int]
    executions: Counter[str]
    """Body executions per task instance id (from the ledger)."""
    lines: Counter[tuple[str, int, str]]
    """Stored log lines per (task instance id, try, message), for the suite's numbered lines."""

    @property
    def lost(self) -> int:
        return self.total - self.states.get("success", 0)

    @property
    def duplicated(self) -> int:
        return sum(count - 1 for count in self.executions.values() if count > 1)

    @property
    def not_run(self) -> int:
        return self.total - len(self.executions)


def tally(pg: Postgres, database: str, run_ids: list[str], ledger: Path) -> Tally:
    """Count states, tries, body executions and stored log lines of the task instances of ``run_ids``."""
    rows = pg.query(
        database, "SELECT id, state, try_number FROM task_instances WHERE run_id = ANY($1)", run_ids
    )
    ids = {str(r["id"]) for r in rows}
    executions: Counter[str] = Counter()
    for line in ledger.read_text().splitlines():
        ti, _try, event, _pid = line.split()
        if ti in ids and event == "ran":
            executions[ti] += 1
    logged = pg.query(
        database,
        "SELECT l.task_instance_id, l.try_number, l.message FROM task_logs l "
        "JOIN task_instances t ON t.id = l.task_instance_id "
        "WHERE t.run_id = ANY($1) AND l.message LIKE 'line %'",
        run_ids,
    )
    return Tally(
        total=len(rows),
        states=Counter(r["state"] for r in rows),
        tries=Counter(r["try_number"] for r in rows),
        executions=executions,
        lines=Counter((str(r["task_instance_id"]), r["try_number"], r["message"]) for r in logged),
    )


def missing_and_repeated_lines(counted: Tally, lines_per_task: int) -> tuple[int, int]:
    """Numbered log lines of each task's last try that were not stored, and lines stored more than once."""
    per_task: dict[str, int] = {}
    repeated = 0
    for (ti, _try, _message), count in counted.lines.items():
        per_task[ti] = per_task.get(ti, 0) + 1
        repeated += count - 1
    expected = counted.total * lines_per_task
    return expected - sum(min(n, lines_per_task) for n in per_task.values()), repeated


def finished(pg: Postgres, database: str, run_ids: list[str]) -> bool:
    """Whether every one of the runs has ended."""
    rows = pg.query(database, "SELECT state FROM dag_runs WHERE run_id = ANY($1)", run_ids)
    return len(rows) == len(run_ids) and all(r["state"] in ("success", "failed") for r in rows)


def succeeded(pg: Postgres, database: str, run_ids: list[str]) -> int:
    """How many task instances of the runs have succeeded so far."""
    rows = pg.query(
        database,
        "SELECT count(*) AS n FROM task_instances WHERE run_id = ANY($1) AND state = 'success'",
        run_ids,
    )
    return int(rows[0]["n"])


def story_of_unsucceeded(pg: Postgres, database: str, run_ids: list[str], deployed: Deployment) -> str:
    """What happened to the task instances of ``run_ids`` that did not succeed, for a failure message.

    Their rows, every line of the deployment's logs that names one of them (by id or by task id), and
    the warnings and errors of every process: a failure on a loaded CI machine explains itself.
    """
    rows = pg.query(
        database,
        "SELECT id, run_id, task_id, state, try_number, hostname, pid, start_date, end_date,"
        " last_heartbeat_at, worker_id FROM task_instances"
        " WHERE run_id = ANY($1) AND state IS DISTINCT FROM 'success' ORDER BY run_id, task_id",
        run_ids,
    )[:20]
    if not rows:
        return "every task instance succeeded"
    names = {str(row["id"]) for row in rows} | {f"/{row['run_id']}/{row['task_id']} " for row in rows}
    told = ["task instances that did not succeed:", *(str(dict(row)) for row in rows)]
    for path in sorted(deployed.folder.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        kept = [
            line
            for line in lines
            if any(name in line for name in names) or " WARNING " in line or " ERROR " in line
        ]
        if kept:
            told += [f"--- {path.name} ({len(kept)} of {len(lines)} lines)", *kept[-60:]]
    return "\n".join(told)
