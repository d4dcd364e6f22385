"""A 2026-10-15 client against today's server.

In 2026-10-15 the run context already said `dag_version_id` and `run` took `unix_user`, but a
connection's `extra` was still a JSON string and there was no previous-successful-run endpoint.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.old_clients import start_attempt
from tests.conftest import ServerHarness
from tests.factories import RUN_PAYLOAD

VERSION = "2026-10-15"


@pytest.fixture
async def old_client(server: ServerHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client(version=VERSION) as http:
        yield http


async def test__run__context_says_dag_version_id(
    server: ServerHarness, old_client: httpx.AsyncClient
) -> None:
    response, _ = await start_attempt(server, old_client, RUN_PAYLOAD)
    assert response.status_code == 200
    assert response.headers["Baton-API-Version"] == VERSION
    assert "dag_version_id" in response.json()
    assert "version_id" not in response.json()


async def test__run__without_unix_user__422(server: ServerHarness, old_client: httpx.AsyncClient) -> None:
    payload = {k: v for k, v in RUN_PAYLOAD.items() if k != "unix_user"}
    response, _ = await start_attempt(server, old_client, payload)
    assert response.status_code == 422


async def test__previous_successful_run__absent__404(
    server: ServerHarness, old_client: httpx.AsyncClient
) -> None:
    response, token = await start_attempt(server, old_client, RUN_PAYLOAD)
    ti_id = response.json()["task_instance"]["id"]
    missing = await old_client.get(
        f"/execution/task-instances/{ti_id}/previous-successful-run",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert missing.status_code == 404


async def test__connection__extra_is_a_json_string(
    server: ServerHarness, old_client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await admin.put(
        "/api/connections/db", json={"conn_type": "postgres", "extra": {"k": "v"}, "allowed_dag_ids": None}
    )
    _, token = await start_attempt(server, old_client, RUN_PAYLOAD)
    conn = await old_client.get("/execution/connections/db", headers={"Authorization": f"Bearer {token}"})
    assert json.loads(conn.json()["extra"]) == {"k": "v"}
