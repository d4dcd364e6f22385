"""A 2026-09-01 client against today's server: the shapes it was generated for, unchanged.

In 2026-09-01 the run context said `version_id`, `run` took no `unix_user`, a connection's
`extra` was a JSON string, and there was no previous-successful-run endpoint.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from baton_server.db.tables import TaskInstanceRecord

from tests.api.old_clients import start_attempt
from tests.conftest import ServerHarness

VERSION = "2026-09-01"
OLD_RUN_PAYLOAD = {"hostname": "old-worker", "pid": 7, "start_date": "2026-11-24T12:00:00+00:00"}


@pytest.fixture
async def old_client(server: ServerHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client(version=VERSION) as http:
        yield http


async def test__run__old_payload_without_unix_user__accepted_as_unknown(
    server: ServerHarness, old_client: httpx.AsyncClient
) -> None:
    response, _ = await start_attempt(server, old_client, OLD_RUN_PAYLOAD)
    assert response.status_code == 200, response.text
    assert response.headers["Baton-API-Version"] == VERSION
    ti_id = response.json()["task_instance"]["id"]
    async with server.runtime.sessions() as session:
        ti = await session.get(TaskInstanceRecord, uuid.UUID(ti_id))
        assert ti is not None
        assert ti.unix_user == "unknown"


async def test__run__context_says_version_id(server: ServerHarness, old_client: httpx.AsyncClient) -> None:
    response, _ = await start_attempt(server, old_client, OLD_RUN_PAYLOAD)
    body = response.json()
    assert "version_id" in body
    assert "dag_version_id" not in body
    assert set(body) == {
        "task_instance",
        "max_tries",
        "version_id",
        "dag_run",
        "entry_point",
        "execution_timeout",
    }


async def test__run__unix_user_unknown_to_this_version__422(
    server: ServerHarness, old_client: httpx.AsyncClient
) -> None:
    response, _ = await start_attempt(server, old_client, {**OLD_RUN_PAYLOAD, "unix_user": "x"})
    assert response.status_code == 422


async def test__previous_successful_run__absent__404(
    server: ServerHarness, old_client: httpx.AsyncClient
) -> None:
    response, token = await start_attempt(server, old_client, OLD_RUN_PAYLOAD)
    ti_id = response.json()["task_instance"]["id"]
    missing = await old_client.get(
        f"/execution/task-instances/{ti_id}/previous-successful-run",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert missing.status_code == 404
    assert missing.json()["reason"] == "not_found"


async def test__connection__extra_is_a_json_string(
    server: ServerHarness, old_client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    put = await admin.put(
        "/api/connections/db",
        json={"conn_type": "postgres", "extra": {"b": 2, "a": [1]}, "allowed_dag_ids": None},
    )
    assert put.status_code == 200
    _, token = await start_attempt(server, old_client, OLD_RUN_PAYLOAD)
    conn = await old_client.get("/execution/connections/db", headers={"Authorization": f"Bearer {token}"})
    assert conn.status_code == 200
    extra = conn.json()["extra"]
    assert isinstance(extra, str)
    assert json.loads(extra) == {"b": 2, "a": [1]}


async def test__connection__no_extra_stays_null(
    server: ServerHarness, old_client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await admin.put("/api/connections/plain", json={"conn_type": "http", "allowed_dag_ids": None})
    _, token = await start_attempt(server, old_client, OLD_RUN_PAYLOAD)
    conn = await old_client.get("/execution/connections/plain", headers={"Authorization": f"Bearer {token}"})
    assert conn.json()["extra"] is None
