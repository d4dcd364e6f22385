"""End-to-end harness: a real ``baton-server serve``, real ``baton worker`` processes, the ``baton`` CLI.

The server runs on SQLite, or on a fresh PostgreSQL database when ``BATON_TEST_POSTGRES_URL`` is
set, with a short heartbeat timeout and a fast scheduler. Workers and the CLI run from a venv
holding baton-sdk alone (no database driver), as on a worker machine. Everything listens on
127.0.0.1, and every wait polls a condition against a deadline.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from baton import Client
from baton._generated.api.admin import get_dag_run, get_task_instance, trigger_dag_run
from baton._generated.models import (
    DagRun,
    DagRunDetail,
    TaskInstanceDetail,
    TriggerDagRunPayload,
    TriggerDagRunPayloadConf,
)
from live_server import LiveServer, start_live_server
from sdk_venv import SdkVenv

T = TypeVar("T")
BUNDLE = Path(__file__).parent / "bundles" / "e2e"
HEARTBEAT_TIMEOUT = 10.0
"""The server's heartbeat timeout in these tests (BATON_HEARTBEAT_TIMEOUT): short, for the tests that
wait it out, yet 20 worker heartbeats long, so that a starved worker on a loaded machine is not
declared dead."""
WORKER_HEARTBEAT = 0.5
POSTGRES_URL = os.environ.get("BATON_TEST_POSTGRES_URL") or None
FINISHED = {"success", "failed"}


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 300.0, every: float = 0.2) -> T:
    """Poll ``probe`` until it returns something other than None (or False); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie nobody reaped yet counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while read
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class WorkerProcess:
    """A ``baton worker`` process and its output."""

    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        """Its exit status; fails the test (with its output) if it runs past ``timeout``."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not exit within {timeout:g} s:\n{self.output()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Stack:
    """A server with an admin token and a worker credential, and ways to drive it."""

    server: LiveServer
    venv: SdkVenv
    admin_token: str
    worker_token: str
    tmp: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.base_url

    def admin(self) -> Client:
        return Client(self.url, self.admin_token)

    def cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env.update(BATON_SERVER_URL=self.url, BATON_ADMIN_TOKEN=self.admin_token)
        return env

    def baton(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the ``baton`` command of the SDK venv against this server."""
        result = subprocess.run(
            [str(self.venv.baton), *args],
            env=env or self.cli_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"baton {' '.join(args)} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def start_worker(
        self, queue: str, *args: str, env: dict[str, str] | None = None, bundle: Path = BUNDLE
    ) -> WorkerProcess:
        """Start ``baton worker`` on a bundle (the e2e one) serving ``queue``; returns once it registered."""
        log_path = self.tmp / f"worker-{queue}-{secrets.token_hex(3)}.log"
        worker_env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        worker_env.update(BATON_SERVER_URL=self.url, BATON_WORKER_TOKEN=self.worker_token)
        worker_env.update(env or {})
        command = [
            str(self.venv.baton),
            "worker",
            "--bundle",
            str(bundle),
            "--queue",
            queue,
            "--heartbeat-interval",
            str(WORKER_HEARTBEAT),
            *args,
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, env=worker_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = WorkerProcess(process, log_path)
        self.workers.append(worker)

        def registered() -> bool:
            if process.poll() is not None:
                pytest.fail(f"the worker exited with {process.returncode}:\n{worker.output()}")
            return "registered worker " in worker.output()

        wait_for("the worker to register", registered)
        return worker

    def trigger(self, dag_id: str, **conf: Any) -> str:
        """Trigger a run; its run id."""
        body = TriggerDagRunPayload(conf=TriggerDagRunPayloadConf.from_dict(conf))
        with self.admin() as client:
            run = trigger_dag_run.sync(dag_id, client=client.generated, body=body)
        assert isinstance(run, DagRun), run
        return run.run_id

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """A run with its task instances (by task id under ``"tasks"``), as JSON."""
        with self.admin() as client:
            detail = get_dag_run.sync(dag_id, run_id, client=client.generated)
        assert isinstance(detail, DagRunDetail), detail
        data: dict[str, Any] = detail.to_dict()
        data["tasks"] = {ti["task_id"]: ti for ti in data["task_instances"]}
        return data

    def task_instance(self, task_instance_id: str) -> dict[str, Any]:
        with self.admin() as client:
            ti = get_task_instance.sync(uuid.UUID(task_instance_id), client=client.generated)
        assert isinstance(ti, TaskInstanceDetail), ti
        data: dict[str, Any] = ti.to_dict()
        return data

    def wait_task(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        check: Callable[[dict[str, Any]], bool],
        what: str,
        timeout: float = 300.0,
    ) -> dict[str, Any]:
        """Poll until the task instance satisfies ``check``; returns it."""

        def probe() -> dict[str, Any] | None:
            ti: dict[str, Any] | None = self.run(dag_id, run_id)["tasks"].get(task_id)
            return ti if ti is not None and check(ti) else None

        return wait_for(f"{dag_id}/{task_id}: {what}", probe, timeout)

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 300.0) -> dict[str, Any]:
        """Poll until the run has finished; returns it."""

        def probe() -> dict[str, Any] | None:
            run = self.run(dag_id, run_id)
            return run if run["state"] in FINISHED else None

        return wait_for(f"run {dag_id}/{run_id} to finish", probe, timeout)

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()


def _create_postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database on the test PostgreSQL server: its URL, and how to drop it."""
    import asyncpg  # type: ignore[import-untyped]  # the workspace's server dependency, not the SDK's

    plain = admin_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"baton_e2e_{secrets.token_hex(5)}"

    async def execute(statement: str) -> None:
        conn = await asyncpg.connect(plain)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    base, _, _ = plain.rpartition("/")
    return f"{base}/{name}", lambda: asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def start_stack(tmp: Path, venv: SdkVenv) -> Iterator[Stack]:
    """A server (on PostgreSQL when BATON_TEST_POSTGRES_URL is set) with tokens, until the block ends."""
    drop: Callable[[], None] | None = None
    database_url = None
    if POSTGRES_URL:
        database_url, drop = _create_postgres_database(POSTGRES_URL)
    settings = {
        "BATON_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
        "BATON_SCHEDULER_INTERVAL": "0.2",
        "BATON_CLAIM_MAX_WAIT": "2",
        "BATON_LOG_LEVEL": "warning",
    }
    (tmp / "server").mkdir(parents=True, exist_ok=True)
    try:
        with start_live_server(tmp / "server", database_url=database_url, settings=settings) as server:
            admin_token = server.cli("create-admin-token", "e2e").strip()
            worker_token = server.cli("create-worker-credential", "e2e-workers").strip()
            stack = Stack(server, venv, admin_token, worker_token, tmp)
            try:
                yield stack
            finally:
                stack.stop_workers()
    finally:
        if drop is not None:
            drop()


def kill(pid: int) -> None:
    """SIGKILL a process (it may be gone already)."""
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


__all__ = ["HEARTBEAT_TIMEOUT", "Stack", "WorkerProcess", "alive", "kill", "start_stack", "wait_for"]
