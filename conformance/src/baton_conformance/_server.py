"""The server under test: a target URL and its credentials, or a local ``baton-server`` for the run."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from baton_conformance._errors import SetupError

SERVER_LIFETIME = 5400
"""Seconds after which a local server stops by itself, whatever becomes of the suite (CI's own bound:
a loaded machine once needed more than an hour for schemathesis and the matrix on one server)."""
START_PATIENCE = 300.0


@dataclass(frozen=True)
class Target:
    """A server to test and the credentials to drive it: an admin token and a worker credential.

    With the server's signing key the suite can also mint an expired task token; without it, the
    steps that need one are skipped (and counted as such).
    """

    base_url: str
    admin_token: str
    worker_token: str
    signing_key: str | None = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _baton_server() -> str:
    beside = Path(sys.executable).parent / "baton-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("baton-server")
    if found is None:
        raise SetupError("baton-server is not installed in this environment")
    return found


class LocalServer:
    """``baton-server serve`` on 127.0.0.1 over a fresh SQLite folder, with an admin and a worker credential.

    It runs under ``timeout``, so it stops after :data:`SERVER_LIFETIME` even if the suite is killed.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        max_api_version: str | None = None,
        name: str = "server",
        postgres_url: str | None = None,
    ) -> None:
        self.workdir = workdir / name
        self.max_api_version = max_api_version
        self.postgres_url = postgres_url
        self.database_url: str | None = None
        self.port = _free_port()
        self.signing_key = secrets.token_urlsafe(32)
        self.log_path = self.workdir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.target: Target | None = None

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env.update(
            {
                "BATON_DATA_DIR": str(self.workdir / "data"),
                "BATON_HOST": "127.0.0.1",
                "BATON_PORT": str(self.port),
                "BATON_SIGNING_KEY": self.signing_key,
                "BATON_SCHEDULER_INTERVAL": "0.2",
                # Claims long-poll for at most a second; a workload claimed and never started goes back
                # to the queue after five, so that fuzzed claims do not drain it.
                "BATON_CLAIM_MAX_WAIT": "1",
                "BATON_CLAIM_TIMEOUT": "5",
                "BATON_LOG_LEVEL": "warning",
            }
        )
        if self.max_api_version:
            env["BATON_MAX_API_VERSION"] = self.max_api_version
        if self.database_url:
            env["BATON_DATABASE_URL"] = self.database_url
        return env

    def _issue(self, command: str) -> str:
        out = subprocess.run(
            [_baton_server(), command, "conformance", "--json"],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            raise SetupError(f"baton-server {command} failed: {out.stderr.strip()}")
        token: str = json.loads(out.stdout)["token"]
        return token

    def __enter__(self) -> Self:
        if self.workdir.exists():
            shutil.rmtree(self.workdir)  # a fresh database every run
        self.workdir.mkdir(parents=True)
        if self.postgres_url:
            self.database_url = _postgres_database(self.postgres_url, "create")
        admin, worker = self._issue("create-admin-token"), self._issue("create-worker-credential")
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            ["timeout", "--signal=TERM", "--kill-after=10", str(SERVER_LIFETIME), _baton_server(), "serve"],
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + START_PATIENCE
        # One client for every probe: a client per probe builds an SSL context each time (tens of ms of
        # CPU), which on a small machine slows the very start it waits for.
        with httpx.Client(timeout=2) as http:
            while True:
                if self._process.poll() is not None:
                    raise SetupError(f"baton-server exited at start:\n{self.log_path.read_text()[-3000:]}")
                try:
                    if http.get(f"{base_url}/execution/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise SetupError(f"baton-server did not answer within {START_PATIENCE:.0f} s")
                time.sleep(0.2)
        self.target = Target(base_url, admin, worker, self.signing_key)
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ten seconds) and drop its PostgreSQL database."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        if self.database_url is not None:
            _postgres_database(self.database_url, "drop")
            self.database_url = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def expired_task_token(signing_key: str) -> str:
    """A task token signed with the server's key whose expiry is a minute past."""
    import uuid

    from baton_server.services.tokens import TokenService

    tokens = TokenService(signing_key, workload_ttl=-60, execution_ttl=-60)
    return tokens.issue(uuid.uuid4(), 1, "execution")


def _postgres_database(url: str, action: str) -> str:
    """Create a fresh database in the cluster of ``url`` (answering its URL), or drop the one it names."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    parsed = make_url(url).set(drivername="postgresql+asyncpg")
    name = f"baton_conformance_{secrets.token_hex(6)}" if action == "create" else parsed.database
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)

    async def run() -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                if action == "create":
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
                else:
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await engine.dispose()

    asyncio.run(run())
    return parsed.set(database=name).render_as_string(hide_password=False)
