"""A real ``baton-server serve`` on 127.0.0.1 over a temp SQLite folder; runs are queued through its APIs."""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton import Client
from baton.models import (
    ClaimWorkloadsPayload,
    ExecuteTaskWorkload,
    RegisterDagsPayload,
    RegisterWorkerPayload,
    TriggerDagRunPayload,
)


def _server_command() -> list[str]:
    explicit = os.environ.get("BATON_SERVER")
    if explicit:
        return [explicit]
    beside = Path(sys.executable).parent / "baton-server"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("baton-server")
    if found:
        return [found]
    pytest.fail("baton-server not found: install the workspace (uv sync --all-packages) or set BATON_SERVER")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A running server: its base URL, and its CLI for issuing credentials."""

    base_url: str
    env: dict[str, str]
    command: list[str]
    log_path: Path | None = None

    @functools.cached_property
    def worker_token(self) -> str:
        """A worker credential issued by the server's CLI, once per server."""
        issued: dict[str, str] = json.loads(self.cli("create-worker-credential", "client-tests", "--json"))
        return issued["token"]

    @functools.cached_property
    def admin_token(self) -> str:
        """An admin token issued by the server's CLI, once per server."""
        issued: dict[str, str] = json.loads(self.cli("create-admin-token", "client-tests", "--json"))
        return issued["token"]

    def queue_run(self, *task_ids: str) -> dict[str, Any]:
        """Run the way a worker and an operator do, through the API: register a worker on a queue of
        its own and a DAG of independent tasks, trigger a run, and claim its workloads.

        Returns ``{"dag_id", "run_id", "task_instances": [{"id", "task_id", "try_number",
        "workload_token"}]}`` in the order of ``task_ids``.
        """
        suffix = uuid.uuid4().hex[:10]
        dag_id, run_id, queue = f"client_tests_{suffix}", f"test__{suffix}", f"q_{suffix}"
        tasks = [
            {
                "task_id": t,
                "entry_point": f"tasks:{t}",
                "runtime": "python",
                "queue": queue,
                "execution_timeout_seconds": 60,
            }
            for t in task_ids
        ]
        with (
            Client(self.base_url, self.worker_token) as worker,
            Client(self.base_url, self.admin_token) as admin,
        ):
            registered = worker.register_worker(
                RegisterWorkerPayload.from_dict(
                    {"name": f"w_{suffix}", "queues": [queue], "capacity": 100, "runtime": "python"}
                )
            )
            worker.register_dags(
                RegisterDagsPayload.from_dict({"dags": [{"dag_id": dag_id, "tasks": tasks}]})
            )
            admin.trigger_dag_run(dag_id, TriggerDagRunPayload.from_dict({"run_id": run_id}))
            workloads: dict[str, ExecuteTaskWorkload] = {}
            deadline = time.monotonic() + 300
            while len(workloads) < len(task_ids) and time.monotonic() < deadline:
                claim = ClaimWorkloadsPayload.from_dict({"max_workloads": len(task_ids), "wait_seconds": 5})
                claimed = worker.claim_workloads(registered.id, claim)
                workloads.update({w.task_instance.task_id: w for w in claimed.workloads})
        missing = set(task_ids) - workloads.keys()
        assert not missing, f"no workload for {sorted(missing)} within 300 s"
        return {
            "dag_id": dag_id,
            "run_id": run_id,
            "task_instances": [
                {
                    "id": str(workloads[t].task_instance.id),
                    "task_id": t,
                    "try_number": workloads[t].task_instance.try_number,
                    "workload_token": workloads[t].token,
                }
                for t in task_ids
            ],
        }

    def cli(self, *args: str) -> str:
        """Run ``baton-server ARGS`` against this server's database; returns stdout."""
        result = subprocess.run(
            [*self.command, *args], env=self.env, capture_output=True, text=True, check=True, timeout=300
        )
        return result.stdout


@contextmanager
def start_live_server(
    data_dir: Path,
    *,
    database_url: str | None = None,
    settings: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[LiveServer]:
    """Run a server in ``data_dir`` until the block ends; fails the test when it does not come up.

    ``database_url`` picks the database (default: SQLite in ``data_dir``); ``settings`` adds or
    overrides ``BATON_*`` settings; ``port`` (default: a free one) lets a restarted server answer
    where its predecessor did.
    """
    port = port or _free_port()
    env = {
        **os.environ,
        "BATON_DATA_DIR": str(data_dir),
        "BATON_HOST": "127.0.0.1",
        "BATON_PORT": str(port),
        "BATON_LOG_LEVEL": "warning",
        # Execution tokens live 600 s; refreshing from 3600 s before expiry means every response
        # of a running attempt carries a fresh token, so the clients' token swap is exercised.
        "BATON_TOKEN_REFRESH_BEFORE": "3600",
    }
    env.pop("BATON_DATABASE_URL", None)
    if database_url is not None:
        env["BATON_DATABASE_URL"] = database_url
    env.update(settings or {})
    command = _server_command()
    log_path = data_dir / "server.log"
    with log_path.open("a") as log:
        process = subprocess.Popen([*command, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        # One client for every probe: a client per probe builds an SSL context each time (tens of ms of
        # CPU), which on a small machine slows the very start it waits for.
        with httpx.Client(timeout=10) as http:
            while True:
                if process.poll() is not None:
                    pytest.fail(f"baton-server exited with {process.returncode}:\n{log_path.read_text()}")
                try:
                    if http.get(f"{base_url}/execution/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"baton-server did not answer within 300 s:\n{log_path.read_text()}")
                time.sleep(0.1)
        yield LiveServer(base_url=base_url, env=env, command=command, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
