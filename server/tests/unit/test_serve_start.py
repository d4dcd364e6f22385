"""What ``baton-server serve`` does before it listens, seen in-process (uvicorn's loop replaced)."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from baton_server import cli
from baton_server.api.versioned_app import VersionedApp
from baton_server.db import engine, migrate


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def serve_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("BATON_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BATON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BATON_PORT", str(_free_port()))
    monkeypatch.setenv("BATON_SIGNING_KEY", "serve-test-signing-key-" + "z" * 32)
    monkeypatch.setenv("BATON_RUN_SCHEDULER", "false")
    monkeypatch.setattr(gc, "freeze", lambda: None)  # the test process keeps its collector as it is


@pytest.mark.usefixtures("serve_env")
@pytest.mark.parametrize("restart", [False, True])
def test__serve__checks_and_prepares_the_database_once_and_builds_the_latest_version_first(
    monkeypatch: pytest.MonkeyPatch, restart: bool
) -> None:
    checks: list[str] = []
    real_check = engine.check_database

    async def counted_check(database: Any, **kwargs: Any) -> None:
        checks.append("check")
        await real_check(database, **kwargs)

    monkeypatch.setattr(engine, "check_database", counted_check)
    monkeypatch.setattr(migrate, "check_database", counted_check)
    seen: dict[str, Any] = {}

    def soon(self: VersionedApp, *, after_seconds: float, freeze: bool) -> None:
        seen["older_build"] = (after_seconds, freeze)

    monkeypatch.setattr(VersionedApp, "build_older_versions_soon", soon)

    def run(self: uvicorn.Server, sockets: Any = None) -> None:
        # Instead of listening: the app's lifespan, as uvicorn runs it before it accepts connections.
        app = self.config.app
        assert isinstance(app, VersionedApp)
        seen["checks_before_lifespan"] = len(checks)
        seen["latest_built"], seen["all_built"] = app._latest_built, app.all_versions_built

        async def lifespan() -> None:
            async with app.router.lifespan_context(app):
                pass

        asyncio.run(lifespan())
        self.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    if restart:
        assert cli.main(["db", "migrate"]) == 0
        checks.clear()
    assert cli.main(["serve"]) == 0
    assert seen["checks_before_lifespan"] == 1
    assert checks == ["check"], "the lifespan checked the database again"
    assert seen["latest_built"]
    assert not seen["all_built"]
    assert seen["older_build"] == (1.0, True)
