"""An unreachable database is a 503 with Retry-After on every route; the server recovers by itself."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from baton_server.app import create_app
from baton_server.db.availability import is_database_unavailable
from baton_server.runtime import Runtime
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.conftest import ServerHarness, make_settings
from tests.factories import RUN_PAYLOAD, started


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def unreachable(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """An app whose PostgreSQL does not answer (nothing listens on its port)."""
    settings = make_settings(
        f"postgresql+asyncpg://baton@127.0.0.1:{_closed_port()}/baton", tmp_path, db_pool_timeout=5
    )
    app = create_app(settings)
    runtime = Runtime.create(settings)
    app.state.runtime = runtime  # the lifespan would refuse to start: that is the CLI's concern
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as http:
        yield http, runtime
    await runtime.close()


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["reason"] == "database_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


async def test__every_kind_of_route__database_unreachable__answers_503_with_retry_after(
    unreachable: tuple[httpx.AsyncClient, Runtime],
) -> None:
    http, runtime = unreachable
    ti = uuid.uuid4()
    execution = {"Authorization": f"Bearer {runtime.tokens.issue(ti, 1, 'execution')}"}
    workload = {"Authorization": f"Bearer {runtime.tokens.issue(ti, 1, 'workload')}"}
    worker = {"Authorization": "Bearer some-worker-credential"}
    admin = {"Authorization": "Bearer some-admin-token"}
    requests = [
        ("GET", "/execution/health", {}, None),
        ("PUT", f"/execution/task-instances/{ti}/heartbeat", execution, {"hostname": "h", "pid": 1}),
        ("GET", "/execution/variables/some_key", execution, None),
        ("PATCH", f"/execution/task-instances/{ti}/run", workload, RUN_PAYLOAD),
        (
            "POST",
            f"/execution/task-instances/{ti}/logs",
            execution,
            {"lines": [{"timestamp": "2026-12-01T00:00:00Z", "level": "info", "message": "x"}]},
        ),
        ("POST", f"/workers/{uuid.uuid4()}/claims", worker, {"max_workloads": 1}),
        ("GET", "/api/variables", admin, None),
    ]
    for method, path, headers, body in requests:
        _assert_unavailable(await http.request(method, path, headers=headers, json=body))


@pytest.mark.postgres_only
async def test__pooled_connections_killed__503_or_success_then_recovers_without_restart(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = next(iter((await started(server.runtime, client)).values()))
    body = {"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]}
    headers = {"Authorization": f"Bearer {attempt.execution_token}"}
    path = f"/execution/task-instances/{attempt.id}/heartbeat"
    assert (await client.put(path, json=body, headers=headers)).status_code == 204
    # What a PostgreSQL restart does to a server's pool: every connection it holds is closed under it.
    killer = create_async_engine(server.runtime.engine.url, poolclass=NullPool)
    async with killer.connect() as conn:
        killed = await conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    await killer.dispose()
    assert killed
    # Each dead pooled connection fails one request at most (503, which clients retry), then is
    # replaced: as many requests as connections were killed, and one more, end in a success (the
    # pools hold as many connections as earlier tests left them, more than a fixed count).
    tries = killed + 1
    statuses = [(await client.put(path, json=body, headers=headers)).status_code for _ in range(tries)]
    health = [(await client.get("/api/health")).status_code for _ in range(tries)]
    assert 503 in statuses, statuses
    assert set(statuses) <= {204, 503}, statuses
    assert set(health) <= {200, 503}, health
    assert statuses[-1] == 204, statuses
    assert health[-1] == 200, health


def test__classification__refusals_are_not_outages() -> None:
    refused = sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
    assert not is_database_unavailable(refused)
    assert not is_database_unavailable(ValueError("bad"))
    assert is_database_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    assert is_database_unavailable(ConnectionRefusedError(111, "refused"))
    internal = type("InternalClientError", (Exception,), {"__module__": "asyncpg.exceptions"})
    assert is_database_unavailable(internal("cannot perform operation: connection is closed"))
