"""Start a real ``baton-server serve`` on 127.0.0.1 over a temp SQLite folder, for live-server tests."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

SEED_SCRIPT = Path(__file__).resolve().parents[2] / "testing" / "seed_task_instances.py"


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


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL, and its CLI for issuing credentials."""

    base_url: str
    env: dict[str, str]
    command: list[str]
    log_path: Path | None = None

    def seed(self, *task_ids: str) -> dict[str, Any]:
        """Queue a new DAG run with these tasks (clients/testing/seed_task_instances.py); its JSON."""
        result = subprocess.run(
            [sys.executable, str(SEED_SCRIPT), "--tasks", ",".join(task_ids or ("extract", "load"))],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        seeded: dict[str, Any] = json.loads(result.stdout)
        return seeded

    def cli(self, *args: str) -> str:
        """Run ``baton-server ARGS`` against this server's database; returns stdout."""
        result = subprocess.run(
            [*self.command, *args], env=self.env, capture_output=True, text=True, check=True, timeout=60
        )
        return result.stdout


@contextmanager
def start_live_server(
    data_dir: Path, *, database_url: str | None = None, settings: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """Run a server in ``data_dir`` until the block ends; fails the test when it does not come up.

    ``database_url`` picks the database (default: SQLite in ``data_dir``); ``settings`` adds or
    overrides ``BATON_*`` settings.
    """
    port = _free_port()
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
    with log_path.open("w") as log:
        process = subprocess.Popen([*command, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"baton-server exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/execution/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"baton-server did not answer within 60 s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield LiveServer(base_url=base_url, env=env, command=command, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
